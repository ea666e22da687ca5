from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Counter, generate_latest

from harness._exceptions import ConfigError
from harness._verdicts import Verdict
from harness.canary._cost import (
    CostConfig,
    PriceTable,
    compare_cost,
    estimate_cost,
    load_prices,
    parse_usage,
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


def test_a_canary_whose_cache_stopped_hitting_fails_the_cost_check_by_how_much():
    base, canary = _Service("baseline"), _Service("canary")
    base.serve(1000, hit_every=2, large_every=0)
    canary.serve(1000, hit_every=0, large_every=0)
    check = compare_cost(
        estimate_cost(parse_usage(base.text()), PRICES, "baseline"),
        estimate_cost(parse_usage(canary.text()), PRICES, "canary"),
    )
    assert check.verdict is Verdict.FAIL and check.kind == "cost"
    assert check.value == pytest.approx(1.0)  # +100 % per request
    assert "+100.0%" in check.detail


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
