"""`--compare-to` end to end on saved runs, the gate's not-run rows, words for chaos reasons, decision times."""

from __future__ import annotations

import json
from pathlib import Path

from harness._verdicts import Check, Verdict
from harness.cli import main
from harness.report import render_run
from harness.report._explain import describe_checks
from harness.report._store import load_run, save_run
from tests.report import kinds


def _earlier(run_dir: Path, seconds: float) -> None:
    file = run_dir / "summary.json"
    data = json.loads(file.read_text())
    data["started_at"] -= seconds
    file.write_text(json.dumps(data))


def test_report_compare_to_a_path_shows_what_moved_in_the_terminal_the_html_and_summary_md(tmp_path, capsys):
    before = kinds.rollout(tmp_path, "passing")
    after = kinds.rollout(tmp_path, "failing")
    assert main(["report", str(after), "--compare-to", str(before)]) == 0
    out = capsys.readouterr().out
    assert f"compared with {before.name}: " in out and "checks moved beyond noise" in out
    latency = next(line for line in out.splitlines() if "10 % compare/latency" in line)
    assert "beyond noise (intervals do not overlap)" in latency and "(pass) → " in latency and "(fail)" in latency
    page = (after / "index.html").read_text()
    assert 'id="comparison"' in page and f"Compared with {before.name}" in page
    assert f"### Compared with {before.name}" in (after / "summary.md").read_text()
    # a plain re-render keeps the comparison (recorded beside the run)
    assert main(["report", str(after)]) == 0
    assert 'id="comparison"' in (after / "index.html").read_text()


def test_compare_to_previous_finds_the_newest_earlier_run_of_the_same_kind(tmp_path, capsys):
    before = kinds.rollout(tmp_path, "passing")
    kinds.gameday(tmp_path, True)  # another kind in between is never the one compared with
    after = kinds.rollout(tmp_path, "failing")
    _earlier(before, 600)
    assert main(["report", str(after), "--compare-to", "previous"]) == 0
    assert f"compared with {before.name}" in capsys.readouterr().out


def test_a_bad_compare_to_is_one_line_and_exit_2(tmp_path, capsys):
    run = kinds.rollout(tmp_path, "failing")
    game = kinds.gameday(tmp_path, False)
    assert main(["report", str(run), "--compare-to", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--compare-to" in err and "nope" in err
    assert main(["report", str(run), "--compare-to", str(game)]) == 2
    err = capsys.readouterr().err.strip()
    assert "gameday run, not a rollout run" in err and "Traceback" not in err
    assert main(["rollout", "--compare-to", str(tmp_path / "nope")]) == 2  # refused before anything starts
    assert "--compare-to" in capsys.readouterr().err
    deep = tmp_path / "deep"
    deep.mkdir()
    (deep / "summary.json").write_text("[" * 100_000 + "]" * 100_000)  # a hostile file: one line, not a traceback
    assert main(["report", str(run), "--compare-to", str(deep)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--compare-to" in err


def test_the_gate_prints_the_stages_that_never_ran(tmp_path, capsys):
    run = kinds.rollout(tmp_path, "failing")
    assert main(["gate", str(run)]) == 1
    out = capsys.readouterr().out
    for weight in (50, 100):
        row = next(line for line in out.splitlines() if f"{weight} %" in line)
        assert "not run" in row and ("rolled back" in row or "stopped before" in row)


def test_chaos_reasons_are_words_not_operators():
    checks = [
        Check("latency-p95", Verdict.FAIL, 180.0, 100.0, "lt", "ms", 400, "steady-state after", "slo", ""),
        Check("failover/kill-primary", Verdict.FAIL, None, 30.0, "lt", "s", 300, "us-central1", "failover",
              "never failed over"),
    ]
    text = describe_checks(checks)
    assert "lt 100" not in text and "vs lt" not in text and "no value vs" not in text
    assert text.startswith("latency-p95 (steady-state after): 180.0 ms, objective < 100.0 ms (fail); ")
    assert "failover/kill-primary (us-central1): never happened, objective < 30.00 s (fail)" in text


def test_a_stage_keeps_its_decision_time_in_json_and_the_stepper(tmp_path):
    run_dir = kinds.rollout(tmp_path, "failing")
    _, run = load_run(run_dir)
    run.stages[0].decided_after_s = 12.4
    save_run(run, run_dir)
    render_run(run_dir)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["stages"][0]["decided_after_s"] == 12.4
    assert json.loads((run_dir / run.stages[0].directory / "report.json").read_text())["decided_after_s"] == 12.4
    assert load_run(run_dir)[1].stages[0].decided_after_s == 12.4
    assert "decided after 12 s" in (run_dir / "index.html").read_text()
    assert "decided after 12 s" in (run_dir / run.stages[0].directory / "index.html").read_text()


def test_junit_messages_use_the_reports_words_not_operators(tmp_path):
    import xml.etree.ElementTree as ET

    run = kinds.rollout(tmp_path, "failing")
    root = ET.parse(run / "stage-10" / "junit.xml").getroot()
    messages = [e.get("message", "") for e in root.iter() if e.tag in ("failure", "error")]
    assert messages and not any(" lt " in m or " lte " in m for m in messages)
    assert "+52.0 ms against < +5.0 ms over 180 samples: median shift +52.0 ms" in messages
    assert any(m.startswith("+108 % against ≤ +10 % over 180 samples") for m in messages)  # cost: a change, in %


def test_a_rollout_reason_shows_an_error_ratio_saved_without_a_unit_in_percent():
    from harness.canary._rollout import failure_reason
    from harness.report._model import StageResult

    stage = StageResult(name="stage-10", weight=10, checks=[Check(
        "error-ratio", Verdict.INCONCLUSIVE, 0.1667, 0.01, "lt", "", 6, "revision=canary", "slo", "6 samples < minimum 30")])
    assert failure_reason(stage).startswith(
        "stage 10 %: error-ratio [revision=canary] inconclusive: 16.67 % against < 1.00 % — 6 samples")
