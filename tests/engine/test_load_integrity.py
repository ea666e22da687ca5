"""The load's own integrity verdict decides with the SLOs: lost samples never pass a stage."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import psutil
import pytest

from harness.cli import main
from tests.engine.conftest import LOCUSTFILE, start_harness, wait_for

pytestmark = pytest.mark.slow


def test_a_stage_whose_locust_worker_is_killed_mid_stage_is_inconclusive_naming_the_lost_samples(
    slo_dir: str, tmp_path: Path
) -> None:
    out = tmp_path / "reports"
    proc = start_harness("rollout", "--workers", "2", "--stages", "50", "--stage-duration", "8s", "--warmup", "1s",
                         "--rps", "40", "--locustfile", LOCUSTFILE, "--slo-dir", slo_dir, "--out", str(out),
                         "--no-live")
    try:
        def workers() -> list[psutil.Process]:
            return [p for p in psutil.Process(proc.pid).children(recursive=True)
                    if "--worker" in " ".join(p.cmdline())]

        def sampling() -> bool:
            files = list(out.glob("*/stage-50/samples.arrow"))
            return bool(files) and files[0].stat().st_size > 20_000 and len(workers()) == 2

        assert wait_for(sampling, 120), "the stage never got going"
        workers()[0].send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    [stage_report] = out.glob("*-rollout-*/stage-50/report.json")
    checks = {c["name"]: c for c in json.loads(stage_report.read_text())["checks"]}
    integrity = checks["load-integrity"]
    assert integrity["verdict"] == "inconclusive"
    assert "samples lost" in integrity["detail"] and "exited with code -9" in integrity["detail"], integrity
    summary = json.loads((out / "latest" / "summary.json").read_text())
    assert summary["verdict"] == "inconclusive" and summary["rolled_back"]
    assert main(["gate", str(out / "latest")]) == 2
