from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from harness._exceptions import ConfigError
from harness._verdicts import Verdict
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.canary._cost import (
    CostConfig,
    PriceTable,
    compare_cost,
    estimate_cost,
    judge_cost,
    load_prices,
    parse_usage,
    price_samples,
)

PRICES = PriceTable(currency="USD", model_call={"small": 0.001, "large": 0.01}, cache_lookup=0.0, request=0.0)


class _Service:
    """A real prometheus_client registry exposing the metrics a xynergy service does."""

    def __init__(self, revision: str) -> None:
        self.registry = CollectorRegistry()
        self.calls = Counter("xynergy_model_calls", "calls", ["tier", "region", "revision"], registry=self.registry)
        self.cache = Counter("xynergy_cache_lookups", "lookups", ["result", "revision"], registry=self.registry)
        self.http = Counter(
            "xynergy_http_requests", "requests", ["service", "revision", "route", "method", "status"], registry=self.registry
        )
        self.revision = revision

    def serve(self, n: int, hit_every: int, large_every: int) -> None:
        for i in range(n):
            self.http.labels("ai-routing-engine", self.revision, "/v1/route", "POST", "200").inc()
            if hit_every and i % hit_every == 0:
                self.cache.labels("hit", self.revision).inc()
                continue
            self.cache.labels("miss", self.revision).inc()
            tier = "large" if large_every and i % large_every == 0 else "small"
            self.calls.labels(tier, "primary", self.revision).inc()
        self.http.labels("ai-routing-engine", self.revision, "/metrics", "GET", "200").inc(50)

    def text(self) -> str:
        return generate_latest(self.registry).decode()


def test_usage_is_read_from_real_prometheus_text_and_differenced_per_stage():
    svc = _Service("baseline")
    svc.serve(100, hit_every=2, large_every=0)
    before = parse_usage(svc.text())
    svc.serve(400, hit_every=4, large_every=5)
    delta = parse_usage(svc.text()) - before
    assert delta.requests == 400  # /metrics scrapes are not requests served
    assert delta.cache_hits == 100 and delta.cache_misses == 300
    assert delta.model_calls["small"] + delta.model_calls["large"] == 300
    assert delta.model_calls["large"] == 60  # i % 5 == 0 and i % 4 != 0 → 80 - 20


def test_cost_per_million_is_priced_from_the_table():
    svc = _Service("baseline")
    svc.serve(1000, hit_every=2, large_every=0)
    estimate = estimate_cost(parse_usage(svc.text()), PRICES, "baseline")
    assert estimate.cache_hit_ratio == pytest.approx(0.5)
    assert estimate.cost_per_million == pytest.approx(500 * 0.001 / 1000 * 1e6)


def test_from_metrics_a_cache_that_stopped_hitting_fails_only_when_the_cache_is_shared():
    base, canary = _Service("baseline"), _Service("canary")
    base.serve(1000, hit_every=2, large_every=0)
    canary.serve(1000, hit_every=0, large_every=0)
    estimates = (estimate_cost(parse_usage(base.text()), PRICES, "baseline"),
                 estimate_cost(parse_usage(canary.text()), PRICES, "canary"))
    shared = compare_cost(*estimates, CostConfig(shared_cache=True))
    assert shared.verdict is Verdict.FAIL and shared.kind == "cost"
    assert shared.value == pytest.approx(1.0)  # +100 % per request
    assert "+100.0%" in shared.detail
    private = compare_cost(*estimates)  # a cold private cache is cache state, not the canary's code
    assert private.verdict is Verdict.INCONCLUSIVE and "not shared" in private.detail


def test_an_equally_priced_canary_passes_and_thin_traffic_is_inconclusive():
    base, canary = _Service("baseline"), _Service("canary")
    base.serve(900, hit_every=3, large_every=7)
    canary.serve(300, hit_every=3, large_every=7)
    est_b = estimate_cost(parse_usage(base.text()), PRICES, "baseline")
    est_c = estimate_cost(parse_usage(canary.text()), PRICES, "canary")
    assert compare_cost(est_b, est_c).verdict is Verdict.PASS
    assert compare_cost(est_b, est_c, CostConfig(min_requests=1000)).verdict is Verdict.INCONCLUSIVE


def test_a_tier_without_a_price_is_inconclusive_not_free():
    svc = _Service("canary")
    svc.calls.labels("experimental", "primary", "canary").inc(500)
    svc.serve(500, hit_every=0, large_every=0)
    prices = PriceTable(currency="USD", model_call={"small": 0.001})
    est = estimate_cost(parse_usage(svc.text()), prices, "canary")
    assert est.unpriced_tiers == ("experimental",)
    assert compare_cost(est, est).verdict is Verdict.INCONCLUSIVE


def test_the_packaged_price_table_loads_and_a_bad_one_names_the_field(tmp_path):
    table = load_prices()
    assert table.call_price("no-such-tier") == table.model_call["default"]
    bad = tmp_path / "prices.yaml"
    bad.write_text("model_call:\n  small: -1\n")
    with pytest.raises(ConfigError, match=r"prices.yaml: model_call.small"):
        load_prices(bad)


def test_a_costlier_canary_on_thin_traffic_is_noise_or_inconclusive_not_a_failure():
    # 200 requests each; the canary drew 3 large-tier calls instead of 2: +~25 % cost, but chance
    prices = PriceTable(currency="USD", model_call={"small": 0.0002, "large": 0.012})
    base, canary = _Service("baseline"), _Service("canary")
    base.calls.labels("small", "primary", "baseline").inc(198)
    base.calls.labels("large", "primary", "baseline").inc(2)
    canary.calls.labels("small", "primary", "canary").inc(197)
    canary.calls.labels("large", "primary", "canary").inc(3)
    for svc in (base, canary):
        svc.http.labels("ai-routing-engine", svc.revision, "/v1/route", "POST", "200").inc(200)
    check = compare_cost(
        estimate_cost(parse_usage(base.text()), prices, "baseline"),
        estimate_cost(parse_usage(canary.text()), prices, "canary"),
    )
    assert check.value > 0.10
    assert check.verdict is not Verdict.FAIL
    assert check.extra["p_value"] > 0.01


TIERS = {"small": 0.0002, "medium": 0.002, "large": 0.012}
TABLE = PriceTable(currency="USD", model_call=TIERS, cache_lookup=0.000002, request=0.0000004)


def _routed(rng: np.random.Generator, revision: str, n: int, hit_ratio: float,
            mix: tuple[float, float, float] = (0.6, 0.3, 0.1)) -> pd.DataFrame:
    """Routed requests as the plugin records them: the tier chosen, and how the cache answered."""
    tier = rng.choice(list(TIERS), size=n, p=list(mix))
    cache = np.where(rng.random(n) < hit_ratio, "hit", "miss")
    return pd.DataFrame({"name": "POST /v1/route", "revision": revision, "tier": tier, "cache": cache,
                         "ok": True, "latency_ms": 10.0})


def test_each_request_is_priced_by_how_it_was_answered():
    rows = pd.DataFrame({"tier": ["large", "large", "small", ""], "cache": ["miss", "hit", "dedup", ""]})
    actual, decision = price_samples(rows, TABLE)
    assert actual.tolist() == pytest.approx([0.012 + 0.000002 + 0.0000004, 0.000002 + 0.0000004,
                                             0.000002 + 0.0000004, 0.0000004])
    assert decision.tolist() == pytest.approx([0.0120004, 0.0120004, 0.0002004, 0.0000004])


@settings(max_examples=8, deadline=None)
@given(canary_hits=st.floats(0.0, 1.0), baseline_hits=st.floats(0.0, 1.0), seed=st.integers(0, 2**16))
def test_cache_state_alone_can_never_fail_the_cost_check(canary_hits: float, baseline_hits: float, seed: int):
    """The issue's healthy +107 %: a cold private cache on the canary, a warm one on the baseline."""
    rng = np.random.default_rng(seed)
    frame = pd.concat([_routed(rng, "baseline", 3000, baseline_hits), _routed(rng, "canary", 400, canary_hits)])
    checks = judge_cost(frame, TABLE)
    assert [c.name for c in checks] == ["cost/per-request"]
    assert checks[0].verdict is not Verdict.FAIL
    assert "not judged" in checks[0].detail


def test_the_issue_cold_cache_case_passes_once_the_tier_choice_is_proven_equal():
    rng = np.random.default_rng(5)
    frame = pd.concat([_routed(rng, "baseline", 100_000, 0.7), _routed(rng, "canary", 50_000, 0.0)])
    [check] = judge_cost(frame, TABLE)
    assert check.extra["canary_actual_per_million"] > 2 * check.extra["baseline_actual_per_million"]
    assert check.verdict is Verdict.PASS, check.detail


def test_a_canary_choosing_pricier_tiers_fails_the_cost_check():
    rng = np.random.default_rng(6)
    frame = pd.concat([_routed(rng, "baseline", 5000, 0.5), _routed(rng, "canary", 800, 0.5, mix=(0.2, 0.3, 0.5))])
    [check] = judge_cost(frame, TABLE)
    assert check.verdict is Verdict.FAIL, check.detail
    assert check.interval is not None and check.interval[0] > 0.10


def test_with_a_shared_cache_a_canary_that_stopped_hitting_fails_the_hit_ratio():
    rng = np.random.default_rng(7)
    frame = pd.concat([_routed(rng, "baseline", 5000, 0.6), _routed(rng, "canary", 800, 0.0)])
    checks = {c.name: c for c in judge_cost(frame, TABLE, CostConfig(shared_cache=True))}
    assert checks["cost/cache-hit-ratio"].verdict is Verdict.FAIL  # what stopped hitting is named as such
    # the tier choice is the same, so the per-request decision cost is not what fails
    assert checks["cost/per-request"].verdict is not Verdict.FAIL
    assert checks["cost/per-request"].extra["canary_actual_per_million"] > checks["cost/per-request"].extra[
        "baseline_actual_per_million"]  # the actual cost rose, and the report says by how much


def test_samples_without_cost_columns_fall_back_to_metrics_and_say_so():
    base, canary = _Service("baseline"), _Service("canary")
    base.serve(1000, hit_every=2, large_every=0)
    canary.serve(1000, hit_every=2, large_every=0)
    frame = pd.DataFrame({"name": ["POST /v1/route"] * 2, "revision": ["baseline", "canary"], "ok": True})
    [check] = judge_cost(frame, PRICES, baseline_usage=estimate_cost(parse_usage(base.text()), PRICES, "baseline"),
                         canary_usage=estimate_cost(parse_usage(canary.text()), PRICES, "canary"))
    assert check.verdict is Verdict.PASS and "/metrics" in check.detail
    [missing] = judge_cost(frame, PRICES)
    assert missing.verdict is Verdict.INCONCLUSIVE
