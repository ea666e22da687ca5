"""`harness toxiproxy`: the embedded server as a command — clean stops and one-line errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys

import pytest

from harness.toxiproxy import ProxySpec, ToxiproxyClient
from tests.toxiproxy.conftest import free_port, port_open, start_embedded


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "toxiproxy", *args],
                          capture_output=True, text=True, timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_server_stops_cleanly_on_sigterm_and_ctrl_c_closing_its_proxies(sig, echo):
    proc, url = start_embedded()
    info = ToxiproxyClient(url).populate([ProxySpec("p", "127.0.0.1:0", echo.address)])["p"]
    assert port_open(info.listen_port)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
    assert not port_open(info.listen_port)


def test_a_port_in_use_is_one_line_and_exit_code_2():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = harness("--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "already in use" in lines[0]


def test_an_impossible_port_is_one_line_and_exit_code_2():
    result = harness("--port", "70000")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["harness: error: --port: 70000 is not a TCP port (0-65535)"]


@pytest.mark.slow
def test_a_config_file_creates_its_proxies_before_the_api_listens(tmp_path, echo):
    port = free_port()
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "from-config", "listen": f"127.0.0.1:{port}", "upstream": echo.address}]))
    proc = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", "0", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]  # type: ignore[union-attr]
        assert ToxiproxyClient(url).proxy("from-config").listen == f"127.0.0.1:{port}"
        assert port_open(port)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_bad_config_file_is_one_line_naming_the_file_and_exit_code_2(tmp_path):
    config = tmp_path / "proxies.json"
    config.write_text('[{"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}]')
    result = harness("--port", "0", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harness: error: {config}: missing required field: name at proxy 1"
    ]
