"""Cost over time and model calls by tier, from the per-request tier/cache columns, priced by the judge's pricing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from harness.canary._cost import load_prices, price_samples
from harness.report._series import cost_series
from tests.report import kinds

T0 = 1_800_000_000.0


def _samples() -> pd.DataFrame:
    n = 200  # 20 s at 10 req/s
    i = np.arange(n)
    revision = np.where(i % 2 == 0, "baseline", "canary")
    late = i >= 100  # the canary turns to the large tier after 10 s
    tier = np.where((revision == "canary") & late, "large", "small")
    cache = np.where(i % 4 < 2, "hit", "miss")  # half of each revision's requests come from the cache
    return pd.DataFrame({"ts": T0 + i / 10, "revision": revision, "tier": tier, "cache": cache})


def test_cost_over_time_follows_the_tier_mix_and_uses_the_judges_prices():
    prices = load_prices()
    samples = _samples()
    series = {(s.chart, s.name): s for s in cost_series(samples, T0, prices, t1=T0 + 20)}
    cost = series[("cost", "cost canary")]
    assert cost.unit == "USD/M req" and cost.t == [0.0, 5.0, 10.0, 15.0]
    early, late = cost.y[0], cost.y[3]
    assert early is not None and late is not None and late > 5 * early  # the large tier costs ~60x per call
    actual, _ = price_samples(samples, prices)  # the same pricing as the judge, not a copy of it
    mask = (samples["revision"] == "canary") & (samples["ts"] >= T0 + 15)
    assert late == pytest.approx(actual[mask.to_numpy()].mean() * 1e6)
    # calls by tier: only requests not served from the cache; each revision's chart lists every tier
    assert {name for chart, name in series if chart == "calls-baseline"} == {"large", "small"}
    large = series[("calls-canary", "large")]
    misses = samples[(samples["revision"] == "canary") & (samples["tier"] == "large") & (samples["cache"] == "miss")]
    expected = [float(((misses["ts"] >= T0 + b) & (misses["ts"] < T0 + b + 5)).sum()) / 5 for b in (0, 5, 10, 15)]
    assert large.unit == "calls/s" and large.y == expected and expected[:2] == [0.0, 0.0] and expected[2] > 2
    assert series[("calls-baseline", "large")].y == [0.0] * 4


def test_samples_without_tiers_give_no_cost_charts():
    samples = _samples().assign(tier="")
    assert cost_series(samples, T0, load_prices()) == []


def test_the_stage_page_draws_cost_over_time_and_calls_by_tier_per_revision(tmp_path):
    run_dir = kinds.rollout(tmp_path, "failing")
    page = (run_dir / "stage-10" / "index.html").read_text()
    assert "Cost per million requests over time, by revision" in page
    assert "Model calls by tier, baseline" in page and "Model calls by tier, canary" in page
    assert "(calls/s) (calls/s)" not in page


def test_calls_charts_follow_the_revision_names_the_run_used(tmp_path):
    """A router names revisions after the deployment (Cloud Run), not baseline/canary: the charts stay."""
    import json

    from harness.report import render_run

    run_dir = kinds.rollout(tmp_path, "failing")
    report = run_dir / "stage-10" / "report.json"
    data = json.loads(report.read_text())
    for line in data["series"]:
        if line["chart"] == "calls-canary":
            line["chart"] = "calls-checkout-00012-abc"
    report.write_text(json.dumps(data))
    render_run(run_dir)
    page = (run_dir / "stage-10" / "index.html").read_text()
    assert "Model calls by tier, checkout-00012-abc" in page and "Model calls by tier, baseline" in page
