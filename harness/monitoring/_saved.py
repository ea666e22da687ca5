"""Export a saved run (rollout or game day) from its report directory.

Reports are the harness's source of truth, so exporting from them rather
than from live objects means any run, including one that crashed halfway
and left a partial report, can be exported later with the same labels and
timestamps it would have had if exported live.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from harness._verdicts import Check
from harness.monitoring._export import ExportResult, MonitoringExporter, _as_datetime
from harness.monitoring._metrics import Point, RunLabels, checks_to_points

__all__ = ["export_saved_run"]


def export_saved_run(
    exporter: MonitoringExporter,
    path: str | Path,
    *,
    scenario: str | None = None,
    require_export: bool | None = None,
) -> ExportResult:
    """Export every check of the run saved at `path` (a run directory, its summary.json, or `latest`).

    A rollout's stage checks are labelled `stage=<weight>` and stamped with the
    stage's end time; run-level checks get `stage=run`. A game day's checks
    get `stage=gameday`. `scenario` defaults to the locustfile's name (rollout)
    or the experiment file's name (game day). A missing or invalid report
    raises `ReportError`; export failures are reported as usual.
    """
    from harness.report._store import resolve_run_dir

    run_dir = resolve_run_dir(path)
    try:
        kind = json.loads((run_dir / "summary.json").read_text()).get("kind", "rollout")
    except (OSError, ValueError):
        kind = "rollout"  # load_run below reports the problem precisely
    points = _gameday_points(run_dir, scenario) if kind == "gameday" else _rollout_points(run_dir, scenario)
    return exporter.write_points(points, require_export=require_export)


def _rollout_points(run_dir: Path, scenario: str | None) -> list[Point]:
    from harness.report._store import load_run

    _, run = load_run(run_dir)
    name = scenario or Path(str(run.config.get("locustfile") or "rollout")).stem
    points: list[Point] = []
    for stage in run.stages:
        points += _points(stage.checks, RunLabels(run.run_id, str(stage.weight), name, "rollout"), stage.ended_at)
    points += _points(run.checks, RunLabels(run.run_id, "run", name, "rollout"), run.ended_at)
    return points


def _gameday_points(run_dir: Path, scenario: str | None) -> list[Point]:
    from harness.report._gameday import load_gameday

    _, result = load_gameday(run_dir)
    source = result.experiment.get("source") or result.experiment.get("title") or "gameday"
    name = scenario or Path(str(source)).stem
    return _points(result.checks, RunLabels(result.run_id, "gameday", name, "gameday"), result.ended_at)


def _points(checks: list[Check], labels: RunLabels, ended_at: float) -> list[Point]:
    return checks_to_points(checks, labels, _as_datetime(ended_at or time.time()))
