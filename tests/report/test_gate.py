from __future__ import annotations

import json
from pathlib import Path

from harness.cli import main
from harness.report import update_latest

ROOT = Path(__file__).resolve().parents[2]


def test_gate_exits_0_on_a_passed_rollout(make_run, capsys):
    run_dir, _ = make_run()
    assert main(["gate", str(run_dir)]) == 0
    assert "passed" in capsys.readouterr().out


def test_gate_exits_1_and_names_the_failed_check(make_run, capsys):
    run_dir, _ = make_run(canary_median=70.0)
    assert main(["gate", str(run_dir / "summary.json")]) == 1
    assert "compare/latency" in capsys.readouterr().out


def test_gate_exits_2_on_an_incomplete_run(make_run, capsys):
    run_dir, _ = make_run(complete=False)
    assert main(["gate", str(run_dir)]) == 2
    assert "incomplete" in capsys.readouterr().out


def test_gate_exits_2_with_one_line_on_a_missing_report(tmp_path, capsys):
    assert main(["gate", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_gate_exits_2_with_one_line_on_an_invalid_summary(make_run, capsys):
    run_dir, _ = make_run()
    summary = json.loads((run_dir / "summary.json").read_text())
    del summary["verdict"]
    (run_dir / "summary.json").write_text(json.dumps(summary))
    assert main(["gate", str(run_dir)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "verdict" in err[0]
    (run_dir / "summary.json").write_text("{not json")
    assert main(["gate", str(run_dir)]) == 2


def test_gate_follows_the_latest_symlink(make_run, capsys):
    first, _ = make_run(canary_median=70.0, name="run-1")
    update_latest(first)
    second, _ = make_run(name="run-2")
    update_latest(second)
    assert (second.parent / "latest").resolve() == second.resolve()
    assert main(["gate", str(second.parent / "latest")]) == 0


def test_report_command_rebuilds_html_from_json(make_run, capsys):
    run_dir, _ = make_run()
    assert main(["report", str(run_dir)]) == 0
    assert (run_dir / "index.html").is_file() and (run_dir / "stage-50" / "junit.xml").is_file()


def test_report_and_gate_handle_a_game_day_by_its_kind(tmp_path, capsys):
    from harness._verdicts import Check, Verdict
    from harness.chaos._experiment import load_experiment
    from harness.report._gameday import GameDayResult, save_gameday

    check = Check("failover", Verdict.FAIL, 41.0, 30.0, "lt", "s", 1, "link=x", "failover", "slow recovery")
    result = GameDayResult(name="gd", run_id="gd-1", started_at=1.0, ended_at=60.0, checks=[check],
                           experiment=load_experiment(ROOT / "chaos" / "region-down.yaml").to_dict())
    result.judge()
    run_dir = save_gameday(result, tmp_path / "gd-1")
    assert main(["report", str(run_dir)]) == 0
    assert "failover" in (run_dir / "index.html").read_text()
    assert main(["gate", str(run_dir)]) == 1
    out = capsys.readouterr().out
    assert "game day gd-1 failed" in out and "failover" in out and "rollout" not in out


def test_the_gate_says_a_passing_game_day_passed_and_lists_its_checks(tmp_path, capsys):
    from harness._verdicts import Check, Verdict
    from harness.chaos import load_experiment
    from harness.report._gameday import GameDayResult, save_gameday

    check = Check("failover/primary", Verdict.PASS, 6.0, 30.0, "lt", "s", 1, "link=x", "failover", "")
    result = GameDayResult(name="gd", run_id="gd-2", started_at=1.0, ended_at=60.0, checks=[check],
                           experiment=load_experiment(ROOT / "chaos" / "region-down.yaml").to_dict())
    result.judge()
    run_dir = save_gameday(result, tmp_path / "gd-2")
    assert main(["gate", "--all", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert "game day gd-2 passed" in out and "failover/primary" in out and "rollout" not in out
    assert main(["report", str(run_dir)]) == 0 and (run_dir / "index.html").is_file()
