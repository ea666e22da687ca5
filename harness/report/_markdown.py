"""summary.md: the run in a form that fits a CI job summary or a PR comment.

Short on purpose (GitHub caps a job summary at 1 MiB): the verdict, why, one
row per stage, then every non-passing check, then each stage's checks folded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from harness._verdicts import Check, Verdict, op_symbol
from harness.report._model import RunResult

__all__ = ["summary_markdown", "format_value", "format_change", "format_check", "escape_md", "check_rows", "CHECK_HEADER", "display_unit"]

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




def format_change(value: float | None, unit: str) -> str:
    """A difference as a difference: `+52.0 ms`, `+0.10 pp` (ratio points), `+108 %` (relative)."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:+.2f} pp"
    if unit == "relative":
        return f"{value * 100:+.0f} %" if abs(value) >= 0.1 else f"{value * 100:+.1f} %"
    return f"{value:+.1f} {unit}".strip() if unit == "ms" else f"{value:+.4g} {unit}".strip()


def display_unit(check: Check) -> Check:
    """The check with the unit it is shown in: an SLO on `ratio(not ok)` saved without a unit is a ratio.

    SLO checks of the `harness` source carry the indicator's unit, and a
    ratio query has none; shown as `0.01` an error objective reads as a count.
    """
    if not check.unit and check.objective is not None and 0 < check.objective < 1 and (
            "ratio" in check.name or "error" in check.name):
        return replace(check, unit="ratio")
    return check


def format_check(check: Check, which: str = "value") -> str:
    """A check's value (or objective) as it reads: comparisons and cost are changes over the baseline."""
    check = display_unit(check)
    number = check.value if which == "value" else check.objective
    if check.kind == "cost" and check.unit == "ratio":
        return format_change(number, "relative")
    if check.kind == "comparison":
        return format_change(number, check.unit)
    return format_value(number, check.unit)


_ESCAPE = str.maketrans({c: "\\" + c for c in "\\`*_[]|~"} | {"<": "&lt;", ">": "&gt;", "&": "&amp;"})


def escape_md(text: object) -> str:
    """Text safe in a Markdown table cell that GitHub also renders as HTML ($GITHUB_STEP_SUMMARY).

    Markdown's inline punctuation (emphasis, code, links, table pipes) is backslash-escaped, `<`, `>` and `&` become
    entities (a check or instance named `<b>x</b>` stays text), newlines spaces.
    """
    return str(text).replace("\r", " ").replace("\n", " ").translate(_ESCAPE)


def _row(check: Check, stage: int | None = None) -> str:
    cells = [] if stage is None else [f"{stage} %"]
    cells += [
        f"{_ICON[check.verdict]} {check.verdict.value}",
        f"**{escape_md(check.name)}** ({escape_md(check.scope)})",
        escape_md(format_check(check)),
        escape_md("—" if check.objective is None else f"{op_symbol(check.op)} {format_check(check, 'objective')}"),
        str(check.samples),
        escape_md(check.detail),
    ]
    return "| " + " | ".join(cells) + " |"


CHECK_HEADER = "| verdict | check | value | objective | samples | detail |\n|---|---|---|---|---|---|"
"""The table every summary.md uses for checks (a `stage` column is prepended for rollouts)."""


def check_rows(checks: Sequence[Check], stage: int | None = None) -> list[str]:
    """Rows for `CHECK_HEADER`."""
    return [_row(c, stage) for c in checks]


def links_line(items: Sequence[tuple[str, str]]) -> str:
    """`[HTML report](index.html) · [summary.json](summary.json) · …` (paths relative to summary.md)."""
    return " · ".join(f"[{escape_md(label)}]({href})" for label, href in items)


def why_lines(checks: Sequence[Check]) -> list[str]:
    """The diagnosis sentence of each check that did not pass, as a quote block."""
    from harness.report._explain import explain

    return [f"> {_ICON[c.verdict]} {escape_md(explain(c))}  " for c in checks]


def summary_markdown(run: RunResult) -> str:
    """Markdown for a rollout's `summary.md` (the game day's has the same shape: `harness.report._gameday`)."""
    from harness.report._explain import key_failures

    lines = [f"## {_ICON[run.verdict]} Rollout {run.verdict.value.upper()} — {escape_md(run.run_id)}", ""]
    if not run.complete:
        lines += [f"> **Incomplete run:** {escape_md(run.incomplete_reason or 'stopped early')}", ""]
    if run.reason:
        lines += [f"**{escape_md(run.reason)}**", ""]
    failing = next((s for s in run.stages if s.verdict is not Verdict.PASS), None)
    if failing is not None and key_failures(failing):
        lines += why_lines(key_failures(failing)) + [""]
    not_run = run.stages_not_run
    skipped = f"; stage{'s' if len(not_run) > 1 else ''} {', '.join(f'{w} %' for w in not_run)} did not run" if not_run else ""
    if run.rolled_back:
        lines += [f"The canary was **rolled back to 0 %**{skipped}.", ""]
    elif not_run:
        lines += [f"Not every stage ran{skipped}.", ""]
    lines += [links_line([("HTML report", "index.html"), ("summary.json", "summary.json"), ("junit.xml", "junit.xml")])
              + f" (in `reports/{run.run_id}/`)", ""]
    lines += ["| stage | verdict | requests (baseline / canary) | checks | duration |", "|---|---|---|---|---|"]
    ran = {s.weight: s for s in run.stages}
    for w in run.planned_stages:
        s = ran.get(w)
        if s is None:
            lines.append(f"| {w} % | ⏭️ not run | — | — | — |")
            continue
        passed = sum(c.verdict is Verdict.PASS for c in s.checks)
        reqs = f"{s.requests.get('baseline', 0)} / {s.requests.get('canary', 0)}"
        lines.append(f"| [{s.weight} %]({s.directory}/index.html) | {_ICON[s.verdict]} {s.verdict.value} | {reqs} | "
                     f"{passed}/{len(s.checks)} pass | {s.duration_s:.0f} s |")
    bad = [(s.weight, c) for s in run.stages for c in s.failed_checks()]
    if bad:
        lines += ["", "### Checks that did not pass", "", "| stage " + CHECK_HEADER.replace("\n|", "\n|---|", 1)]
        lines += [_row(c, w) for w, c in bad]
    for s in run.stages:
        lines += ["", f"<details><summary>Stage {s.weight} %: {len(s.checks)} checks</summary>", "", CHECK_HEADER]
        lines += check_rows(s.checks)
        lines += ["", "</details>"]
    lines.append("")
    return "\n".join(lines)
