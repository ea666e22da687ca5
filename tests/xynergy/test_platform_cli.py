"""``python -m xynergy``: bad configuration is one clear line and exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from xynergy.cli import main

KEYS = {"XYNERGY_API_KEYS": "k1,k2"}


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (["teleporter"], KEYS, "unknown service 'teleporter'"),
        (["edge", "--port", "99999"], KEYS, "--port: must be 0..65535"),
        (["edge", "--port", "http"], KEYS, "argument --port: invalid int value"),
        (["edge", "--defect", "latency=abc"], {**KEYS, "XYNERGY_ALLOW_DEFECTS": "1"}, "--defect: defect 'latency=abc'"),
        (["edge", "--defect", "latency"], KEYS, "--defect refused: set XYNERGY_ALLOW_DEFECTS=1"),
        (["edge"], {"XYNERGY_API_KEYS": " , "}, "XYNERGY_API_KEYS is empty"),
        (["edge", "--upstream", "database=http://127.0.0.1:1"], KEYS, "edge has no upstream 'database'"),
        (["edge", "--upstream", "ai-routing-engine=ftp://x"], KEYS, "expected a http URL"),
        (["edge", "--upstream", "ai-routing-engine"], KEYS, "expected NAME=VALUE"),
        (["ai-routing-engine"], KEYS, "needs internal-ai.primary=URL"),
        (["ai-routing-engine", "--upstream", "internal-ai.primary=http://127.0.0.1:1", "--redis-url", "nope"],
         KEYS, "--redis-url: expected a redis URL"),
        (["edge", "--canary-weight", "ai-routing-engine=10"], KEYS, "no --upstream ai-routing-engine@canary"),
        (["edge", "--canary-weight", "ai-routing-engine=ten"], KEYS, "percent must be an integer"),
    ],
)
def test_bad_configuration_is_one_line_and_exit_2(argv, env, fragment, capsys, monkeypatch) -> None:
    monkeypatch.delenv("XYNERGY_ALLOW_DEFECTS", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as exited:
        sys.exit(main(argv))
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_real_command_exits_2_with_one_line_for_a_malformed_defect() -> None:
    env = {**os.environ, **KEYS, "XYNERGY_ALLOW_DEFECTS": "1"}
    done = subprocess.run([sys.executable, "-m", "xynergy", "edge", "--defect", "errors=200%"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "xynergy: error: --defect: defect 'errors=200%': fraction must be in (0, 1], got '200%'"]


def test_a_taken_port_is_one_line_and_exit_2(capsys, monkeypatch) -> None:
    import socket

    monkeypatch.setenv("XYNERGY_API_KEYS", "k1")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["system-runtime", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert err == f"xynergy: error: --host/--port: cannot bind 127.0.0.1:{port}: Address already in use\n"
