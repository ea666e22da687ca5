"""Run results as JSON, and everything rendered from them: HTML, JUnit, summary.md, the gate, comparisons."""

from __future__ import annotations

from harness.report._compare import (
    Movement,
    compare_runs,
    comparison_lines,
    comparison_markdown,
    load_result,
    previous_run,
    resolve_compare_to,
)
from harness.report._explain import explain, reproduce_command
from harness.report._gate import GateOutcome, gate
from harness.report._junit import junit_tree, write_junit
from harness.report._markdown import escape_md, format_check, format_value, summary_markdown
from harness.report._model import SCHEMA_VERSION, Distribution, ResultBase, RunResult, Series, StageResult, Window
from harness.report._render import environment, render_run, render_run_html, render_stage_html
from harness.report._series import cost_series, endpoint_stats, latency_distributions, resource_series, sample_series
from harness.report._store import (
    latest_of,
    load_run,
    load_summary,
    new_run_id,
    resolve_run_dir,
    save_run,
    update_latest,
    write_json,
)
from harness.report._svg import Mark, Rule, bar_chart, color_for, ecdf_chart, histogram_chart, interval_chart, line_chart

__all__ = [
    "SCHEMA_VERSION",
    "Distribution",
    "GateOutcome",
    "Mark",
    "Movement",
    "ResultBase",
    "Rule",
    "RunResult",
    "Series",
    "StageResult",
    "Window",
    "bar_chart",
    "color_for",
    "compare_runs",
    "comparison_lines",
    "comparison_markdown",
    "cost_series",
    "ecdf_chart",
    "endpoint_stats",
    "environment",
    "escape_md",
    "explain",
    "format_check",
    "format_value",
    "gate",
    "histogram_chart",
    "interval_chart",
    "junit_tree",
    "latency_distributions",
    "latest_of",
    "line_chart",
    "load_result",
    "load_run",
    "load_summary",
    "new_run_id",
    "previous_run",
    "render_run",
    "render_run_html",
    "render_stage_html",
    "reproduce_command",
    "resolve_compare_to",
    "resolve_run_dir",
    "resource_series",
    "sample_series",
    "save_run",
    "summary_markdown",
    "update_latest",
    "write_json",
    "write_junit",
]
