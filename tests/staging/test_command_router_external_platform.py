"""The command router on a platform the harness did not start: real traffic moves, and comes back.

The test starts a small xynergy deployment itself (edge, governance, one AI
region, a baseline and a canary routing engine); the router's only handle on
it is a command, run per weight, that calls the edge's `/admin/traffic`, as a
`gcloud`/`kubectl` line would on a real platform. Each response's
`x-xynergy-revision` says which revision served it.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness.routers.command import CommandRouter
from harness.topology._process import free_port

KEY = "external-platform-key"
pytestmark = pytest.mark.slow

# the stand-in for a platform CLI: `tool.py EDGE set SERVICE PERCENT` / `tool.py EDGE get SERVICE`
TOOL = """
import os, sys, httpx
edge, verb, service = sys.argv[1:4]
headers = {"x-api-key": os.environ["PLATFORM_KEY"]}
if verb == "set":
    r = httpx.put(edge + "/admin/traffic", json={"service": service, "canary_percent": int(sys.argv[4])},
                  headers=headers, timeout=5)
else:
    r = httpx.get(edge + "/admin/traffic", headers=headers, timeout=5)
r.raise_for_status()
print(r.json()[service]["canary_percent"])
"""


def _start(argv: list[str], port: int, procs: list[subprocess.Popen[bytes]]) -> str:
    env = {**os.environ, "XYNERGY_API_KEYS": KEY}
    proc = subprocess.Popen([sys.executable, "-m", "xynergy", *argv, "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    procs.append(proc)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{argv[0]} exited {proc.returncode}"
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return url
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{argv[0]} never became ready")


@pytest.fixture(scope="module")
def edge() -> Iterator[str]:
    procs: list[subprocess.Popen[bytes]] = []
    try:
        ai = _start(["internal-ai-service", "--region", "us-central1"], free_port(), procs)
        gov = _start(["security-governance"], free_port(), procs)
        base = _start(["ai-routing-engine", "--revision", "baseline", "--upstream", f"internal-ai.primary={ai}"],
                      free_port(), procs)
        canary = _start(["ai-routing-engine", "--revision", "canary", "--upstream", f"internal-ai.primary={ai}"],
                        free_port(), procs)
        yield _start(["edge", "--upstream", f"ai-routing-engine={base}", "--upstream",
                      f"ai-routing-engine@canary={canary}", "--upstream", f"security-governance={gov}"],
                     free_port(), procs)
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _served_by(edge: str, n: int) -> Counter[str]:
    seen: Counter[str] = Counter()
    with httpx.Client(base_url=edge, headers={"x-api-key": KEY}, timeout=10) as client:
        for i in range(n):
            response = client.post("/v1/route", json={"tenant": "t1", "prompt": f"hello {i}"})
            assert response.status_code == 200, response.text
            seen[response.headers.get("x-xynergy-revision", "")] += 1
    return seen


def test_the_command_router_shifts_real_traffic_and_restores_the_split_it_found(
    edge: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tool = tmp_path / "platform-cli.py"
    tool.write_text(TOOL)
    monkeypatch.setenv("PLATFORM_KEY", KEY)
    prefix = f"{shlex.quote(sys.executable)} {shlex.quote(str(tool))} {edge}"
    router = CommandRouter(f"{prefix} set {{service}} {{percent}}", current_template=f"{prefix} get {{service}}",
                           service="ai-routing-engine")
    # someone left 5 % on the canary before the rollout: that is what must come back
    subprocess.run([sys.executable, str(tool), edge, "set", "ai-routing-engine", "5"], check=True,
                   capture_output=True)
    assert router.current().canary_percent == 5
    try:
        assert router.set_canary_percent(50).canary_percent == 50
        served = _served_by(edge, 200)
        # 50 % of 200: the chance of falling outside 60..140 is below 1e-8
        assert set(served) == {"baseline", "canary"} and 60 <= served["canary"] <= 140, served
        router.set_canary_percent(0)
        assert _served_by(edge, 50) == Counter({"baseline": 50})
    finally:
        router.restore()
    assert router.current().canary_percent == 5
