"""Fixtures for the engine's end-to-end tests: real `harness` processes, real platforms, real Locust."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = str(ROOT / "tests" / "canary" / "route_locustfile.py")
GAMEDAY_LOCUSTFILE = str(ROOT / "tests" / "chaos" / "gameday_locustfile.py")


def harness(*args: str, cwd: Path = ROOT, timeout: float = 180, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run the real CLI as its own process."""
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def start_harness(*args: str, cwd: Path = ROOT, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """Start the real CLI in its own session (so a signal reaches only what the test aims at)."""
    return subprocess.Popen([sys.executable, "-m", "harness", *args], cwd=cwd, text=True, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})


@pytest.fixture
def toxiproxy_server() -> Iterator[str]:
    """An embedded Toxiproxy of the test's own (`TOXIPROXY_URL`), so it outlives the run it watches."""
    from harness.topology._process import free_port
    from harness.toxiproxy import ToxiproxyClient

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    try:
        assert wait_for(ToxiproxyClient(url).ping, 20), "embedded toxiproxy did not start"
        yield url
    finally:
        server.terminate()
        server.wait(10)


def wait_for(predicate: Callable[[], object], timeout: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return True
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(interval)
    return False


def locust_processes(marker: str) -> list[psutil.Process]:
    """Live Locust processes whose command line names `marker` (the test's locustfile or out dir)."""
    out = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if "locust" in cmd and marker in cmd and proc.info["status"] != psutil.STATUS_ZOMBIE:
            out.append(proc)
    return out


def traffic(state: dict) -> dict:
    """The edge's split as it is now (read straight from `/admin/traffic`)."""
    route = state["canary"]
    url = state["instances"][route["router"]]["url"]
    return httpx.get(f"{url}/admin/traffic", headers={"X-API-Key": state["api_key"]}, timeout=5).json()


@pytest.fixture(scope="module")
def slo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shipped SLOs, cold start relaxed (a busy machine starts services slowly)."""
    out = tmp_path_factory.mktemp("slos")
    for file in (ROOT / "slos").glob("*.yaml"):
        doc = yaml.safe_load(file.read_text())
        if doc["metadata"]["name"] == "cold-start":
            doc["spec"]["objectives"][0]["value"] = 20
        (out / file.name).write_text(yaml.safe_dump(doc))
    return str(out)


@pytest.fixture(scope="module")
def detached(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[dict | None], Path]]:
    """`harness up --detach` of a topology (default: the shipped one); every platform is taken down after."""
    states: list[Path] = []

    def up(topology: dict | None = None) -> Path:
        where = tmp_path_factory.mktemp("platform")
        state = where / "state.json"
        args = ["up", "--detach", "--state", str(state)]
        if topology is not None:
            (where / "topology.yaml").write_text(yaml.safe_dump(topology))
            args += ["--topology", str(where / "topology.yaml")]
        result = harness(*args, cwd=where)
        assert result.returncode == 0, result.stderr
        states.append(state)
        return state

    yield up
    for state in states:
        harness("down", "--state", str(state))
