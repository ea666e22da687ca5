"""Defect profiles: the documented syntax, the presets, and clear errors."""

from __future__ import annotations

import pytest

from xynergy.defects import PRESETS, Defects, parse_defects


def test_full_syntax_parses_every_defect() -> None:
    d = parse_defects("latency=150ms@0.3,errors=0.05,slow-start=4s,memory-growth=4MiB/s,cors-wildcard,breaker-off")
    assert d == Defects(latency_s=0.15, latency_fraction=0.3, error_ratio=0.05, slow_start_s=4.0,
                        memory_growth_bytes_per_s=4 * 1024**2, cors_wildcard=True, breaker_off=True)


def test_no_spec_means_no_defects() -> None:
    for spec in (None, "", "none", "  "):
        assert not parse_defects(spec)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_turns_something_on_and_round_trips(name: str) -> None:
    d = parse_defects(name)
    assert d
    assert parse_defects(d.describe()) == d


def test_latency_preset_delays_a_large_share_enough_to_breach_a_100ms_p95() -> None:
    d = parse_defects("latency")
    assert d.latency_fraction >= 0.2 and d.latency_s >= 0.1


def test_latency_without_fraction_hits_every_request_and_percent_is_accepted() -> None:
    assert parse_defects("latency=2s").latency_fraction == 1.0
    assert parse_defects("latency=20ms@30%").latency_fraction == pytest.approx(0.3)


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("latency=abc", "latency=abc"),
        ("latency=150ms@1.5", "fraction"),
        ("errors=2", "fraction"),
        ("errors=lots", "errors=lots"),
        ("slow-start=4", "duration"),
        ("memory-growth=4MB/s", "4MiB/s"),
        ("teleport", "unknown defect 'teleport'"),
        ("cors-wildcard=yes", "takes no value"),
        ("latency,,errors", "empty item"),
    ],
)
def test_malformed_specs_raise_value_error_naming_the_problem(spec: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_defects(spec)
