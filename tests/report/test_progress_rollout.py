"""A real (short) rollout through the CLI with --no-live: start progress, what was rolled back, what never ran."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from harness.cli import main
from tests.report import kinds

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
def test_a_rolled_back_rollout_says_so_names_the_stage_that_never_ran_and_compares(tmp_path, capsys, monkeypatch):
    reports = tmp_path / "reports"
    earlier = kinds.rollout(reports, "passing")
    summary = json.loads((earlier / "summary.json").read_text())
    summary["started_at"] = 1_000_000_000.0
    (earlier / "summary.json").write_text(json.dumps(summary))
    argv = ["rollout", "--stages", "10,100", "--stage-duration", "6s", "--warmup", "2s", "--rps", "40",
            "--canary-defect", "errors", "--no-live", "--slo-dir", str(ROOT / "slos"), "--out", str(reports),
            "--compare-to", "previous"]
    monkeypatch.setattr(sys, "argv", ["harness", *argv])
    code = main(argv)
    out = capsys.readouterr().out
    # a canary failing half its requests never passes 10 %: failed, or inconclusive on a busy machine
    assert code in (1, 2), out
    lines = out.splitlines()
    assert lines[0].startswith("starting ") and lines[0].endswith(" processes…")
    assert any(line.startswith("platform up: ") for line in lines)
    assert "undone: canary weight set back to 0 %" in out
    assert "100 %: not run" in out
    assert f"compared with {earlier.name}: " in out
    run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and p != earlier)
    saved = json.loads((run_dir / "summary.json").read_text())
    assert saved["config"]["command"].startswith("harness rollout --stages 10,100 ")
    assert saved["stages_not_run"] == [{"weight": 100, "verdict": "not run"}]
