"""Saving and loading results on disk: the only input reports are built from.

Layout of one run (`reports/<run-id>/`): `summary.json` (public, see
docs/summary-schema.md) and `stage-<weight>/report.json` per stage. HTML,
JUnit and Markdown are derived files (`harness.report.render_run`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from harness._exceptions import ReportError
from harness._verdicts import json_safe
from harness.report._model import SCHEMA_VERSION, RunResult, StageResult

__all__ = ["new_run_id", "save_run", "load_run", "load_summary", "resolve_run_dir", "update_latest", "latest_of", "write_json"]


def new_run_id(kind: str = "rollout") -> str:
    """Sortable, unique: `20261129-233012-rollout-1a2b`."""
    return f"{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-{kind}-{uuid.uuid4().hex[:4]}"


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write atomically, so a reader never sees half a file (the gate may be polling)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(json_safe(data), indent=2, allow_nan=False) + "\n")
    os.replace(tmp, path)


def save_run(run: RunResult, run_dir: Path) -> Path:
    """Write summary.json and each stage's report.json; returns `run_dir`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for stage in run.stages:
        write_json(run_dir / stage.directory / "report.json", stage.to_dict())
    write_json(run_dir / "summary.json", run.summary())
    return run_dir


def _kind_of(run_dir: Path) -> str | None:
    """The `kind` recorded in the run's summary.json (None when unreadable)."""
    try:
        kind = json.loads((run_dir / "summary.json").read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return None
    return kind if isinstance(kind, str) and kind.isidentifier() else None


def _link(run_dir: Path, name: str) -> None:
    link = run_dir.parent / name
    tmp = run_dir.parent / f".{name}-{uuid.uuid4().hex[:6]}"
    os.symlink(run_dir.name, tmp)
    os.replace(tmp, link)


def update_latest(run_dir: Path, kind: str | None = None) -> None:
    """Point `<parent>/latest` and `<parent>/latest-<kind>` at `run_dir`.

    Relative symlinks, each replaced atomically. `latest-rollout` and
    `latest-gameday` exist so that a game day run after a failed rollout does
    not hide the rollout from a gate asking for the rollout (`latest` is still
    the last run of any kind). `kind` defaults to the one in summary.json.
    """
    _link(run_dir, "latest")
    kind = kind or _kind_of(run_dir)
    if kind:
        _link(run_dir, f"latest-{kind}")


def latest_of(reports: str | Path, kind: str | None = None) -> Path:
    """`reports/latest-<kind>` (or `reports/latest` without a kind): the path a gate reads by default."""
    return Path(reports) / (f"latest-{kind}" if kind else "latest")


def resolve_run_dir(path: str | Path) -> Path:
    """A run directory, its summary.json, or `latest` → the run directory."""
    p = Path(path)
    if p.name == "summary.json":
        p = p.parent
    if not p.exists():
        raise ReportError(f"{path}: no such report (run `harness rollout` first)")
    if not (p / "summary.json").is_file():
        raise ReportError(f"{path}: no summary.json in this directory; not a run report")
    return p.resolve()


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ReportError(f"{path}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise ReportError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict):
        raise ReportError(f"{path}: expected a JSON object")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ReportError(f"{path}: schema_version {version!r} is not supported (expected {SCHEMA_VERSION})")
    return data


_SUMMARY_KEYS = {"run_id": str, "verdict": str, "complete": bool, "stages": list, "started_at": (int, float),
                 "ended_at": (int, float)}


def load_summary(path: str | Path) -> dict[str, Any]:
    """Read and validate summary.json (a run dir or the file itself)."""
    run_dir = resolve_run_dir(path)
    file = run_dir / "summary.json"
    data = _read(file)
    for key, kind in _SUMMARY_KEYS.items():
        if not isinstance(data.get(key), kind):  # type: ignore[arg-type]
            raise ReportError(f"{file}: field `{key}` missing or of the wrong type")
    if data["verdict"] not in ("pass", "fail", "inconclusive"):
        raise ReportError(f"{file}: field `verdict` must be pass, fail or inconclusive, got {data['verdict']!r}")
    for i, stage in enumerate(data["stages"]):
        if not isinstance(stage, dict) or stage.get("verdict") not in ("pass", "fail", "inconclusive"):
            raise ReportError(f"{file}: field `stages[{i}].verdict` missing or invalid")
    return data


def load_run(path: str | Path) -> tuple[Path, RunResult]:
    """Rebuild a `RunResult` from disk (summary.json + every stage's report.json)."""
    run_dir = resolve_run_dir(path)
    summary = load_summary(run_dir)
    stages = []
    for entry in summary["stages"]:
        report = run_dir / entry.get("report", f"stage-{entry.get('weight')}/report.json")
        if not report.is_file():
            raise ReportError(f"{report}: missing; summary.json lists stage {entry.get('weight')}")
        try:
            stages.append(StageResult.from_dict(_read(report)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ReportError(f"{report}: invalid stage report ({exc})") from exc
    try:
        return run_dir, RunResult.from_summary(summary, stages)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{run_dir / 'summary.json'}: invalid ({exc})") from exc
