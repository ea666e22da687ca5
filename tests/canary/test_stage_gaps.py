"""No silent gaps: every expected check of a stage is produced, INCONCLUSIVE with the reason when its input is missing."""

from __future__ import annotations

import numpy as np

from harness._verdicts import Verdict
from harness.canary._stage import judge_stage
from harness.samples import empty_samples
from tests.canary.test_stage import PRICES, SLOS, _inputs, _samples


def test_a_stage_with_no_samples_is_inconclusive_with_every_check_present_never_pass() -> None:
    stage = judge_stage(_inputs(empty_samples(), 30), SLOS, prices=PRICES)
    assert stage.verdict is Verdict.INCONCLUSIVE
    names = {c.name for c in stage.checks}
    assert {"latency-p95", "error-ratio", "compare/latency", "compare/errors", "samples"} <= names
    assert next(c for c in stage.checks if c.name == "samples").detail.startswith("no samples in the judged window")
    canary = [c for c in stage.checks if c.name == "latency-p95" and c.scope == "revision=canary"]
    assert canary and canary[0].verdict is Verdict.INCONCLUSIVE


def test_a_failed_metrics_scrape_makes_the_cost_check_inconclusive_instead_of_absent() -> None:
    healthy = _samples(np.random.default_rng(3), 30)
    stage = judge_stage(_inputs(healthy, 30, usage={}), SLOS, prices=PRICES)
    [cost] = [c for c in stage.checks if c.name == "cost/per-request"]
    # samples without cache/tier columns and no /metrics either: nothing to price, said so
    assert cost.verdict is Verdict.INCONCLUSIVE and "no /metrics usage was scraped" in cost.detail
    assert stage.verdict is not Verdict.PASS


def test_a_stage_without_canary_samples_names_the_canary_not_the_whole_stage() -> None:
    baseline_only = _samples(np.random.default_rng(4), 0)
    stage = judge_stage(_inputs(baseline_only, 30), SLOS, prices=PRICES)
    scopes = {c.scope for c in stage.checks if c.name == "latency-p95"}
    assert scopes == {"revision=canary", "all"}
    assert stage.verdict is not Verdict.PASS
