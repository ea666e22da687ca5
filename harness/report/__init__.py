"""Run results as JSON, and everything rendered from them: HTML, JUnit, summary.md, the gate."""

from __future__ import annotations

from harness.report._gate import GateOutcome, gate
from harness.report._junit import junit_tree, write_junit
from harness.report._markdown import format_value, summary_markdown
from harness.report._model import SCHEMA_VERSION, Distribution, ResultBase, RunResult, Series, StageResult, Window
from harness.report._render import environment, render_run, render_run_html, render_stage_html
from harness.report._series import latency_distributions, resource_series, sample_series
from harness.report._store import load_run, load_summary, new_run_id, resolve_run_dir, save_run, update_latest, write_json
from harness.report._svg import bar_chart, color_for, ecdf_chart, histogram_chart, line_chart

__all__ = [
    "SCHEMA_VERSION",
    "Distribution",
    "GateOutcome",
    "ResultBase",
    "RunResult",
    "Series",
    "StageResult",
    "Window",
    "bar_chart",
    "color_for",
    "ecdf_chart",
    "environment",
    "format_value",
    "gate",
    "histogram_chart",
    "junit_tree",
    "latency_distributions",
    "line_chart",
    "load_run",
    "load_summary",
    "new_run_id",
    "render_run",
    "render_run_html",
    "render_stage_html",
    "resolve_run_dir",
    "resource_series",
    "sample_series",
    "save_run",
    "summary_markdown",
    "update_latest",
    "write_json",
    "write_junit",
]
