"""A realistic run built from synthetic samples judged by the real judge."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from harness._verdicts import Check, Verdict
from harness.canary import judge_samples
from harness.stats import settle_at_max_duration
from harness.report import (
    RunResult,
    StageResult,
    Window,
    latency_distributions,
    resource_series,
    sample_series,
    save_run,
)

T0 = 1_800_000_000.0


def samples(rng: np.random.Generator, start: float, seconds: int, weight: int, canary_median: float) -> pd.DataFrame:
    n = seconds * 100
    revision = np.where(rng.random(n) < weight / 100, "canary", "baseline")
    median = np.where(revision == "canary", canary_median, 40.0)
    return pd.DataFrame(
        {
            "ts": start + np.sort(rng.random(n)) * seconds,
            "name": "POST /v1/route",
            "revision": revision,
            "latency_ms": rng.lognormal(np.log(median), 0.35),
            "ok": rng.random(n) > 0.003,
        }
    )


def stage(rng, weight, start, canary_median=40.0, seconds=20, reference=None):
    frame = samples(rng, start, seconds, weight, canary_median)
    slo = Check("latency-p95", Verdict.PASS, 61.0, 250.0, "lt", "ms", len(frame), "revision=canary", "slo", "p95 of canary")
    resources = pd.DataFrame(
        {"ts": start + np.repeat(np.arange(seconds), 2), "instance": ["edge", "ai-routing-engine@canary"] * seconds,
         "rss_bytes": 80e6 + rng.random(2 * seconds) * 1e6, "cpu_percent": rng.random(2 * seconds) * 40}
    )
    s = StageResult(
        name=f"stage-{weight}", weight=weight, started_at=start, ended_at=start + seconds,
        checks=[slo, *settle_at_max_duration(judge_samples(frame, reference=reference))],
        series=sample_series(frame, start) + resource_series(resources, start),
        windows=[Window(5.0, 9.0, "latency 200ms on edge->ai-routing-engine <script>")],
        distributions=latency_distributions(frame, revisions=["baseline", "canary"]),
        cold_starts=[{"instance": "ai-routing-engine@canary", "seconds": 1.4}],
        events=[{"t": 5.0, "label": "toxic added"}],
        requests=frame["revision"].value_counts().to_dict(),
    )
    s.judge()
    return s, frame


@pytest.fixture
def make_run(tmp_path: Path) -> Callable[..., tuple[Path, RunResult]]:
    def build(canary_median: float = 40.0, complete: bool = True, name: str = "run-a") -> tuple[Path, RunResult]:
        rng = np.random.default_rng(11)
        stages = []
        start = T0
        reference = None
        for weight in (10, 50, 100):
            st, reference = stage(rng, weight, start, canary_median, reference=reference)
            stages.append(st)
            start = st.ended_at + 1
            if st.verdict is not Verdict.PASS:
                break
        run = RunResult(name="rollout", run_id=name, started_at=T0, ended_at=start, stages=stages,
                        complete=complete, incomplete_reason="" if complete else "interrupted (Ctrl-C) during stage 10",
                        config={"rps": 100, "stages": "10,50,100"}, cold_starts=[{"instance": "edge", "seconds": 0.9}])
        run.judge()
        failed = [c for s in stages for c in s.failed_checks()]
        run.rolled_back = run.verdict is Verdict.FAIL
        run.reason = f"{failed[0].name}: {failed[0].detail}" if failed else "promoted to 100 %"
        run_dir = save_run(run, tmp_path / "reports" / name)
        return run_dir, run

    return build
