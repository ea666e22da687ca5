"""The real platform behind the real Toxiproxy: wiring, measurements and process actions."""

from __future__ import annotations

import os
import shutil
import socket
import sys
import time
import uuid

import httpx
import psutil
import pytest

from harness._exceptions import PortInUse, ServiceStartError
from harness.topology import Platform, parse_topology
from harness.topology._coldstart import wait_until
from harness.topology._process import check_port_free, pid_alive

pytestmark = pytest.mark.slow


def route(platform: Platform, base: str | None = None, prompt: str | None = None) -> httpx.Response:
    body = {"tenant": "t1", "prompt": prompt or f"hello {uuid.uuid4().hex}"}
    return httpx.post(f"{base or platform.edge_url}/v1/route", json=body,
                      headers={"X-API-Key": platform.api_key}, timeout=10)


def test_a_request_crosses_the_whole_platform_through_the_client_proxy(platform: Platform) -> None:
    assert platform.edge_url == f"http://{platform.links()['client->edge']}"
    resp = route(platform)
    assert resp.status_code == 200, resp.text
    assert resp.headers["x-xynergy-revision"] == "baseline"
    assert resp.headers["x-xynergy-region"] == "us-central1"


def test_requests_without_the_runs_api_key_are_refused(platform: Platform) -> None:
    resp = httpx.post(f"{platform.edge_url}/v1/route", json={"tenant": "t", "prompt": "x"},
                      headers={"X-API-Key": "not-the-key"}, timeout=10)
    assert resp.status_code in (401, 403)


def test_every_contract_link_is_a_proxy_and_every_instance_runs(platform, contract_instances, contract_links) -> None:
    proxies = set(platform.toxiproxy.proxies())
    expected = contract_links if platform.redis_mode == "spawned" else contract_links - {"ai-routing-engine->redis"}
    assert expected <= proxies
    running = {n for n, i in platform.instances.items() if i.state == "running"}
    assert contract_instances <= running


def test_a_disabled_link_really_cuts_the_edge_off_its_upstream(platform: Platform) -> None:
    with platform.toxiproxy.down("edge->ai-routing-engine"):
        assert route(platform).status_code >= 500
    assert route(platform).status_code == 200


def test_a_latency_toxic_on_an_inner_link_slows_an_uncached_request(platform: Platform) -> None:
    platform.toxiproxy.add_toxic("ai-routing-engine->internal-ai.primary", "slow", "latency",
                                 attributes={"latency": 200})
    try:
        t0 = time.monotonic()
        resp = route(platform)  # a fresh prompt: a cache miss, so it must cross the slowed link
        slowed = time.monotonic() - t0
    finally:
        platform.toxiproxy.remove_toxic("ai-routing-engine->internal-ai.primary", "slow")
    assert resp.status_code == 200 and resp.headers["x-xynergy-cache"] == "miss"
    assert slowed >= 0.19


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_redis_is_spawned_and_shared_by_baseline_and_canary(platform: Platform) -> None:
    assert platform.redis_mode == "spawned"
    prompt = f"shared {uuid.uuid4().hex}"
    first = route(platform, platform.url("ai-routing-engine"), prompt)
    again = route(platform, platform.url("ai-routing-engine@canary"), prompt)
    assert first.headers["x-xynergy-cache"] == "miss"
    assert again.headers["x-xynergy-cache"] == "hit"  # an in-process cache could not know it


def test_every_spawned_instance_has_a_cold_start(platform: Platform, contract_instances) -> None:
    measured = {c.instance: c for c in platform.cold_starts}
    assert contract_instances <= set(measured)
    for name in contract_instances:
        cs = measured[name]
        assert 0 < cs.ready_s < 30
        assert cs.first_ok_s is not None and cs.first_ok_s >= cs.ready_s


def test_rss_and_cpu_of_every_process_are_sampled(platform: Platform, contract_instances) -> None:
    time.sleep(0.6)
    frame = platform.resource_samples()
    assert contract_instances <= set(frame["instance"])
    assert (frame.loc[frame["instance"].isin(contract_instances), "rss_bytes"] > 10 * 2**20).all()  # (redis is ~5 MiB)
    assert frame.groupby("instance")["ts"].count().min() >= 2
    assert all(not g.over_budget for g in platform.memory_growth(warmup_s=0))


def test_the_canary_weight_moves_traffic_to_the_canary_and_back(platform: Platform) -> None:
    platform.set_canary_weight(100)
    try:
        assert route(platform).headers["x-xynergy-revision"] == "canary"
    finally:
        platform.set_canary_weight(0)
    assert route(platform).headers["x-xynergy-revision"] == "baseline"


def test_restart_measures_a_new_cold_start_and_journals_it(platform: Platform) -> None:
    old_pid = platform.instances["internal-ai.backup"].pid
    cs = platform.restart("internal-ai.backup")
    assert cs.pid != old_pid and not pid_alive(old_pid)  # type: ignore[arg-type]
    assert platform.cold_starts[-1] == cs and cs.first_ok_s is not None
    actions = [(e.action, e.instance) for e in platform.events[-2:]]
    assert actions == [("stop", "internal-ai.backup"), ("start", "internal-ai.backup")]


def test_kill_is_a_crash_and_restart_brings_the_service_back(platform: Platform) -> None:
    pid = platform.instances["internal-ai.backup"].pid
    event = platform.kill("internal-ai.backup")
    assert event.action == "kill" and event.pid == pid and not pid_alive(pid)  # type: ignore[arg-type]
    assert platform.instances["internal-ai.backup"].state == "killed"
    platform.restart("internal-ai.backup")
    assert httpx.get(platform.url("internal-ai.backup") + "/readyz", timeout=5).status_code == 200


def test_a_frozen_service_stops_answering_until_thawed(platform: Platform) -> None:
    url = platform.url("system-runtime") + "/readyz"
    platform.freeze("system-runtime")
    try:
        assert psutil.Process(platform.instances["system-runtime"].pid).status() == psutil.STATUS_STOPPED
        with pytest.raises(httpx.TimeoutException):
            httpx.get(url, timeout=0.5)
    finally:
        platform.thaw("system-runtime")
    assert httpx.get(url, timeout=5).status_code == 200


def test_teardown_stops_every_process_and_frees_every_port(write_topology, tmp_path, one_service) -> None:
    with Platform.up(write_topology(one_service), run_dir=tmp_path) as p:
        pids = [i.pid for i in p.instances.values() if i.pid]
        ports = [int(a.rsplit(":", 1)[1]) for a in p.links().values()]
        ports.append(int(p.url("internal-ai.primary").rsplit(":", 1)[1]))
        assert len(pids) >= 1
    assert not any(pid_alive(pid) for pid in pids)
    for port in ports:  # a new server could listen there (TIME_WAIT remnants allowed, as for any server)
        check_port_free(port, "test")


def test_a_canary_defect_reaches_the_canary_and_no_other_process(write_topology, tmp_path, one_service) -> None:
    data = one_service
    data["services"] = {"internal-ai.primary": {"service": "internal-ai-service", "canary": {}}}
    with Platform.up(write_topology(data), canary_defect="errors=0.5", run_dir=tmp_path) as p:
        canary = psutil.Process(p.instances["internal-ai.primary@canary"].pid)
        baseline = psutil.Process(p.instances["internal-ai.primary"].pid)
        assert canary.environ().get("XYNERGY_ALLOW_DEFECTS") == "1"
        assert "XYNERGY_ALLOW_DEFECTS" not in baseline.environ()
        body = {"model": "xyn-small-v1", "prompt": "x"}
        codes = {
            rev: [httpx.post(p.url(name) + "/v1/infer", json=body, headers={"X-API-Key": p.api_key}).status_code
                  for _ in range(20)]
            for rev, name in (("canary", "internal-ai.primary@canary"), ("baseline", "internal-ai.primary"))
        }
    assert 500 in codes["canary"] and set(codes["baseline"]) == {200}


def test_a_service_that_dies_during_start_up_reports_its_last_log_lines(write_topology, tmp_path, one_service) -> None:
    data = one_service
    data["services"] = {"internal-ai.primary": {"service": "internal-ai-service", "args": ["--max-concurrency", "-3"]}}
    with pytest.raises(ServiceStartError) as info:
        with Platform.up(write_topology(data), run_dir=tmp_path):
            pass
    message = str(info.value)
    assert "internal-ai.primary exited with code 2 during start-up" in message
    assert "xynergy: error: max concurrency must be >= 1" in message  # the service's own error line


def test_one_service_failing_stops_the_wait_for_the_rest_of_its_wave(write_topology, tmp_path, one_service) -> None:
    one_service["services"]["internal-ai.primary"]["canary"] = {}
    one_service["services"]["system-runtime"] = {"service": "system-runtime", "args": ["--request-timeout", "-1"]}
    t0 = time.monotonic()
    with pytest.raises(ServiceStartError, match="system-runtime exited with code 2"):
        with Platform.up(write_topology(one_service), canary_defect="slow-start=30s", run_dir=tmp_path, grace=1):
            pass
    assert time.monotonic() - t0 < 20  # not the slow canary's 30 s


def test_a_port_in_use_names_the_port_and_the_service(tmp_path, one_service) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        data = one_service
        data["services"] = {"internal-ai.primary": {"service": "internal-ai-service", "port": port}}
        with pytest.raises(PortInUse, match=f"port {port} \\(for service internal-ai.primary\\) is already in use"):
            with Platform.up(parse_topology(data), run_dir=tmp_path):
                pass


def test_an_external_service_is_reached_through_its_proxy_but_never_spawned(tmp_path, one_service) -> None:
    from harness.topology._process import Spawner, free_port

    port = free_port()
    spawner = Spawner(tmp_path / "external")
    env = {**os.environ, "XYNERGY_API_KEYS": "staging-key"}
    svc = spawner.spawn("staging", [sys.executable, "-m", "xynergy", "internal-ai-service", "--port", str(port)], env=env)
    try:
        one_service["services"]["internal-ai.primary"] = {"url": f"http://127.0.0.1:{port}"}
        ready = wait_until(lambda: svc.alive() and _ok(f"http://127.0.0.1:{port}/readyz"), timeout=30)
        assert ready is not None, svc.last_lines()
        with Platform.up(parse_topology(one_service), run_dir=tmp_path, api_key="staging-key") as p:
            inst = p.instances["internal-ai.primary"]
            assert inst.state == "external" and inst.pid is None and inst.cold_start is None
            assert all(c.instance != "internal-ai.primary" for c in p.cold_starts)
            resp = httpx.post(f"{p.edge_url}/v1/infer", json={"model": "xyn-small-v1", "prompt": "x"},
                              headers={"X-API-Key": p.api_key}, timeout=10)
            assert resp.status_code == 200
        assert svc.alive()  # teardown leaves what it did not start
    finally:
        svc.stop(grace=5)
        spawner.close()


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False
