"""Render a saved run into HTML, JUnit and Markdown — always from disk.

`render_run(path)` loads summary.json and each stage's report.json and writes
the derived files beside them: `index.html`, `summary.md`, `junit.xml`, and per
stage `index.html` + `junit.xml`. `environment()` is the Jinja2 environment
(autoescape on) with the chart helpers as globals, for other reports to reuse
(`_base.html.j2` and `_macros.html.j2` are meant to be extended/imported).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2

import harness
from harness._verdicts import Check, op_symbol
from harness.report._explain import (
    anchor,
    check_card_chart,
    check_chart,
    drivers,
    explain,
    fault_marks,
    judged_window,
    key_failures,
    reproduce_command,
)
from harness.report._compare import change_text, comparison_markdown, recorded_comparison
from harness.report._junit import write_junit
from harness.report._markdown import display_unit, format_check, format_value, summary_markdown
from harness.report._model import ResultBase, RunResult, Series, StageResult, Window
from harness.report._store import load_run
from harness.report._svg import Rule, bar_chart, ecdf_chart, histogram_chart, line_chart

if TYPE_CHECKING:
    from harness.report._compare import Movement

__all__ = ["environment", "render_run", "render_stage_html", "render_run_html", "stage_steps"]



def _when(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if epoch else "—"


def _series(result: ResultBase, chart: str) -> list[Series]:
    return [s for s in result.series if s.chart == chart]


def _cold_bars(cold: list[dict[str, Any]]) -> list[tuple[str, float]]:
    """One bar per start; an instance started twice (a restart) is labelled, not listed twice under one name."""
    seen: dict[tuple[str, float], None] = {}
    for c in cold:
        if c.get("seconds") is not None:
            seen.setdefault((str(c.get("instance", "?")), round(float(c["seconds"]), 3)), None)
    counts: dict[str, int] = {}
    out = []
    for name, seconds in seen:
        counts[name] = counts.get(name, 0) + 1
        out.append((name if counts[name] == 1 else f"{name} (start {counts[name]})", seconds))
    return out


def _cold_objective(result: ResultBase) -> Rule | None:
    """The cold-start objective from the result's cold-start check (e.g. 2 s), if it has one."""
    for c in result.checks:
        if c.kind == "coldstart" and c.objective is not None:
            return Rule(c.objective, "objective")
    return None


def _rules(result: ResultBase, unit: str) -> list[Rule]:
    """Objective lines for a chart of `unit` from the result's absolute SLO checks (one per value)."""
    out: dict[float, Rule] = {}
    for c in map(display_unit, result.checks):
        if c.kind == "slo" and c.unit == unit and c.objective is not None:
            out.setdefault(c.objective, Rule(c.objective, c.name))
    return list(out.values())


def _fmt_interval(check: Check) -> str:
    assert check.interval is not None
    low, high = check.interval
    def side(v: float) -> str:
        if math.isinf(v):
            return "−∞" if v < 0 else "+∞"
        return format_check(replace(check, value=v))
    return f"{side(low)} … {side(high)}"


def _files(directory: Path | None, names: list[tuple[str, str]], prefix: str = "") -> list[tuple[str, str]]:
    """(label, href) for each file that exists under `directory` (all of them when it is unknown)."""
    out = []
    for label, name in names:
        if directory is None or (directory / name).exists():
            out.append((label, prefix + name))
    return out


_STAGE_FILES = [("locust.log", "locust.log"), ("samples", "samples.arrow"), ("load verdict", "verdict.json")]
"""Written by the load run, not by the report: linked only when present."""
_RUN_FILES = [("summary.json", "summary.json"), ("summary.md", "summary.md"), ("junit.xml", "junit.xml")]


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
        op=op_symbol,
        when=_when,
        series=_series,
        cold_bars=_cold_bars,
        compare_side=_compare_side,
        cold_objective=_cold_objective,
        fmt_check=format_check,
        latency_rules=lambda r: _rules(r, "ms"),
        error_rules=lambda r: _rules(r, "ratio"),
        fmt_interval=_fmt_interval,
        anchor=anchor,
        explain=explain,
        drivers=drivers,
        check_chart=check_chart,
        check_card_chart=check_card_chart,
        key_failures=key_failures,
        judged_window=judged_window,
        fault_marks=fault_marks,
        change_of=change_text,
        version=harness.__version__,
    )
    return env


def decided_text(stage: StageResult) -> str:
    """`decided after 12 s` (the sequential judge stopped the stage early), else ``."""
    return "" if stage.decided_after_s is None else f"decided after {stage.decided_after_s:.0f} s"


def stage_steps(run: RunResult, href: str = "{}/index.html") -> list[tuple[int, str, str, str]]:
    """(weight, verdict or "not run", link, when it was decided) for every planned stage, in order."""
    ran = {s.weight: s for s in run.stages}
    return [(w, ran[w].verdict.value, href.format(ran[w].directory), decided_text(ran[w])) if w in ran
            else (w, "not run", "", "") for w in run.planned_stages]


def render_stage_html(stage: StageResult, run_id: str, *, run: RunResult | None = None,
                      stage_dir: Path | None = None) -> str:
    """One stage's page; with its `run`, the stepper, neighbours, run links and the rerun command."""
    steps = (stage_steps(run, "../{}/index.html") if run is not None
             else [(stage.weight, stage.verdict.value, "", decided_text(stage))])
    links = [("← run", "../index.html")] + [(f"run {label}", href) for label, href in _files(None, _RUN_FILES, "../")]
    links += [("report.json", "report.json"), ("junit.xml", "junit.xml")] + _files(stage_dir, _STAGE_FILES)
    if run is not None:
        weights = [s.weight for s in run.stages]
        i = weights.index(stage.weight) if stage.weight in weights else -1
        if i > 0:
            links.append((f"← stage {weights[i - 1]} %", f"../{run.stages[i - 1].directory}/index.html"))
        if 0 <= i < len(weights) - 1:
            links.append((f"stage {weights[i + 1]} % →", f"../{run.stages[i + 1].directory}/index.html"))
    command = reproduce_command("rollout", run.config) if run is not None else "harness rollout"
    share = None
    total = sum(stage.requests.values())
    if total and "canary" in stage.requests:
        share = stage.requests["canary"] / total
    return environment().get_template("stage.html.j2").render(
        stage=stage, run_id=run_id, steps=steps, links=links, command=command, canary_share=share,
        judged=[w for w in (judged_window(stage),) if w is not None])


def render_run_html(run: RunResult, *, run_dir: Path | None = None,
                    comparison: tuple[str, list[Movement]] | None = None) -> str:
    """The run's page: verdict, stepper, diagnosis, small multiples, stages, charts across stages."""
    origin = run.stages[0].started_at if run.stages else run.started_at
    offsets: list[float] = []
    windows: list[Window] = []
    for s in run.stages:
        offset = s.started_at - origin if origin else 0.0
        offsets.append(offset)
        windows.append(Window(offset, offset + s.duration_s, f"{s.weight} %", kind="stage"))

    def run_series(chart: str, prefix: str) -> list[Series]:
        merged: dict[str, Series] = {}
        for s, offset in zip(run.stages, offsets):
            for line in _series(s, chart):
                if not line.name.startswith(prefix):
                    continue
                target = merged.setdefault(line.name, Series(line.name, chart, [], [], line.unit))
                if target.t:  # a stage boundary is a gap, not a line from one stage into the next
                    target.t.append(offset - 1e-3)
                    target.y.append(None)
                target.t.extend(t + offset for t in line.t)
                target.y.extend(line.y)
        return list(merged.values())

    x_range = (0.0, max((o + s.duration_s for s, o in zip(run.stages, offsets)), default=1.0))
    failing = next((s for s in run.stages if s.verdict.value != "pass"), None)
    links = _files(None, _RUN_FILES)
    for s in run.stages:
        links.append((f"stage {s.weight} %", f"{s.directory}/index.html"))
    return environment().get_template("run.html.j2").render(
        run=run, run_series=run_series, stage_windows=windows, x_range=x_range, steps=stage_steps(run),
        failing=failing, links=links, command=reproduce_command("rollout", run.config), comparison=comparison)


def endpoints_from_samples(result: ResultBase, samples_file: Path) -> list[dict[str, Any]]:
    """The per-request table of a result saved without one, from its samples file over the judged window.

    Results written before `endpoints` existed (or by a producer that does not
    fill it) still get the table when their samples file sits beside them.
    """
    if result.endpoints or not samples_file.is_file():
        return result.endpoints
    from harness._exceptions import HarnessError
    from harness.report._series import endpoint_stats
    from harness.samples import read_samples

    try:
        samples = read_samples(samples_file)
    except HarnessError:
        return []
    window = judged_window(result)
    if window is not None and not samples.empty:
        ts = samples["ts"].astype(float) - result.started_at
        samples = samples[(ts >= window.start) & (ts < window.end)]
    return endpoint_stats(samples)


def render_run(path: str | Path) -> Path:
    """Rebuild every derived file of the run at `path` from its saved JSON."""
    run_dir, run = load_run(path)
    for stage in run.stages:
        out = run_dir / stage.directory
        stage.endpoints = endpoints_from_samples(stage, out / "samples.arrow")
        (out / "index.html").write_text(render_stage_html(stage, run.run_id, run=run, stage_dir=out))
        write_junit([(f"rollout.{stage.directory}", stage)], out / "junit.xml")
    comparison = recorded_comparison(run_dir, run)
    (run_dir / "index.html").write_text(render_run_html(run, run_dir=run_dir, comparison=comparison))
    markdown = summary_markdown(run)
    if comparison is not None:
        markdown += "\n" + comparison_markdown(comparison[1], comparison[0], run.run_id)
    (run_dir / "summary.md").write_text(markdown)
    write_junit([(f"rollout.{s.directory}", s) for s in run.stages], run_dir / "junit.xml")
    return run_dir
