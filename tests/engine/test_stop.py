"""Every stop path runs the same rollback, on a real process tree.

SIGTERM (CI cancellation, `timeout`, Kubernetes), SIGHUP (a closed terminal)
and a second signal during the cleanup: toxics gone, links enabled, the
canary weight back to what it was, no Locust or platform process left, a
partial report the gate rejects, and the shell's exit code for the signal.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
import yaml

from harness.cli import main
from harness.toxiproxy import ToxiproxyClient
from tests.engine.conftest import GAMEDAY_LOCUSTFILE, LOCUSTFILE, locust_processes, start_harness, traffic, wait_for

pytestmark = pytest.mark.slow

CANARY_LINK = "edge->ai-routing-engine@canary"
PRIMARY_LINK = "ai-routing-engine->internal-ai.primary"


def experiment(tmp_path: Path, link: str, **extra: object) -> Path:
    path = tmp_path / "fault.yaml"
    path.write_text(yaml.safe_dump({
        "title": "long fault", "description": "a signal lands while the fault is on",
        "method": [{"name": "slow link", "at": "1s", "for": "60s", "link": link, "action": "toxic",
                    "toxic": {"type": "latency", "attributes": {"latency": 40}}}],
        **extra,
    }))  # fmt: skip
    return path


def stop_mid_fault(proc: subprocess.Popen[str], toxiproxy: ToxiproxyClient, link: str, *signals: int) -> str:
    """Wait for the fault, send `signals` (0.3 s apart) to the harness alone, return its stderr."""
    try:
        assert wait_for(lambda: toxiproxy.toxics(link), 150), "the fault was never injected"
        time.sleep(1.0)
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.3)
        _, err = proc.communicate(timeout=90)
        return str(err)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def assert_rolled_back(toxiproxy: ToxiproxyClient, out: Path) -> None:
    left = toxiproxy.proxies()
    assert all(not p.toxics and p.enabled for p in left.values()), left
    assert wait_for(lambda: not locust_processes(str(out)), 15), "a Locust process outlived the run"
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert summary["complete"] is False and "interrupted by SIG" in summary["incomplete_reason"], summary
    assert main(["gate", str(out / "latest")]) == 2


@pytest.fixture(scope="module")
def attached(detached: Callable[[dict | None], Path]) -> tuple[str, dict]:
    """The shipped topology, up in a supervisor: (state file, state)."""
    state_file = detached(None)
    return str(state_file), json.loads(state_file.read_text())


def test_sigterm_to_rollout_attach_mid_fault_removes_the_toxic_restores_the_weight_and_exits_143(
    attached: tuple[str, dict], slo_dir: str, tmp_path: Path
) -> None:
    state_file, platform = attached
    toxiproxy = ToxiproxyClient(platform["toxiproxy_url"])
    out = tmp_path / "reports"
    proc = start_harness("rollout", "--attach", state_file, "--stages", "20", "--stage-duration", "60s",
                         "--warmup", "1s", "--rps", "20", "--experiment", str(experiment(tmp_path, CANARY_LINK)),
                         "--locustfile", LOCUSTFILE, "--slo-dir", slo_dir, "--out", str(out), "--no-live")
    err = stop_mid_fault(proc, toxiproxy, CANARY_LINK, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert traffic(platform)["ai-routing-engine"]["canary_percent"] == 0
    assert_rolled_back(toxiproxy, out)


def test_sigterm_to_gameday_attach_mid_fault_removes_the_toxic_restores_the_weight_and_exits_143(
    attached: tuple[str, dict], slo_dir: str, tmp_path: Path
) -> None:
    state_file, platform = attached
    toxiproxy = ToxiproxyClient(platform["toxiproxy_url"])
    out = tmp_path / "reports"
    path = experiment(tmp_path, PRIMARY_LINK, load={"duration": "70s", "rps": 10})
    proc = start_harness("gameday", str(path), "--attach", state_file, "--canary-weight", "20",
                         "--locustfile", GAMEDAY_LOCUSTFILE, "--slo-dir", slo_dir, "--out", str(out), "--no-live")
    err = stop_mid_fault(proc, toxiproxy, PRIMARY_LINK, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert traffic(platform)["ai-routing-engine"]["canary_percent"] == 0  # the 20 % it set, put back
    assert_rolled_back(toxiproxy, out)


def test_sighup_then_sigterm_during_cleanup_still_rolls_back_and_tears_the_platform_down(
    slo_dir: str, tmp_path: Path, toxiproxy_server: str
) -> None:
    out = tmp_path / "reports"
    proc = start_harness("rollout", "--stages", "20", "--stage-duration", "60s", "--warmup", "1s", "--rps", "20",
                         "--experiment", str(experiment(tmp_path, CANARY_LINK)), "--locustfile", LOCUSTFILE,
                         "--slo-dir", slo_dir, "--out", str(out), "--no-live", env={"TOXIPROXY_URL": toxiproxy_server})
    toxiproxy = ToxiproxyClient(toxiproxy_server)
    assert wait_for(lambda: toxiproxy.toxics(CANARY_LINK), 150), "the fault was never injected"
    family = psutil.Process(proc.pid).children(recursive=True)
    assert len(family) >= 7, "the platform's services and Locust should be running"
    err = stop_mid_fault(proc, toxiproxy, CANARY_LINK, signal.SIGHUP, signal.SIGTERM)
    assert proc.returncode == 129, err  # the first signal decides; the second was held, not obeyed
    assert wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family), 20)
    assert_rolled_back(toxiproxy, out)


def test_sigterm_to_an_embedded_gameday_mid_fault_exits_143_with_everything_rolled_back(
    slo_dir: str, tmp_path: Path, toxiproxy_server: str
) -> None:
    out = tmp_path / "reports"
    path = experiment(tmp_path, PRIMARY_LINK, load={"duration": "70s", "rps": 10})
    proc = start_harness("gameday", str(path), "--locustfile", GAMEDAY_LOCUSTFILE, "--slo-dir", slo_dir,
                         "--out", str(out), "--no-live", env={"TOXIPROXY_URL": toxiproxy_server})
    toxiproxy = ToxiproxyClient(toxiproxy_server)
    assert wait_for(lambda: toxiproxy.toxics(PRIMARY_LINK), 150), "the fault was never injected"
    family = psutil.Process(proc.pid).children(recursive=True)
    err = stop_mid_fault(proc, toxiproxy, PRIMARY_LINK, signal.SIGTERM)
    assert proc.returncode == 143, err
    assert wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family), 20)
    assert_rolled_back(toxiproxy, out)
