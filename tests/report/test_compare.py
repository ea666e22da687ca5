"""Comparing two runs, latest links per kind, and the per-request table's figures."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pandas as pd
import pytest

from harness._exceptions import ReportError
from harness.report import compare_runs, comparison_markdown, endpoint_stats, load_result, previous_run, update_latest
from tests.report import kinds


def test_latest_links_exist_per_kind_and_latest_is_the_last_run_of_any_kind(tmp_path):
    rollout = kinds.rollout(tmp_path, "failing")
    update_latest(rollout)
    game = kinds.gameday(tmp_path, True)
    update_latest(game)
    assert (tmp_path / "latest").resolve() == game.resolve()
    assert (tmp_path / "latest-gameday").resolve() == game.resolve()
    # a game day after a failed rollout does not hide the rollout from a gate asking for it
    assert (tmp_path / "latest-rollout").resolve() == rollout.resolve()
    assert json.loads((tmp_path / "latest-rollout" / "summary.json").read_text())["verdict"] == "fail"


def test_a_move_whose_intervals_do_not_overlap_is_beyond_noise(tmp_path):
    before = load_result(kinds.rollout(tmp_path / "a", "passing"))
    after = load_result(kinds.rollout(tmp_path / "b", "failing"))
    moves = compare_runs(before, after)
    latency = next(m for m in moves if m.stage == 10 and m.name == "compare/latency")
    assert latency.delta == pytest.approx(51.0) and latency.beyond_noise is True
    assert latency.verdict_changed
    # checks without an interval: unknown, not guessed from the size of the change
    cost = next(m for m in moves if m.stage == 10 and m.name == "cost/per-request")
    assert cost.beyond_noise is None and "no interval" in cost.why
    # stages that ran only before are listed, not dropped
    assert any(m.stage == 50 and m.after is None for m in moves)
    assert moves[0].beyond_noise is True  # what moved for real comes first
    md = comparison_markdown(moves, "a", "b")
    assert "| 10 % | compare/latency (canary-vs-baseline) |" in md and "**yes**" in md


def test_a_move_inside_the_intervals_is_noise(tmp_path):
    run = load_result(kinds.rollout(tmp_path, "passing"))
    stage = run.stages[0]
    check = stage.checks[0]
    nudged = replace(check, value=check.value + 1.0)
    other = load_result(tmp_path / run.run_id)
    other.stages[0].checks[0] = nudged
    move = next(m for m in compare_runs(run, other) if m.stage == 10 and m.name == check.name)
    assert move.beyond_noise is False and move.delta == pytest.approx(1.0)


def test_runs_of_different_kinds_are_not_compared(tmp_path):
    with pytest.raises(ReportError, match="same kind"):
        compare_runs(load_result(kinds.rollout(tmp_path, "passing")), load_result(kinds.gameday(tmp_path, True)))


def test_previous_is_the_newest_earlier_run_of_the_same_kind(tmp_path):
    first = kinds.rollout(tmp_path, "passing")
    kinds.gameday(tmp_path, True)
    second = kinds.rollout(tmp_path, "failing")
    summary = json.loads((second / "summary.json").read_text())
    summary["started_at"] += 100  # the failing run is the later one
    (second / "summary.json").write_text(json.dumps(summary))
    assert previous_run(second) == first
    assert previous_run(first) is None


def test_the_per_request_table_counts_failures_with_their_messages():
    frame = pd.DataFrame({
        "name": ["/v1/route"] * 4 + ["/healthz"],
        "method": ["POST"] * 4 + ["GET"],
        "revision": ["canary", "canary", "canary", "baseline", "baseline"],
        "ok": [True, False, False, True, True],
        "status": [200, 503, 0, 200, 200],
        "error_kind": ["", "http", "timeout", "", ""],
        "latency_ms": [10.0, 50.0, 1000.0, 20.0, 1.0],
    })
    rows = {(r["name"], r["revision"]): r for r in endpoint_stats(frame)}
    canary = rows[("/v1/route", "canary")]
    assert canary["requests"] == 3 and canary["failures"] == 2
    assert canary["errors"] == {"503 http": 1, "no response timeout": 1}
    assert canary["p50_ms"] == 10.0  # latency of successful requests only
    assert rows[("/healthz", "baseline")]["method"] == "GET"
    assert not math.isnan(rows[("/v1/route", "baseline")]["p99_ms"])


def test_an_error_ratio_slo_saved_without_a_unit_is_shown_as_a_percentage():
    from harness._verdicts import Check, Verdict
    from harness.report import format_check

    check = Check("error-ratio", Verdict.PASS, 0.004, 0.01, "lt", "", 100, "revision=canary", "slo")
    assert format_check(check) == "0.40 %" and format_check(check, "objective") == "1.00 %"
    count = Check("security-failures", Verdict.PASS, 0.0, 0.0, "lte", "", 75)
    assert format_check(count) == "0"


def test_a_result_saved_without_per_request_figures_gets_them_from_its_samples_file(tmp_path):
    from harness.report._render import endpoints_from_samples
    run_dir = kinds.rollout(tmp_path, "passing")
    stage = load_result(run_dir).stages[0]
    stage.endpoints = []
    path = tmp_path / "samples.arrow"
    frame = pd.DataFrame({"ts": [stage.started_at + 1.0, stage.started_at + 10.0, stage.started_at + 10.5],
                          "name": "POST /v1/route", "method": "POST", "revision": "canary",
                          "ok": [True, True, False], "status": [200, 200, 503], "error_kind": ["", "", "http"],
                          "latency_ms": [5.0, 6.0, 7.0]})
    from harness.samples import read_samples

    _write_samples(frame, path)
    assert len(read_samples(path)) == 3
    rows = endpoints_from_samples(stage, path)
    # only the judged window (5..22 s): the request in the warm-up is left out
    assert rows == [{"name": "POST /v1/route", "method": "POST", "revision": "canary", "requests": 2, "failures": 1,
                     "p50_ms": 6.0, "p95_ms": 6.0, "p99_ms": 6.0, "errors": {"503 http": 1}}]


def _write_samples(frame: pd.DataFrame, path) -> None:
    """Write `frame` with the real samples writer (columns it lacks get their type's empty value)."""
    from harness.samples import COLUMNS, SCHEMA, SampleWriter

    empty = {f.name: (0.0 if "double" in str(f.type) else 0 if "int" in str(f.type) else False if "bool" in str(f.type)
                      else "") for f in SCHEMA}
    with SampleWriter(path) as writer:
        for record in frame.to_dict("records"):
            writer.add(tuple(record.get(c, empty[c]) for c in COLUMNS))


def test_a_recorded_comparison_survives_moving_the_reports_directory(tmp_path):
    """CI archives reports/ as an artifact: the comparison must not point at the runner's old path."""
    import shutil

    from harness.report._compare import record_comparison, recorded_comparison

    before, after = kinds.rollout(tmp_path / "reports", "passing"), kinds.rollout(tmp_path / "reports", "failing")
    record_comparison(after, before)
    moved = tmp_path / "artifact" / "reports"
    shutil.move(str(tmp_path / "reports"), str(moved))
    found = recorded_comparison(moved / after.name, load_result(moved / after.name))
    assert found is not None and found[0] == load_result(moved / before.name).run_id and found[1]
