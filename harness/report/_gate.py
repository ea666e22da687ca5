"""The CI gate: read a saved run, recompute its verdict, and decide the exit code.

0 the rollout (or game day) passed; 1 an SLO, comparison or cost check failed
(the canary was rolled back); 2 the report is missing, invalid, incomplete,
inconclusive, of another kind than asked (`kind=`), or inconsistent.

The gate never trusts the top-level `verdict` alone: it recomputes each
stage's verdict from its checks and the run's from its stages and run-level
checks (`recompute`). A summary that claims PASS where the recomputed verdict
is not PASS (a failing check, a failing or incomplete stage, `exit_code` other
than 0) is rejected as inconsistent (`ReportError`, exit 2): a hand-edited or
half-written summary must never open the gate. Where the stated verdict is
worse than the recomputed one, the worse one counts.

A run is incomplete when `complete` is false or `incomplete` is true, at the
top or in any stage (docs/summary-schema.md); an incomplete run exits 2.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness._exceptions import ReportError
from harness._verdicts import Verdict, combine_verdicts, op_symbol
from harness.report._markdown import format_value
from harness.report._store import load_summary

__all__ = ["GateOutcome", "Recomputed", "gate", "print_gate", "recompute", "read_summary"]

_STYLE = {"pass": "bold green", "fail": "bold red", "inconclusive": "bold yellow"}
_KINDS = ("rollout", "gameday")
_CHECK_LISTS = ("checks", "comparisons", "cost")


@dataclass(frozen=True)
class GateOutcome:
    """The gate's decision and the summary it was based on."""

    exit_code: int
    message: str
    summary: dict[str, Any]


@dataclass(frozen=True)
class Recomputed:
    """The verdict recomputed from a summary's checks and stages."""

    verdict: Verdict
    complete: bool
    first_problem: str
    """Where the recomputed verdict comes from: the first non-passing item (`stages[0].checks[1] (name) is fail`)."""

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 inconclusive or incomplete."""
        return 2 if not self.complete else self.verdict.exit_code


def read_summary(path: str | Path) -> dict[str, Any]:
    """`load_summary`, with hostile files (non-UTF-8, 100k-deep JSON, huge numbers) as one-line ReportErrors."""
    try:
        return load_summary(path)
    except (UnicodeDecodeError, RecursionError, MemoryError) as exc:
        raise ReportError(f"{path}: not a readable summary.json ({type(exc).__name__})") from None
    except ValueError as exc:  # int() digit limit and friends from json.loads
        raise ReportError(f"{path}: not valid JSON ({str(exc).splitlines()[0][:120]})") from None
    except OSError as exc:
        raise ReportError(f"{path}: cannot read ({exc.strerror or exc})") from None


def _verdict_of(value: Any, where: str) -> Verdict:
    if not isinstance(value, str) or value not in ("pass", "fail", "inconclusive"):
        raise ReportError(f"{where}: verdict must be pass, fail or inconclusive, got {_short(value)}")
    return Verdict(value)


def _incomplete(entry: dict[str, Any], where: str) -> bool:
    complete, incomplete = entry.get("complete", True), entry.get("incomplete", False)
    if not isinstance(complete, bool) or not isinstance(incomplete, bool):
        raise ReportError(f"{where}: `complete` and `incomplete` must be true or false")
    return not complete or incomplete


def _checks(entry: dict[str, Any], lists: Iterable[str], where: str) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for key in lists:
        items = entry.get(key, [])
        if not isinstance(items, list):
            raise ReportError(f"{where}{key}: expected a list of checks")
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise ReportError(f"{where}{key}[{i}]: expected a check object")
            out.append((f"{where}{key}[{i}]", item))
    return out


def _worst(items: list[tuple[str, Verdict]]) -> tuple[Verdict, str]:
    verdict = combine_verdicts(v for _, v in items)
    return verdict, next((why for why, v in items if v is verdict), "")


def _judged(source: str, checks: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, Verdict]]:
    out = []
    for where, check in checks:
        verdict = _verdict_of(check.get("verdict"), f"{source}: {where}")
        out.append((f"{where} ({_short(check.get('name'), 60)}) is {verdict.value}", verdict))
    return out


def recompute(summary: dict[str, Any], source: str = "summary.json") -> Recomputed:
    """The verdict the summary's own checks and stages support; ReportError when a stage claims better.

    Stage: combine(its checks, comparisons, cost); an incomplete stage is never
    PASS; no checks is INCONCLUSIVE. Run: combine(stages, run-level checks
    (`run.checks` of a rollout, `checks` of a game day)); none at all is
    INCONCLUSIVE; an incomplete run is never PASS.
    """
    stages = summary.get("stages", [])
    if not isinstance(stages, list):
        raise ReportError(f"{source}: stages: expected a list")
    complete = not _incomplete(summary, source)
    judged: list[tuple[str, Verdict]] = []
    for i, stage in enumerate(stages):
        where = f"stages[{i}]"
        if not isinstance(stage, dict):
            raise ReportError(f"{source}: {where}: expected a stage object")
        items = _judged(source, _checks(stage, _CHECK_LISTS, f"{where}."))
        verdict, why = _worst(items)
        if not items:
            why = f"{where} judged nothing"
        if _incomplete(stage, f"{source}: {where}"):
            complete = False
            if verdict is Verdict.PASS:
                verdict, why = Verdict.INCONCLUSIVE, f"{where} is incomplete"
        stated = _verdict_of(stage.get("verdict"), f"{source}: {where}")
        if stated is Verdict.PASS and verdict is not Verdict.PASS:
            raise ReportError(f"{source}: inconsistent: {where} says pass but {why}")
        effective = combine_verdicts([stated, verdict])
        judged.append((why if effective is verdict else f"{where} says {stated.value}", effective))
    run_level = summary.get("run", {})
    if not isinstance(run_level, dict):
        raise ReportError(f"{source}: run: expected an object")
    judged += _judged(source, _checks(summary, ("checks",), "") + _checks(run_level, ("checks",), "run."))
    verdict, why = _worst(judged)
    if not judged:
        why = "no stage ran and no check was judged"
    if not complete and verdict is Verdict.PASS:
        verdict, why = Verdict.INCONCLUSIVE, "the run is incomplete"
    return Recomputed(verdict, complete, why)


def _short(value: Any, limit: int = 40) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_consistency(summary: dict[str, Any], recomputed: Recomputed, source: str) -> None:
    """A PASS claim must be backed by the recomputed verdict, `exit_code` and `failed_checks`."""
    stated = Verdict(summary["verdict"])
    exit_code = summary.get("exit_code")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise ReportError(f"{source}: exit_code: expected an integer, got {_short(exit_code)}")
    incomplete = not summary["complete"] or summary.get("incomplete") is True
    expected = 2 if incomplete else stated.exit_code
    if exit_code is not None and exit_code != expected:
        said = "an incomplete run" if incomplete else f"verdict {stated.value}"
        raise ReportError(f"{source}: inconsistent: {said} but exit_code {exit_code}")
    if stated is not Verdict.PASS:
        return
    if recomputed.verdict is not Verdict.PASS:
        raise ReportError(f"{source}: inconsistent: says pass but {recomputed.first_problem}")
    failed = summary.get("failed_checks", [])
    if not isinstance(failed, list) or any(not isinstance(f, dict) or f.get("verdict") != "pass" for f in failed):
        raise ReportError(f"{source}: inconsistent: says pass but failed_checks lists a non-passing check")


def gate(path: str | Path = "reports/latest", *, kind: str | None = None) -> GateOutcome:
    """Decide from `summary.json` (a run directory, its summary.json, or `latest`).

    `kind` (`rollout` or `gameday`): a report of another kind is refused
    (ReportError, exit 2), so a game day cannot open a rollout's gate.
    """
    summary = read_summary(path)
    source = str(Path(path) / "summary.json") if Path(path).name != "summary.json" else str(path)
    run_kind = summary.get("kind", "rollout")
    if kind is not None and run_kind != kind:
        raise ReportError(f"{source}: a {_short(run_kind)} report, not a {kind} report (gate --kind {kind})")
    recomputed = recompute(summary, source)
    _check_consistency(summary, recomputed, source)
    verdict = combine_verdicts([Verdict(summary["verdict"]), recomputed.verdict])
    what = f"{'game day' if run_kind == 'gameday' else str(run_kind)} {summary['run_id']}"
    if not recomputed.complete:
        reason = summary.get("incomplete_reason") or "the run stopped early"
        return GateOutcome(2, f"incomplete {what}: {reason}", summary)
    if verdict is Verdict.PASS:
        return GateOutcome(0, f"{what} passed", summary)
    reason = summary.get("reason") if verdict.value == summary["verdict"] else recomputed.first_problem
    reason = reason if isinstance(reason, str) else ""
    if verdict is Verdict.FAIL:
        return GateOutcome(1, f"{what} failed: {reason}".rstrip(": "), summary)
    return GateOutcome(2, f"{what} inconclusive: {reason}".rstrip(": "), summary)


def _all_checks(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for key in _CHECK_LISTS for c in stage.get(key, []) if isinstance(c, dict)]


def _number(value: Any, unit: str) -> str:
    if value is None or (isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)):
        return format_value(value, unit)
    return _short(value, 20)


def print_gate(outcome: GateOutcome, console: Console | None = None, *, all_checks: bool = False) -> None:
    """Print a rich table of the verdicts (non-passing checks, or all) and the decision.

    Every text from the file (run id, names, scopes, units) is escaped: a
    `[red]` in a run id is printed, never interpreted as markup.
    """
    out = console or Console()
    summary = outcome.summary
    table = Table(title=escape(f"run {summary['run_id']}"), show_lines=False)
    for col in ("stage", "verdict", "check", "value", "objective", "samples"):
        table.add_column(col, justify="right" if col in ("value", "objective", "samples") else "left")
    stages = summary.get("stages", [])
    groups = [(f"{st.get('weight')} %", str(st.get("verdict", "")), _all_checks(st)) for st in stages if isinstance(st, dict)]
    not_run = summary.get("stages_not_run", [])
    for entry in not_run if isinstance(not_run, list) else []:
        if isinstance(entry, dict):
            groups.append((f"{entry.get('weight')} %", "not run", []))
    run: dict[str, Any] = summary["run"] if isinstance(summary.get("run"), dict) else {}
    top = [*summary.get("checks", []), *run.get("checks", [])]  # a game day (or any run) judged as a whole
    if top:
        groups.append(("run", str(summary["verdict"]), [c for c in top if isinstance(c, dict)]))
    for label, verdict, checks in groups:
        what = "(all checks)" if verdict != "not run" else (
            "rolled back before this stage" if summary.get("rolled_back") else "the run stopped before this stage")
        table.add_row(escape(label), f"[{_STYLE.get(verdict, 'dim')}]{escape(verdict)}[/]", what, "", "", "")
        for c in checks:
            if not all_checks and c.get("verdict") == "pass":
                continue
            unit = c.get("unit", "") if isinstance(c.get("unit", ""), str) else ""
            op = c.get("op", "")
            table.add_row(
                "",
                f"[{_STYLE.get(str(c.get('verdict', '')), '')}]{escape(str(c.get('verdict')))}[/]",
                escape(f"{c.get('name')} ({c.get('scope', 'all')})"),
                escape(_number(c.get("value"), unit)),
                escape(f"{op_symbol(op) if isinstance(op, str) else ''} {_number(c.get('objective'), unit)}"),
                escape(str(c.get("samples", ""))),
            )
    out.print(table)
    style = {0: "bold green", 1: "bold red"}.get(outcome.exit_code, "bold yellow")
    out.print(f"[{style}]{escape(outcome.message)}[/] (exit {outcome.exit_code})", highlight=False)
