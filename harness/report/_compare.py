"""Compare two saved runs of the same kind: what moved, by how much, beyond noise or not.

The engine's `--compare-to PATH|previous` calls `load_result` (or
`previous_run` for `previous`), then `compare_runs(before, after)`, and prints
or renders `comparison_markdown`. Checks are matched by stage, name and scope.
"Beyond noise" uses the checks' own intervals (`Check.interval`): two
intervals that do not overlap, or a value outside the other run's interval,
moved beyond noise; overlapping intervals did not; without intervals the
answer is unknown (None), never guessed from the size of the change.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from harness._exceptions import ReportError
from harness._verdicts import Check
from harness.report._markdown import escape_md, format_change, format_check
from harness.report._model import ResultBase, RunResult
from harness.report._store import load_run

__all__ = ["Movement", "compare_runs", "comparison_markdown", "load_result", "previous_run"]


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
        change = "—" if m.delta is None else format_change(m.delta, "ms" if m.unit == "ms" else m.unit)
        if m.relative is not None and m.unit != "ratio":
            change += f" ({m.relative * 100:+.0f} %)"
        noise = {True: "**yes**", False: "no", None: "unknown"}[m.beyond_noise]
        lines.append(f"| {stage} | {escape_md(m.name)} ({escape_md(m.scope)}) | {escape_md(b)} | {escape_md(a)} | "
                     f"{escape_md(change)} | {noise}: {escape_md(m.why)} |")
    lines.append(f"\n_{escape_md(after_id)} against {escape_md(before_id)}._\n")
    return "\n".join(lines)
