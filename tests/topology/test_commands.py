"""`harness up / status / down / coldstart` as a user runs them: real subprocesses, real signals."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness._exceptions import ConfigError
from harness.topology import Platform, read_state
from harness.topology._coldstart import wait_until
from harness.topology._process import pid_alive

pytestmark = pytest.mark.slow


def harness(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def start_up(cwd: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness", "up", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_state(state: Path, proc: subprocess.Popen[str], timeout: float = 90) -> dict:
    ok = wait_until(lambda: state.exists() or proc.poll() is not None, timeout=timeout, interval=0.05)
    assert ok is not None and proc.poll() is None, proc.stderr.read() if proc.stderr else ""
    return read_state(state)


def child_pids(state: dict) -> list[tuple[int, float]]:
    return [(i["pid"], i["create_time"]) for i in state["instances"].values() if i.get("pid")]


def all_gone(pids: list[tuple[int, float]], within: float) -> bool:
    return wait_until(lambda: not any(pid_alive(p, ct) for p, ct in pids), timeout=within) is not None


def test_sigkilling_harness_up_leaves_no_child_behind(tmp_path: Path, write_topology, one_service) -> None:
    proc = start_up(tmp_path, "--topology", str(write_topology(one_service)))
    try:
        state = wait_for_state(tmp_path / ".harness/state.json", proc)
        pids = child_pids(state)
        assert len(pids) == (1 if os.environ.get("TOXIPROXY_URL") else 2)  # the service (+ embedded Toxiproxy)
        proc.kill()
        proc.wait(timeout=5)
        assert all_gone(pids, within=5)
    finally:
        proc.kill()
        proc.communicate()


def test_sigterm_tears_harness_up_down_and_exits_cleanly(tmp_path: Path, write_topology, one_service) -> None:
    proc = start_up(tmp_path, "--topology", str(write_topology(one_service)))
    try:
        state_file = tmp_path / ".harness/state.json"
        pids = child_pids(wait_for_state(state_file, proc))
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "internal-ai.primary" in out and "stopped" in out
    assert all_gone(pids, within=2)
    assert not state_file.exists()


def test_detach_then_status_attach_and_down(tmp_path: Path, write_topology, one_service) -> None:
    topo = str(write_topology(one_service))
    up = harness("up", "--detach", "--topology", topo, cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    state_file = tmp_path / ".harness/state.json"
    state = read_state(state_file)
    try:
        assert "detached" in up.stdout and str(state["supervisor"]["pid"]) in up.stdout
        assert harness("up", "--topology", topo, cwd=tmp_path).returncode == 2  # one platform per state file
        status = harness("status", cwd=tmp_path)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "ready" in status.stdout
        with Platform.attach(state_file) as attached:
            assert set(attached.links()) == {"client->internal-ai.primary"}
            attached.toxiproxy.add_toxic("client->internal-ai.primary", "slow", "latency", attributes={"latency": 50})
            assert attached.toxiproxy.pending_rollback[0]  # removed again when the attachment closes
            with pytest.raises(ConfigError, match="no spawned instance 'ghost'"):
                attached.kill("ghost")
            old = attached.instances["internal-ai.primary"].pid
            cold = attached.restart("internal-ai.primary")
            assert cold.pid != old and cold.ready_s > 0
            resp = httpx.post(attached.edge_url + "/v1/infer", json={"model": "xyn-small-v1", "prompt": "x"},
                              headers={"X-API-Key": attached.api_key}, timeout=10)
            assert resp.status_code == 200
        state = read_state(state_file)  # the supervisor rewrote it with the new pid
        assert state["instances"]["internal-ai.primary"]["pid"] == cold.pid
        from harness.toxiproxy import ToxiproxyClient

        assert ToxiproxyClient(state["toxiproxy_url"]).toxics("client->internal-ai.primary") == []
    finally:
        down = harness("down", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert all_gone(child_pids(state) + [(state["supervisor"]["pid"], state["supervisor"]["create_time"])], 5)
    assert not state_file.exists()
    assert harness("status", cwd=tmp_path).returncode == 2


def test_an_invalid_topology_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("services:\n  edge: {service: edge, port: 0}\n")
    result = harness("up", "--topology", str(bad), cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip() == f"harness: error: {bad}: services.edge.port: must be a port 1-65535 or 'auto', got 0"


def test_a_bad_canary_defect_is_rejected_before_anything_starts(tmp_path: Path) -> None:
    result = harness("up", "--canary-defect", "latency=soon", cwd=tmp_path, timeout=30)
    assert result.returncode == 2
    assert result.stderr.startswith("harness: error: --canary-defect: invalid defect profile 'latency=soon'")
    assert len(result.stderr.strip().splitlines()) == 1


def test_detach_reports_a_service_that_dies_during_start_up(tmp_path: Path, write_topology, one_service) -> None:
    one_service["services"]["internal-ai.primary"]["args"] = ["--request-timeout", "-1"]
    result = harness("up", "--detach", "--topology", str(write_topology(one_service)), cwd=tmp_path)
    assert result.returncode == 2
    assert "internal-ai.primary exited with code 2 during start-up" in result.stderr
    assert "xynergy: error:" in result.stderr


def test_coldstart_reports_min_median_max_and_judges_the_slo(tmp_path: Path, write_topology, one_service) -> None:
    slo = Path(__file__).resolve().parents[2] / "slos/cold-start.yaml"
    out = tmp_path / "cold.json"
    result = harness("coldstart", "--repeat", "2", "--topology", str(write_topology(one_service)),
                     "--slo", str(slo), "--json", str(out), cwd=tmp_path)
    data = json.loads(out.read_text())
    assert [s["instance"] for s in data["starts"]] == ["internal-ai.primary"] * 2
    (summary,) = data["summaries"]
    assert summary["ready_min_s"] <= summary["ready_median_s"] <= summary["ready_max_s"]
    (check,) = data["checks"]
    assert check["value"] == summary["ready_max_s"] and check["objective"] == 2
    assert result.returncode == {"pass": 0, "fail": 1}[check["verdict"]]
    assert "internal-ai.primary" in result.stdout and data["idle_rss_mib"]["internal-ai.primary"] > 10


def test_status_and_down_without_a_platform(tmp_path: Path) -> None:
    status = harness("status", cwd=tmp_path, timeout=30)
    assert status.returncode == 2 and "no platform is up" in status.stderr
    down = harness("down", cwd=tmp_path, timeout=30)
    assert down.returncode == 0 and "nothing is up" in down.stdout




def test_an_idle_connection_to_the_control_server_does_not_stall_harness_down(
    tmp_path: Path, write_topology, one_service
) -> None:
    import socket
    from urllib.parse import urlsplit

    up = harness("up", "--detach", "--topology", str(write_topology(one_service)), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    state = read_state(tmp_path / ".harness" / "state.json")
    control = urlsplit(state["control_url"])
    with socket.create_connection((control.hostname, control.port)) as idle:  # connects, never sends a byte
        idle.settimeout(1)
        down = harness("down", cwd=tmp_path)
    assert down.returncode == 0, down.stderr
    assert "stopped the platform" in down.stdout and "SIGKILL" not in down.stdout, down.stdout


def test_status_exits_2_when_the_supervisor_is_dead(tmp_path: Path, write_topology, one_service) -> None:
    up = harness("up", "--detach", "--topology", str(write_topology(one_service)), cwd=tmp_path)
    assert up.returncode == 0, up.stderr
    state = read_state(tmp_path / ".harness" / "state.json")
    try:
        psutil.Process(state["supervisor"]["pid"]).kill()
        assert all_gone([(state["supervisor"]["pid"], state["supervisor"]["create_time"])], 10)
        status = harness("status", cwd=tmp_path, timeout=30)
        assert status.returncode == 2 and "DEAD" in status.stdout, status.stdout + status.stderr
    finally:
        harness("down", cwd=tmp_path)


def test_ctrl_c_during_start_up_tears_down_at_once(tmp_path: Path, write_topology, one_service) -> None:
    one_service["services"]["internal-ai.primary"]["canary"] = {}
    proc = start_up(tmp_path, "--topology", str(write_topology(one_service)), "--canary-defect", "slow-start=30s")
    try:
        parent = psutil.Process(proc.pid)
        # wait until both revisions are spawned (the canary then sleeps 30 s before it listens)
        spawned = wait_until(lambda: sum("xynergy" in " ".join(c.cmdline()) for c in _children(parent)) >= 2,
                             timeout=60)
        assert spawned is not None
        kids = [(c.pid, c.create_time()) for c in _children(parent)]
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 15  # not the 30 s readiness timeout
    assert all_gone(kids, within=2)
    assert not (tmp_path / ".harness/state.json").exists()


def _children(parent: psutil.Process) -> list[psutil.Process]:
    try:
        return parent.children(recursive=True)
    except psutil.Error:
        return []
