"""Render a saved run into HTML, JUnit and Markdown — always from disk.

`render_run(path)` loads summary.json and each stage's report.json and writes
the derived files beside them: `index.html`, `summary.md`, `junit.xml`, and per
stage `index.html` + `junit.xml`. `environment()` is the Jinja2 environment
(autoescape on) with the chart helpers as globals, for other reports to reuse
(`_base.html.j2` and `_macros.html.j2` are meant to be extended/imported).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path
from typing import Any

import jinja2

import harness
from harness._verdicts import Check
from harness.report._junit import write_junit
from harness.report._markdown import format_value, summary_markdown
from harness.report._model import ResultBase, RunResult, Series, StageResult, Window
from harness.report._store import load_run
from harness.report._svg import bar_chart, ecdf_chart, histogram_chart, line_chart

__all__ = ["environment", "render_run", "render_stage_html", "render_run_html"]

_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}


def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else "—"


def _series(result: ResultBase, chart: str) -> list[Series]:
    return [s for s in result.series if s.chart == chart]


def _cold_bars(cold: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(str(c.get("instance", "?")), float(c.get("seconds", 0.0))) for c in cold if c.get("seconds") is not None]


def _compare_side(check: Check, side: str) -> str:
    x = check.extra
    for key, unit in (("median_ms", "ms"), ("quantile_ms", "ms"), ("error_ratio", "ratio")):
        if f"{side}_{key}" in x:
            return format_value(x[f"{side}_{key}"], unit)
    if isinstance(x.get(side), dict) and x[side].get("cost_per_million") is not None:
        return f"{x[side]['cost_per_million']:.2f} {x[side].get('currency', '')}/M"
    return "—"


@functools.cache
def environment() -> jinja2.Environment:
    """The reports' Jinja2 environment: autoescape on, chart helpers as globals."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("harness.report", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(
        line_chart=line_chart,
        histogram_chart=histogram_chart,
        ecdf_chart=ecdf_chart,
        bar_chart=bar_chart,
        fmt=format_value,
        op=lambda o: _OPS.get(o, o),
        when=_when,
        series=_series,
        cold_bars=_cold_bars,
        compare_side=_compare_side,
        version=harness.__version__,
    )
    return env


def render_stage_html(stage: StageResult, run_id: str) -> str:
    """One stage's page."""
    return environment().get_template("stage.html.j2").render(stage=stage, run_id=run_id)


def render_run_html(run: RunResult) -> str:
    """The run's page: verdict, stages, every check, charts across stages."""
    offsets: list[float] = []
    windows: list[Window] = []
    for s in run.stages:
        offset = s.started_at - run.started_at if run.started_at else 0.0
        offsets.append(offset)
        windows.append(Window(offset, offset + s.duration_s, f"{s.weight} %", kind="stage"))

    def run_series(chart: str, prefix: str) -> list[Series]:
        merged: dict[str, Series] = {}
        for s, offset in zip(run.stages, offsets):
            for line in _series(s, chart):
                if not line.name.startswith(prefix):
                    continue
                target = merged.setdefault(line.name, Series(line.name, chart, [], [], line.unit))
                target.t.extend(t + offset for t in line.t)
                target.y.extend(line.y)
        return list(merged.values())

    return environment().get_template("run.html.j2").render(run=run, run_series=run_series, stage_windows=windows)


def render_run(path: str | Path) -> Path:
    """Rebuild every derived file of the run at `path` from its saved JSON."""
    run_dir, run = load_run(path)
    for stage in run.stages:
        out = run_dir / stage.directory
        (out / "index.html").write_text(render_stage_html(stage, run.run_id))
        write_junit([(f"{run.run_id}.{stage.directory}", stage)], out / "junit.xml")
    (run_dir / "index.html").write_text(render_run_html(run))
    (run_dir / "summary.md").write_text(summary_markdown(run))
    write_junit([(f"{run.run_id}.{s.directory}", s) for s in run.stages], run_dir / "junit.xml")
    return run_dir
