"""The charts tell the truth: objectives in view, gaps as gaps, legends like their lines, no repeated colours."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from harness.report import Rule, Series, Window, line_chart, sample_series
from harness.report._svg import colors_for
from harness.report._render import _cold_bars
from harness.report._svg import bar_chart


def _ticks(svg: str) -> list[float]:
    return [float(v) for v in re.findall(r'text-anchor="end" class="tick">([0-9.]+)</text>', svg)]


def test_an_error_ratio_axis_is_scaled_to_the_data_and_the_objective_not_pinned_to_0_to_1():
    errors = Series("errors canary", "errors", [0.0, 1.0, 2.0], [0.002, 0.005, 0.004], "ratio")
    svg = str(line_chart([errors], title="errors", objectives=[Rule(0.01, "error-ratio")]))
    assert "(%)" in svg and "error-ratio 1 %" in svg
    assert 1.0 <= max(_ticks(svg)) <= 1.5  # percent, up to just above the 1 % objective


def test_an_objective_far_above_the_data_is_still_in_view():
    lat = Series("p95 canary", "latency", [0.0, 1.0], [20.0, 25.0], "ms")
    svg = str(line_chart([lat], title="latency", objectives=[Rule(100.0, "latency-p95")]))
    assert max(_ticks(svg)) >= 100.0


def test_an_outage_is_a_gap_in_a_ratio_line_and_a_zero_in_a_rate_line():
    t = [float(i) for i in range(10)] + [float(i) for i in range(40, 50)]
    ratio = Series("errors baseline", "errors", t, [0.01] * 20, "ratio")
    rate = Series("us-central1", "region", t, [20.0] * 20, "req/s")
    assert str(line_chart([ratio], title="e")).count("<polyline") == 2  # broken, no diagonal across 10..40
    rate_svg = str(line_chart([rate], title="r"))
    assert rate_svg.count("<polyline") == 1
    (points,) = re.findall(r'<polyline points="([^"]+)"', rate_svg)
    ys = [float(p.split(",")[1]) for p in points.split()]
    assert max(ys) - min(ys) > 50  # it drops to the zero line during the outage


def test_a_series_that_starts_late_has_no_line_before_it():
    late = Series("europe-west1", "region", [15.0, 16.0, 17.0], [20.0, 20.0, 20.0], "req/s")
    early = Series("us-central1", "region", [0.0, 1.0, 2.0], [20.0, 20.0, 20.0], "req/s")
    svg = str(line_chart([early, late], title="r"))
    lines = re.findall(r'<polyline points="([^"]+)"', svg)
    first_x = min(float(p.split(",")[0]) for p in lines[1].split())
    assert first_x > 300  # starts at 15 s on a 0..17 s axis, nothing drawn from 0


def test_legend_swatches_have_the_dash_pattern_of_their_lines():
    series = [Series(f"{q} baseline", "latency", [0.0, 1.0], [1.0, 2.0], "ms") for q in ("p50", "p95", "p99")]
    svg = str(line_chart(series, title="latency"))
    drawn = re.findall(r'<polyline [^>]*?stroke="[^"]+" stroke-width="1.7"(?: stroke-dasharray="([^"]+)")?>', svg)
    legend = re.findall(r'<svg class="sw"[^>]*><line [^>]*?stroke-width="2.2"(?: stroke-dasharray="([^"]+)")?/>', svg)
    assert drawn == legend == ["7 3", "", "2 3"]


def test_no_two_series_of_a_chart_share_a_colour():
    names = ["edge", "ai-routing-engine", "security-governance", "internal-ai.primary", "internal-ai.backup",
             "system-runtime", "redis", "toxiproxy", "us-central1", "europe-west1", "asia-east1", "x", "y",
             "ai-routing-engine@canary", "edge@baseline"]
    colours = colors_for(names)
    assert len(set(colours.values())) == len(names)
    # percentiles of one revision share its colour on purpose (told apart by dash)
    rev = colors_for(["p50 canary", "p95 canary", "p50 baseline"])
    assert rev["p50 canary"] == rev["p95 canary"] != rev["p50 baseline"]


def test_the_last_partial_second_is_not_a_throughput_dip():
    t0 = 1000.0
    ts = t0 + np.arange(0, 2.3, 0.01)  # 2 whole seconds and 0.3 s of a third
    frame = pd.DataFrame({"ts": ts, "revision": "baseline", "ok": True, "latency_ms": 10.0})
    rps = next(s for s in sample_series(frame, t0) if s.chart == "throughput")
    assert rps.t == [0.0, 1.0] and min(rps.y) >= 99
    rps_to_end = next(s for s in sample_series(frame, t0, t1=t0 + 3.0) if s.chart == "throughput")
    assert rps_to_end.t == [0.0, 1.0, 2.0]


def test_an_empty_second_inside_a_series_is_zero_throughput_and_no_latency():
    t0 = 1000.0
    ts = np.concatenate([t0 + np.arange(0, 1, 0.1), t0 + 3 + np.arange(0, 1, 0.1)])
    frame = pd.DataFrame({"ts": ts, "revision": "baseline", "ok": True, "latency_ms": 10.0})
    series = {s.name: s for s in sample_series(frame, t0, t1=t0 + 4)}
    assert series["rps baseline"].y == [10.0, 0.0, 0.0, 10.0]
    assert series["p95 baseline"].y[1:3] == [None, None]


def test_window_labels_near_the_right_edge_are_not_clipped():
    lat = Series("p95 baseline", "latency", [float(i) for i in range(60)], [10.0] * 60, "ms")
    svg = str(line_chart([lat], title="l", windows=[Window(58.0, 60.0, "not judged (load stopping)", "cooldown")]))
    assert 'text-anchor="end" class="wl win-other-l">not judged (load stopping)</text>' in svg


def test_cold_starts_list_each_instance_once_and_mark_the_failing_bar():
    bars = _cold_bars([{"instance": "ai-routing-engine@canary", "seconds": 1.4},
                       {"instance": "ai-routing-engine@canary", "seconds": 1.4},
                       {"instance": "ai-routing-engine@canary", "seconds": 2.6}])
    assert [label for label, _ in bars] == ["ai-routing-engine@canary", "ai-routing-engine@canary (start 2)"]
    svg = str(bar_chart(bars, title="cold", unit="s", objective=Rule(2.0, "objective")))
    assert svg.count('class="bar-fail"') == 1 and "objective 2 s" in svg


def test_the_run_chart_draws_lines_within_each_stage_and_breaks_between_stages(make_run):
    from harness.report import render_run

    run_dir, _ = make_run()
    render_run(run_dir)
    page = (run_dir / "index.html").read_text()
    chart = page[page.find("p95 latency across stages"):page.find("Error ratio across stages")]
    lines = re.findall(r'<polyline points="([^"]+)"', chart)
    assert 3 <= len(lines) <= 6  # one unbroken line per revision and stage (100 % has no baseline traffic)
    assert all(len(points.split()) > 10 for points in lines)
