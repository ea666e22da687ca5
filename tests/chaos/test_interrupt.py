"""Ctrl-C in the middle of a fault: faults rolled back, processes stopped, partial report written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import yaml

from harness.toxiproxy import ToxiproxyClient

ROOT = Path(__file__).parents[2]
LINK = "ai-routing-engine->internal-ai.primary"


def wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():  # type: ignore[operator]
                return True
        except Exception:
            pass
        time.sleep(0.2)
    return False


@pytest.mark.slow
def test_ctrl_c_mid_fault_removes_the_toxic_stops_every_process_and_writes_an_incomplete_report(
    tmp_path: Path, toxiproxy: str
) -> None:
    experiment = tmp_path / "outage.yaml"
    experiment.write_text(yaml.safe_dump({
        "title": "interrupted outage", "description": "Ctrl-C lands while the primary is blackholed",
        "method": [{"name": "primary blackholed", "at": "2s", "for": "40s", "link": LINK, "action": "toxic",
                    "toxic": {"type": "timeout", "attributes": {"timeout": 0}}, "judge": ["failover"]}],
        "load": {"duration": "45s", "rps": 10},
    }))  # fmt: skip
    out = tmp_path / "reports"
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "gameday", str(experiment), "--out", str(out),
         "--scenario", str(Path(__file__).with_name("gameday_locustfile.py")), "--slo-dir", str(ROOT / "slos")],
        env={**os.environ, "TOXIPROXY_URL": toxiproxy}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = ToxiproxyClient(toxiproxy)
    try:
        assert wait_for(lambda: client.toxics(LINK), 90), "the fault was never injected"
        time.sleep(1.0)  # well inside the fault window
        family = psutil.Process(harness.pid).children(recursive=True)
        assert len(family) >= 7, "the platform's services and Locust should be running"
        os.killpg(harness.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        _, err = harness.communicate(timeout=60)
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
            harness.wait()
    assert harness.returncode == 130, err
    assert "interrupted; rollbacks ran" in err
    left = client.proxies()  # the platform deletes the proxies it created at teardown; any left must be clean
    assert all(not proxy.toxics and proxy.enabled for proxy in left.values()), left
    assert wait_for(lambda: not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family), 10)
    [run_dir] = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["complete"] is False and "interrupted" in report["incomplete_reason"]
    assert [(e["outcome"], e["undo_error"]) for e in report["journal"]] == [("rolled-back", "")]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["exit_code"] == 2 and summary["verdict"] != "pass"
    assert (run_dir / "index.html").is_file() and "Incomplete" in (run_dir / "index.html").read_text()
