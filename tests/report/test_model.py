from __future__ import annotations

import json

from harness._verdicts import Verdict
from harness.report import RunResult, StageResult, load_run


def test_a_run_survives_a_json_round_trip_unchanged(make_run):
    run_dir, run = make_run()
    _, loaded = load_run(run_dir)
    assert loaded.summary() == run.summary()
    for before, after in zip(run.stages, loaded.stages):
        assert after.to_dict() == json.loads(json.dumps(before.to_dict()))
        assert isinstance(after, StageResult) and after.checks == before.checks


def test_summary_json_carries_per_stage_weight_verdict_checks_and_comparisons(make_run):
    run_dir, _ = make_run(canary_median=70.0)
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["schema_version"] == 1
    assert summary["verdict"] == "fail" and summary["exit_code"] == 1 and summary["rolled_back"]
    stage = summary["stages"][0]
    assert stage["weight"] == 10 and stage["verdict"] == "fail"
    assert {c["name"] for c in stage["checks"]} == {"latency-p95"}
    assert {c["name"] for c in stage["comparisons"]} >= {"compare/latency", "compare/errors"}
    for check in stage["checks"] + stage["comparisons"]:
        assert {"name", "value", "objective", "samples", "verdict"} <= check.keys()
    assert summary["failed_checks"][0]["stage"] == 10


def test_an_incomplete_result_is_never_a_pass():
    stage = StageResult(name="stage-10", weight=10, complete=False, incomplete_reason="interrupted")
    assert stage.judge() is Verdict.INCONCLUSIVE
    run = RunResult(name="rollout", run_id="x", stages=[], complete=True)
    assert run.judge() is Verdict.INCONCLUSIVE  # nothing ran
