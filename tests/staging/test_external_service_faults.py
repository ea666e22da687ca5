"""Faults against a deployed service: a real toxiproxy-compatible server (reached through
TOXIPROXY_URL, started outside the harness) in front of a service the harness did not start.

What docs/staging.md promises: link faults (toxics, down) work and are always
removed; process actions (kill, freeze, restart) on such a service are refused
with one line, and the service is untouched.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from harness._exceptions import ConfigError
from harness.topology import Platform
from harness.topology._process import free_port

KEY = "staging-test-key"
pytestmark = pytest.mark.slow


def _wait(url: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"{proc.args} exited {proc.returncode}"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def _spawn(argv: list[str], probe: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(argv, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        _wait(probe, proc)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def staging_service() -> Iterator[str]:
    """The "deployed" service: started by the test, not by the harness."""
    port = free_port()
    yield from (f"http://127.0.0.1:{port}" for _ in _spawn(
        [sys.executable, "-m", "xynergy", "internal-ai-service", "--port", str(port)],
        f"http://127.0.0.1:{port}/healthz", {"XYNERGY_API_KEYS": KEY}))


@pytest.fixture(scope="module")
def toxiproxy_url() -> Iterator[str]:
    """A toxiproxy-compatible server of its own (the harness's embedded one as a separate process)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    yield from (url for _ in _spawn([sys.executable, "-m", "harness", "toxiproxy", "--port", str(port)],
                                    f"{url}/version"))


def _median_ms(url: str, n: int = 15) -> float:
    times = []
    with httpx.Client(base_url=url, headers={"x-api-key": KEY}, timeout=5) as client:
        for _ in range(n):
            start = time.perf_counter()
            client.get("/v1/models").raise_for_status()
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def test_link_faults_work_and_are_removed_process_actions_are_refused(
    staging_service: str, toxiproxy_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    topology = tmp_path / "staging.yaml"
    topology.write_text(f"name: staging\nentry: ai\nredis: off\nservices:\n  ai:\n    url: {staging_service}\n")
    monkeypatch.setenv("TOXIPROXY_URL", toxiproxy_url)
    monkeypatch.setenv("XYNERGY_API_KEY", KEY)
    with Platform.up(topology, run_dir=tmp_path / "run") as platform:
        assert platform.toxiproxy_url == toxiproxy_url  # the given server, nothing embedded
        through = platform.edge_url  # client->ai on that server
        before = _median_ms(through)
        platform.toxiproxy.add_toxic("client->ai", "staging-latency", "latency", attributes={"latency": 60})
        slowed = _median_ms(through)
        platform.toxiproxy.remove_toxic("client->ai", "staging-latency")
        assert slowed - before >= 40, (before, slowed)  # the planted 60 ms, with a margin
        for action in (platform.kill, platform.freeze):
            with pytest.raises(ConfigError) as err:
                action("ai")
            assert "external instances cannot be touched" in str(err.value) and "\n" not in str(err.value)
        with pytest.raises(ConfigError, match="external instances cannot be touched"):
            platform.restart("ai")
    # the service is untouched and nothing is left on the server
    assert httpx.get(f"{staging_service}/healthz", timeout=2).status_code == 200
    proxies = httpx.get(f"{toxiproxy_url}/proxies", timeout=2).json()
    assert all(not proxy["toxics"] for proxy in proxies.values()), proxies
