"""Services as real processes: start-up, slow-start, graceful SIGTERM drain, slow failover."""

from __future__ import annotations

import signal
import statistics
import threading
import time

import httpx
import pytest

from tests.xynergy.platform_testing import AUTH
from xynergy import SERVICES

DEFECTS = {"XYNERGY_ALLOW_DEFECTS": "1"}


@pytest.mark.slow
def test_every_service_starts_and_reports_ready(spawn) -> None:
    ai = spawn("internal-ai-service", "--region", "region-a", ready=False)
    governance = spawn("security-governance", ready=False)
    runtime = spawn("system-runtime", ready=False)
    routing = spawn("ai-routing-engine", "--upstream", f"internal-ai.primary={ai.url}", ready=False)
    edge = spawn("edge", "--upstream", f"ai-routing-engine={routing.url}",
                 "--upstream", f"security-governance={governance.url}", "--upstream", f"system-runtime={runtime.url}",
                 ready=False)
    procs = {sp.service: sp for sp in (ai, routing, governance, runtime, edge)}
    for sp in procs.values():  # readiness of the edge and the engine waits on their upstreams
        sp.wait_ready()
    assert set(procs) == set(SERVICES)
    for sp in procs.values():
        assert sp.ready_after_s is not None and sp.ready_after_s < 20
        info = httpx.get(f"{sp.url}/metrics", timeout=2).text
        assert f'xynergy_info{{region="{"region-a" if sp is ai else "local"}",revision="baseline",service="{sp.service}"}} 1.0' in info
    answer = httpx.post(f"{edge.url}/v1/route", json={"tenant": "acme", "prompt": "hi"}, headers=AUTH, timeout=5)
    assert answer.status_code == 200 and answer.headers["x-xynergy-region"] == "region-a"
    ready = httpx.get(f"{edge.url}/readyz", timeout=5).json()
    assert ready["ready"] and set(ready["upstreams"].values()) == {"ok"}
    runtime.stop()
    assert httpx.get(f"{edge.url}/readyz", timeout=5).status_code == 503


@pytest.mark.slow
def test_slow_start_defect_delays_readiness(spawn) -> None:
    slow = spawn("security-governance", "--defect", "slow-start=2s", env=DEFECTS)
    assert slow.ready_after_s is not None and slow.ready_after_s >= 2.0


@pytest.mark.slow
def test_sigterm_drains_in_flight_requests_then_exits_0(spawn) -> None:
    svc = spawn("security-governance", "--defect", "latency=1500ms", env=DEFECTS)
    results: list[int] = []

    def slow_call() -> None:
        results.append(httpx.get(f"{svc.url}/v1/policies/acme", headers=AUTH, timeout=10).status_code)

    callers = [threading.Thread(target=slow_call) for _ in range(3)]
    for t in callers:
        t.start()
    deadline = time.monotonic() + 10
    while 'xynergy_http_in_flight{revision="baseline",service="security-governance"} 3.0' not in (
        httpx.get(f"{svc.url}/metrics", timeout=2).text
    ):
        assert time.monotonic() < deadline, "the three slow calls never got in flight"
        time.sleep(0.05)
    svc.proc.send_signal(signal.SIGTERM)  # all three are in flight, held by the defect
    refused = False
    deadline = time.monotonic() + 1.0  # well inside the 1.5 s the held requests still need
    while not refused and time.monotonic() < deadline:
        try:
            httpx.get(f"{svc.url}/healthz", timeout=0.5)
            time.sleep(0.05)
        except httpx.ConnectError:
            refused = True  # draining: the listener is closed, new connections are refused
    assert refused
    for t in callers:
        t.join(timeout=10)
    assert results == [200, 200, 200]
    assert svc.proc.wait(timeout=10) == 0
    assert '"msg": "stopped"' in svc.stderr()


@pytest.mark.slow
def test_breaker_off_defect_makes_every_request_pay_the_primary_timeout(spawn) -> None:
    # The primary answers too slowly (a latency defect past the routing engine's 0.3 s timeout).
    primary = spawn("internal-ai-service", "--region", "region-a", "--defect", "latency=3s", env=DEFECTS, ready=False)
    backup = spawn("internal-ai-service", "--region", "region-b", ready=False)
    common = ["--upstream", f"internal-ai.primary={primary.url}", "--upstream", f"internal-ai.backup={backup.url}",
              "--upstream-timeout", "0.3"]
    healthy = spawn("ai-routing-engine", *common, ready=False)
    broken = spawn("ai-routing-engine", *common, "--defect", "breaker-off", env=DEFECTS, ready=False)
    for sp in (primary, backup, healthy, broken):  # started together, awaited in turn
        sp.wait_ready()

    def timings(url: str) -> list[float]:
        out = []
        with httpx.Client(timeout=10, headers=AUTH) as client:
            for i in range(10):
                start = time.monotonic()
                r = client.post(f"{url}/v1/route", json={"tenant": "acme", "prompt": f"q {url} {i}"})
                out.append(time.monotonic() - start)
                assert r.status_code == 200 and r.headers["x-xynergy-region"] == "region-b"
        return out

    with_breaker = timings(healthy.url)
    without = timings(broken.url)
    assert min(without) >= 0.28  # every request waited out the primary's 0.3 s timeout first
    assert statistics.median(with_breaker[6:]) < 0.2  # breaker open after 5 failures: straight to backup
    status = httpx.get(f"{healthy.url}/v1/route/status", headers=AUTH, timeout=5).json()
    assert status["breakers"]["primary"]["state"] == "open"


@pytest.mark.slow
def test_killing_the_primary_region_fails_over_and_its_return_brings_traffic_back(spawn) -> None:
    primary = spawn("internal-ai-service", "--region", "region-a", ready=False)
    backup = spawn("internal-ai-service", "--region", "region-b", ready=False)
    routing = spawn("ai-routing-engine", "--upstream", f"internal-ai.primary={primary.url}",
                    "--upstream", f"internal-ai.backup={backup.url}", ready=False)
    for sp in (primary, backup, routing):
        sp.wait_ready()
    n = 0

    def regions(count: int) -> list[str]:
        nonlocal n
        out = []
        with httpx.Client(timeout=10, headers=AUTH) as client:
            for _ in range(count):
                n += 1
                r = client.post(f"{routing.url}/v1/route", json={"tenant": "acme", "prompt": f"question {n}"})
                assert r.status_code == 200
                out.append(r.headers["x-xynergy-region"])
        return out

    assert regions(3) == ["region-a"] * 3
    primary.proc.kill()
    primary.proc.wait()
    assert regions(8) == ["region-b"] * 8  # every request answered, by the backup
    status = httpx.get(f"{routing.url}/v1/route/status", headers=AUTH, timeout=5).json()
    assert status["breakers"]["primary"]["state"] == "open"

    revived = spawn("internal-ai-service", "--region", "region-a", port=primary.port)
    time.sleep(1.3)  # past the first open period (1 s + 20 % jitter)
    assert regions(4) == ["region-a"] * 4  # the half-open probe succeeded: traffic is back
    assert revived.proc.poll() is None
