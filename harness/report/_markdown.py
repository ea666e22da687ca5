"""summary.md: the run in a form that fits a CI job summary or a PR comment.

Short on purpose (GitHub caps a job summary at 1 MiB): the verdict, why, one
row per stage, then every non-passing check, then each stage's checks folded.
"""

from __future__ import annotations

from harness._verdicts import Check, Verdict
from harness.report._model import RunResult

__all__ = ["summary_markdown", "format_value", "format_change", "format_check"]

_ICON = {Verdict.PASS: "✅", Verdict.FAIL: "❌", Verdict.INCONCLUSIVE: "⚠️"}


def format_value(value: float | None, unit: str) -> str:
    """Human form of a check value: ratios as %, ms with one decimal."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.2f} %"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "s":
        return f"{value:.2f} s"
    return f"{value:.4g} {unit}".strip()


_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


def format_change(value: float | None, unit: str) -> str:
    """A difference as a difference: `+52.0 ms`, `+0.10 pp` (ratio points), `+108 %` (relative)."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:+.2f} pp"
    if unit == "relative":
        return f"{value * 100:+.0f} %" if abs(value) >= 0.1 else f"{value * 100:+.1f} %"
    return f"{value:+.1f} {unit}".strip() if unit == "ms" else f"{value:+.4g} {unit}".strip()


def format_check(check: Check, which: str = "value") -> str:
    """A check's value (or objective) as it reads: comparisons and cost are changes over the baseline."""
    number = check.value if which == "value" else check.objective
    if check.kind == "cost" and check.unit == "ratio":
        return format_change(number, "relative")
    if check.kind == "comparison":
        return format_change(number, check.unit)
    return format_value(number, check.unit)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _row(check: Check, stage: int | None = None) -> str:
    cells = [] if stage is None else [f"{stage} %"]
    cells += [
        f"{_ICON[check.verdict]} {check.verdict.value}",
        f"`{_cell(check.name)}` ({_cell(check.scope)})",
        format_value(check.value, check.unit),
        f"{_OPS.get(check.op, check.op)} {format_value(check.objective, check.unit)}",
        str(check.samples),
        _cell(check.detail),
    ]
    return "| " + " | ".join(cells) + " |"


def summary_markdown(run: RunResult) -> str:
    """Markdown for `summary.md`."""
    lines = [f"## {_ICON[run.verdict]} Rollout {run.verdict.value.upper()} — `{run.run_id}`", ""]
    if not run.complete:
        lines += [f"> **Incomplete run:** {run.incomplete_reason or 'stopped early'}", ""]
    if run.reason:
        lines += [f"**{run.reason}**", ""]
    if run.rolled_back:
        lines += ["The canary was **rolled back** (weight 0).", ""]
    lines += ["| stage | verdict | requests (baseline / canary) | checks | duration |", "|---|---|---|---|---|"]
    for s in run.stages:
        passed = sum(c.verdict is Verdict.PASS for c in s.checks)
        reqs = f"{s.requests.get('baseline', 0)} / {s.requests.get('canary', 0)}"
        lines.append(
            f"| {s.weight} % | {_ICON[s.verdict]} {s.verdict.value} | {reqs} | {passed}/{len(s.checks)} pass | {s.duration_s:.0f} s |"
        )
    header = "| stage | verdict | check | value | objective | samples | detail |\n|---|---|---|---|---|---|---|"
    bad = [(s.weight, c) for s in run.stages for c in s.failed_checks()]
    if bad:
        lines += ["", "### Checks that did not pass", "", header]
        lines += [_row(c, w) for w, c in bad]
    for s in run.stages:
        lines += ["", f"<details><summary>Stage {s.weight} %: {len(s.checks)} checks</summary>", "",
                  header.replace("| stage ", "").replace("|---|---|", "|---|", 1)]
        lines += [_row(c) for c in s.checks]
        lines += ["", "</details>"]
    lines.append("")
    return "\n".join(lines)
