"""The CO-corrected p95 beside the service-time p95, and `slos/latency-co.yaml` judged on open-model runs only.

Real Locust (a subprocess, the harness plugin) against the in-process timed
server: one user asked for 20 req/s from a server that takes 80 ms can send
about 12, so every request after the first few starts late. Service time
stays ~80 ms; counted from when each request was due, latency grows with
the backlog. That is coordinated omission, and the verdict table shows both.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from harness.load._verdict import CO_KEY
from tests.load.conftest import TimedServer

SLOS = Path(__file__).resolve().parents[2] / "slos"


def _locust(paced_locustfile: Path, server: TimedServer, tmp_path: Path, *rate: str) -> tuple[dict[str, Any], str]:
    args = [sys.executable, "-m", "locust", "-f", str(paced_locustfile), "--headless", "-u", "1", "-r", "1",
            "-t", "4s", "--host", server.url, *rate, "--samples-file", str(tmp_path / "s.arrow"),
            "--slo-dir", str(SLOS), "--min-samples", "5"]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    done = subprocess.run(args, cwd=tmp_path, env={**env, "COLUMNS": "200"}, capture_output=True, text=True,
                          timeout=90)  # fmt: skip
    return json.loads((tmp_path / "s.verdict.json").read_text()), done.stdout


@pytest.mark.slow
def test_an_open_model_run_shows_and_judges_the_co_corrected_p95(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    timed_server.delay = lambda n: 0.08
    verdict, stdout = _locust(paced_locustfile, timed_server, tmp_path, "--rps", "20")
    checks = {c["name"]: c for c in verdict["checks"]}
    service = checks["latency-p95"]
    assert verdict["load_model"] == "open" and verdict["not_applicable"] == []
    assert 80 <= service["value"] < 400, service  # the server's own time
    assert service["extra"][CO_KEY] > 2 * service["value"], service  # the backlog the user never sent on time
    corrected = checks["latency-p95-co"]  # the shipped SLO judges the same figure
    assert corrected["value"] == pytest.approx(service["extra"][CO_KEY])
    assert corrected["verdict"] in ("fail", "inconclusive") and corrected["scope"] == service["scope"]
    assert "CO-corrected" in stdout and "open model" in stdout


@pytest.mark.slow
def test_a_closed_model_run_states_the_co_slo_not_applicable(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    verdict, stdout = _locust(paced_locustfile, timed_server, tmp_path)  # no --rps
    checks = {c["name"]: c for c in verdict["checks"]}
    assert verdict["load_model"] == "closed" and "latency-p95-co" not in checks
    [line] = verdict["not_applicable"]
    assert line.startswith("latency-p95-co: not applicable: closed-model run (no --rps)")
    assert checks["latency-p95"]["extra"][CO_KEY] is None
    assert "n/a (closed model)" in stdout and "latency-p95-co: not applicable" in stdout
