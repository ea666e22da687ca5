"""A real (short) game day through the CLI with --no-live: progress from the first second, final lines, comparison."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml

from harness.cli import main
from tests.report import kinds

ROOT = Path(__file__).parents[2]
LOCUSTFILE = ROOT / "tests" / "chaos" / "gameday_locustfile.py"


@pytest.mark.slow
def test_a_game_day_says_what_it_does_as_it_does_it_and_compares_with_the_previous_one(tmp_path, capsys, monkeypatch):
    reports = tmp_path / "reports"
    earlier = kinds.gameday(reports, True)  # a synthetic earlier game day of the same kind
    summary = json.loads((earlier / "summary.json").read_text())
    summary["started_at"] = 1_000_000_000.0
    (earlier / "summary.json").write_text(json.dumps(summary))
    experiment = tmp_path / "experiment.yaml"
    experiment.write_text(yaml.safe_dump({
        "title": "short region outage", "description": "the primary AI region stops answering",
        "method": [{"name": "primary blackholed", "at": "2s", "for": "6s", "link": "ai-routing-engine->internal-ai.primary",
                    "action": "toxic", "toxic": {"type": "timeout", "attributes": {"timeout": 0}},
                    "judge": ["failover"]}],
        "load": {"duration": "12s", "rps": 15}}, sort_keys=False))
    argv = ["gameday", str(experiment), "--out", str(reports), "--slo-dir", str(ROOT / "slos"),
            "--locustfile", str(LOCUSTFILE), "--min-samples", "15", "--no-live", "--compare-to", "previous"]
    monkeypatch.setattr(sys, "argv", ["harness", *argv])  # as typed at the `harness` command
    code = main(argv)
    out, err = capsys.readouterr()
    assert code in (0, 1, 2), out + err
    lines = err.splitlines()
    assert lines[0].startswith("starting ") and lines[0].endswith(" processes…")  # the very first words
    assert any(" ready " in line for line in lines[1:5]) and any(line.startswith("platform up: ") for line in lines)
    assert "chaos: " in err and "fault injected: toxic ai-routing-engine->internal-ai.primary" in err
    assert "fault removed (undone)" in err
    assert "undone: 1 fault removed (1 on schedule)" in out
    assert f"compared with {earlier.name}: " in out
    run_dir = next(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink() and p != earlier)
    saved = json.loads((run_dir / "summary.json").read_text())
    assert saved["config"]["command"].startswith(f"harness gameday {experiment}")  # the rerun hint is exact
    assert saved["config"]["command"] in (run_dir / "index.html").read_text().replace("&#39;", "'")
    assert 'id="comparison"' in (run_dir / "index.html").read_text()
    assert "### Compared with" in (run_dir / "summary.md").read_text()
