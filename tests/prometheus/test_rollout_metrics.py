"""A real rollout serves its own /metrics: a scrape during the run sees the stage, the weight and a fault."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.slow

EXPERIMENT = """
title: a short latency fault
description: the primary region slows down for a few seconds
steady-state-hypothesis: {title: errors within their SLO, slos: [error-ratio], duration: 2s, after: 2s}
method:
  - name: slow primary
    at: 3s
    for: 8s
    link: ai-routing-engine->internal-ai.primary
    action: toxic
    toxic: {type: latency, attributes: {latency: 5}}
load: {duration: 16s, rps: 20}
"""


def _values(url: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for fam in text_string_to_metric_families(httpx.get(url, timeout=2).text):
        for s in fam.samples:
            out.setdefault(s.name, []).append((s.labels, s.value))
    return out


def test_a_scrape_during_a_rollout_sees_stage_weight_and_fault(tmp_path: Path) -> None:
    experiment = tmp_path / "short-latency.yaml"
    experiment.write_text(EXPERIMENT)
    harness = str(Path(sys.executable).with_name("harness"))
    proc = subprocess.Popen(
        [harness, "rollout", "--stages", "10", "--stage-duration", "16s", "--warmup", "2s", "--rps", "30",
         "--no-live", "--metrics-port", "0", "--experiment", str(experiment), "--out", str(tmp_path / "reports")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        url = ""
        for line in proc.stderr:
            if line.startswith("metrics: "):
                url = line.split(" ", 1)[1].strip()
                break
        assert url.startswith("http://127.0.0.1:"), "the rollout never said where its metrics are"
        seen = {"stage": False, "weight": False, "fault": False, "samples": False}
        deadline = time.monotonic() + 150
        while not all(seen.values()) and proc.poll() is None and time.monotonic() < deadline:
            try:
                got = _values(url)
            except httpx.HTTPError:
                break  # the run ended and took its server with it
            seen["stage"] |= any(v == 10 for _, v in got.get("xynergy_harness_stage_weight_percent", []))
            seen["weight"] |= any(v == 10 for _, v in got.get("xynergy_harness_canary_weight_percent", []))
            seen["fault"] |= any(v == 1 and labels.get("target") == "ai-routing-engine->internal-ai.primary"
                                 for labels, v in got.get("xynergy_harness_fault_active", []))
            seen["samples"] |= any(v > 0 for _, v in got.get("xynergy_harness_requests_total", []))
            time.sleep(0.5)
        assert all(seen.values()), seen
    finally:
        proc.terminate()
        proc.wait(timeout=60)
