"""The CI gate: read a saved run and decide the exit code.

0 the rollout (or game day) passed; 1 an SLO, comparison or cost check failed (the canary
was rolled back); 2 the report is missing, invalid, incomplete or
inconclusive. Missing or invalid reports raise `ReportError` (exit 2, one
line); an incomplete run is a readable report whose verdict cannot be trusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.report._markdown import format_value
from harness.report._store import load_summary

__all__ = ["GateOutcome", "gate", "print_gate"]

_STYLE = {"pass": "bold green", "fail": "bold red", "inconclusive": "bold yellow"}
_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


@dataclass(frozen=True)
class GateOutcome:
    """The gate's decision and the summary it was based on."""

    exit_code: int
    message: str
    summary: dict[str, Any]


def gate(path: str | Path = "reports/latest") -> GateOutcome:
    """Decide from `summary.json` (a run directory, its summary.json, or `latest`)."""
    summary = load_summary(path)
    verdict = summary["verdict"]
    kind = summary.get("kind", "rollout")
    what = f"{'game day' if kind == 'gameday' else kind} {summary['run_id']}"
    if not summary["complete"]:
        reason = summary.get("incomplete_reason") or "the run stopped early"
        return GateOutcome(2, f"incomplete {what}: {reason}", summary)
    if verdict == "pass":
        return GateOutcome(0, f"{what} passed", summary)
    reason = summary.get("reason") or ""
    if verdict == "fail":
        return GateOutcome(1, f"{what} failed: {reason}".rstrip(": "), summary)
    return GateOutcome(2, f"{what} inconclusive: {reason}".rstrip(": "), summary)


def _checks(stage: dict[str, Any]) -> list[dict[str, Any]]:
    return [*stage.get("checks", []), *stage.get("comparisons", []), *stage.get("cost", [])]


def print_gate(outcome: GateOutcome, console: Console | None = None, *, all_checks: bool = False) -> None:
    """Print a rich table of the verdicts (non-passing checks, or all) and the decision."""
    out = console or Console()
    table = Table(title=f"run {outcome.summary['run_id']}", show_lines=False)
    for col in ("stage", "verdict", "check", "value", "objective", "samples"):
        table.add_column(col, justify="right" if col in ("value", "objective", "samples") else "left")
    groups = [(f"{st.get('weight')} %", st.get("verdict", ""), _checks(st)) for st in outcome.summary["stages"]]
    top = outcome.summary.get("checks")
    if isinstance(top, list) and top:  # a game day (or any run) judged as a whole
        groups.append(("run", outcome.summary["verdict"], top))
    for label, verdict, checks in groups:
        table.add_row(label, f"[{_STYLE.get(verdict, '')}]{verdict}[/]", "(all checks)", "", "", "")
        for c in checks:
            if not all_checks and c.get("verdict") == "pass":
                continue
            unit = c.get("unit", "")
            table.add_row(
                "",
                f"[{_STYLE.get(c.get('verdict', ''), '')}]{c.get('verdict')}[/]",
                escape(f"{c.get('name')} ({c.get('scope', 'all')})"),
                format_value(c.get("value"), unit),
                f"{_OPS.get(c.get('op', ''), c.get('op', ''))} {format_value(c.get('objective'), unit)}",
                str(c.get("samples", "")),
            )
    out.print(table)
    style = {0: "bold green", 1: "bold red"}.get(outcome.exit_code, "bold yellow")
    out.print(f"[{style}]{escape(outcome.message)}[/] (exit {outcome.exit_code})", highlight=False)
