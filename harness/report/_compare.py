"""Compare two saved runs of the same kind: what moved, by how much, beyond noise or not.

`--compare-to PATH|previous` (rollout, gameday, report) checks PATH before
the run starts (`resolve_compare_to`), records the pair beside the run
(`comparison.json`, so `harness report` re-renders keep it), and the HTML run
page, summary.md and the terminal show `compare_runs(before, after)`. Checks are matched by stage, name and scope.
"Beyond noise" uses the checks' own intervals (`Check.interval`): two
intervals that do not overlap, or a value outside the other run's interval,
moved beyond noise; overlapping intervals did not; without intervals the
answer is unknown (None), never guessed from the size of the change.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path

from harness._exceptions import ConfigError, ReportError
from harness._verdicts import Check
from harness.report._markdown import escape_md, format_change, format_check
from harness.report._model import ResultBase, RunResult
from harness.report._store import load_run, write_json

__all__ = [
    "COMPARISON_FILE", "Movement", "change_text", "compare_runs", "comparison_lines", "comparison_markdown", "load_result",
    "movement_line", "previous_run", "record_comparison", "recorded_comparison", "resolve_compare_to",
]


@dataclass(frozen=True)
class Movement:
    """One check in both runs (or in only one of them) and how it moved."""

    stage: int | None
    """The rollout stage's weight; None for a game day or a run-level check."""
    name: str
    scope: str
    unit: str
    before: Check | None
    after: Check | None
    delta: float | None
    """after.value - before.value, in the check's unit (a relative check's delta is in its ratio)."""
    relative: float | None
    """delta / |before.value| (None when before is 0 or missing)."""
    beyond_noise: bool | None
    """True when the intervals say the change is real, False when they overlap, None when unknown."""
    why: str

    @property
    def verdict_changed(self) -> bool:
        return (self.before is None) != (self.after is None) or (
            self.before is not None and self.after is not None and self.before.verdict is not self.after.verdict)


def load_result(path: str | Path) -> ResultBase:
    """A rollout's `RunResult` or a game day's `GameDayResult`, whichever kind is saved at `path`."""
    p = Path(path)
    run_dir = p.parent if p.name in ("summary.json", "report.json") else p
    try:
        kind = json.loads((run_dir / "summary.json").read_text()).get("kind", "rollout")
    except (OSError, ValueError, AttributeError) as exc:
        raise ReportError(f"{run_dir}: no readable summary.json ({exc})") from None
    if kind == "gameday":
        from harness.report._gameday import load_gameday

        return load_gameday(run_dir)[1]
    return load_run(run_dir)[1]


def previous_run(run_dir: str | Path, reports: str | Path | None = None) -> Path | None:
    """The newest run in `reports` (default: the run's parent) of the same kind that started before this one."""
    here = Path(run_dir).resolve()
    summary = json.loads((here / "summary.json").read_text())
    kind, started = summary.get("kind", "rollout"), float(summary.get("started_at", math.inf))
    best: tuple[float, Path] | None = None
    for candidate in Path(reports or here.parent).iterdir():
        file = candidate / "summary.json"
        if candidate.is_symlink() or candidate.resolve() == here or not file.is_file():
            continue
        try:
            other = json.loads(file.read_text())
        except (OSError, ValueError):
            continue
        when = other.get("started_at")
        if other.get("kind", "rollout") == kind and isinstance(when, (int, float)) and when < started:
            if best is None or when > best[0]:
                best = (float(when), candidate)
    return best[1] if best else None


def _checks(result: ResultBase) -> dict[tuple[int | None, str, str], Check]:
    out: dict[tuple[int | None, str, str], Check] = {}
    if isinstance(result, RunResult):
        for s in result.stages:
            for c in s.checks:
                out[(s.weight, c.name, c.scope)] = c
    for c in result.checks:
        out[(None, c.name, c.scope)] = c
    return out


def _noise(before: Check, after: Check) -> tuple[bool | None, str]:
    a, b = before.interval, after.interval
    if a is not None and b is not None:
        if a[1] < b[0] or b[1] < a[0]:
            return True, "intervals do not overlap"
        return False, "within both runs' intervals"
    for iv, value, which in ((a, after.value, "before"), (b, before.value, "after")):
        if iv is not None and value is not None:
            inside = iv[0] <= value <= iv[1]
            return (not inside), f"{'inside' if inside else 'outside'} the {which} run's interval"
    return None, "no interval recorded: cannot tell noise from change"


def compare_runs(before: ResultBase, after: ResultBase) -> list[Movement]:
    """Every check of either run, matched by (stage, name, scope); beyond-noise moves and verdict changes first."""
    kinds = (getattr(before, "kind", "rollout"), getattr(after, "kind", "rollout"))
    if kinds[0] != kinds[1]:
        raise ReportError(f"cannot compare a {kinds[0]} with a {kinds[1]}: compare runs of the same kind")
    old, new = _checks(before), _checks(after)
    moves: list[Movement] = []
    for key in list(old) + [k for k in new if k not in old]:
        b, a = old.get(key), new.get(key)
        either = a or b
        unit = either.unit if either is not None else ""
        if b is None or a is None:
            moves.append(Movement(key[0], key[1], key[2], unit, b, a, None, None, None,
                                  "only in the newer run" if b is None else "only in the older run"))
            continue
        delta = a.value - b.value if a.value is not None and b.value is not None else None
        relative = delta / abs(b.value) if delta is not None and b.value else None
        noisy, why = _noise(b, a) if delta is not None else (None, "no value in one of the runs")
        moves.append(Movement(key[0], key[1], key[2], unit, b, a, delta, relative, noisy, why))
    moves.sort(key=lambda m: (not m.beyond_noise, not m.verdict_changed, -abs(m.relative or 0.0)))
    return moves


def comparison_markdown(moves: list[Movement], before_id: str, after_id: str) -> str:
    """A table of what moved: check, before → after, change, beyond noise."""
    lines = [f"### Compared with {escape_md(before_id)}", "",
             "| stage | check | before | after | change | beyond noise |", "|---|---|---|---|---|---|"]
    for m in moves:
        stage = f"{m.stage} %" if m.stage is not None else "run"
        b = "—" if m.before is None else f"{format_check(m.before)} ({m.before.verdict.value})"
        a = "—" if m.after is None else f"{format_check(m.after)} ({m.after.verdict.value})"
        change = change_text(m)
        noise = {True: "**yes**", False: "no", None: "unknown"}[m.beyond_noise]
        lines.append(f"| {stage} | {escape_md(m.name)} ({escape_md(m.scope)}) | {escape_md(b)} | {escape_md(a)} | "
                     f"{escape_md(change)} | {noise}: {escape_md(m.why)} |")
    lines.append(f"\n_{escape_md(after_id)} against {escape_md(before_id)}._\n")
    return "\n".join(lines)


COMPARISON_FILE = "comparison.json"
"""Beside a run's summary.json: which run it is compared with (`{"before": PATH}`), kept for re-renders."""


def resolve_compare_to(value: str, *, kind: str, reports: str | Path, run_dir: str | Path | None = None) -> Path | None:
    """The run directory `--compare-to PATH|previous` names, checked before anything starts.

    `previous`: the newest earlier run of `kind` in `reports` (None when there
    is none yet, or `run_dir` is not known yet). A PATH that is not a saved
    run of `kind` is a `ConfigError` naming the flag (exit 2).
    """
    if value == "previous":
        if run_dir is None:
            return None
        return previous_run(run_dir, reports if Path(reports).is_dir() else None)
    path = Path(value)
    run = path.parent if path.name in ("summary.json", "report.json") else path
    try:
        other = json.loads((run / "summary.json").read_text())
        other_kind = other.get("kind", "rollout")
    except (OSError, ValueError, AttributeError, RecursionError, MemoryError) as exc:
        reason = "no such directory" if not run.exists() else f"no readable summary.json ({type(exc).__name__})"
        raise ConfigError(f"{value}: {reason}; give a run directory or `previous`", field="--compare-to") from None
    if other_kind != kind:
        raise ConfigError(f"{value} is a {other_kind} run, not a {kind} run", field="--compare-to")
    return run


def record_comparison(run_dir: str | Path, before: str | Path) -> None:
    """Remember that the run at `run_dir` is compared with `before` (re-renders keep the comparison).

    The path is relative to the run, so a reports directory moved or archived
    as a whole (a CI artifact) keeps its comparisons.
    """
    write_json(Path(run_dir) / COMPARISON_FILE,
               {"before": os.path.relpath(Path(before).resolve(), Path(run_dir).resolve())})


def recorded_comparison(run_dir: str | Path, after: ResultBase) -> tuple[str, list[Movement]] | None:
    """(the earlier run's id, its movements) when `run_dir` records a comparison that still loads, else None."""
    file = Path(run_dir) / COMPARISON_FILE
    if not file.is_file():
        return None
    try:
        before_dir = Path(run_dir) / json.loads(file.read_text())["before"]  # an absolute path stays absolute
        before = load_result(before_dir)
        moves = compare_runs(before, after)
    except (OSError, ValueError, KeyError, TypeError, ReportError):
        return None
    return str(getattr(before, "run_id", before_dir.name)), moves


def _side(check: Check | None) -> str:
    return "—" if check is None else f"{format_check(check)} ({check.verdict.value})"


def change_text(m: Movement) -> str:
    """`+51.0 ms (+124 %)`, `+0.40 pp`, or `—` when one side has no value."""
    if m.delta is None:
        return "—"
    text = format_change(m.delta, m.unit)
    already_a_change = any(c is not None and c.kind in ("comparison", "cost") for c in (m.before, m.after))
    if m.relative is not None and m.unit != "ratio" and not already_a_change:  # "+5100 %" of a difference says nothing
        text += f" ({m.relative * 100:+.0f} %)"
    return text


def movement_line(m: Movement) -> str:
    """`10 % compare/latency (canary): 41 ms (pass) → 92 ms (fail), +51.0 ms (+124 %): beyond noise (…)`."""
    stage = f"{m.stage} % " if m.stage is not None else ""
    change = "" if m.delta is None else ", " + change_text(m)
    noise = {True: "beyond noise", False: "within noise", None: "noise unknown"}[m.beyond_noise]
    return f"{stage}{m.name} ({m.scope}): {_side(m.before)} → {_side(m.after)}{change}: {noise} ({m.why})"


def comparison_lines(moves: list[Movement], before_id: str, limit: int = 8) -> list[str]:
    """The terminal's account: how many checks moved beyond noise, then those (and verdict changes) one a line."""
    real = [m for m in moves if m.beyond_noise]
    changed = [m for m in moves if m.verdict_changed and not m.beyond_noise]
    head = (f"compared with {before_id}: {len(real)} of {len(moves)} checks moved beyond noise"
            + (f", {len(changed)} more changed verdict" if changed else ""))
    shown = (real + changed)[:limit]
    more = len(real) + len(changed) - len(shown)
    return [head] + [f"  {movement_line(m)}" for m in shown] + ([f"  … {more} more in the report"] if more > 0 else [])
