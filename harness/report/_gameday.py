"""The game-day result: saved as JSON, rendered to HTML, JUnit and Markdown from disk.

A game day lives beside the rollout reports (`reports/<run-id>/`) with
`report.json` (everything, chart data included), `summary.json` (the shape
`harness gate` reads, `kind: gameday`, no stages), and the derived
`index.html`, `junit.xml` and `summary.md`, all rebuilt by `render_gameday`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness._exceptions import ReportError
from harness.report._junit import write_junit
from harness.report._markdown import _ICON, CHECK_HEADER, check_rows, escape_md, format_value, links_line, why_lines
from harness.report._model import SCHEMA_VERSION, ResultBase, Series, _failed_row, _num, _summary_head
from harness.report._explain import fault_marks, key_failures, reproduce_command
from harness.report._render import endpoints_from_samples, environment
from harness.report._svg import Mark
from harness.report._store import write_json

if TYPE_CHECKING:
    from harness.report._compare import Movement

__all__ = ["GameDayResult", "save_gameday", "load_gameday", "render_gameday", "render_gameday_html", "gameday_markdown"]


@dataclass
class GameDayResult(ResultBase):
    """One game day: the experiment, its journal, per-fault figures and every check.

    `checks` holds steady-state checks (scope `steady-state before|after`),
    failover/recovery checks (kind `failover`) and the experiment's window
    checks; `faults` holds `FaultMeasurement.to_dict()` with offsets from
    `started_at`; `journal` holds the timeline's entries.
    """

    run_id: str = ""
    kind: str = "gameday"
    experiment: dict[str, Any] = field(default_factory=dict)
    journal: list[dict[str, Any]] = field(default_factory=list)
    faults: list[dict[str, Any]] = field(default_factory=list)
    rule: str = ""
    reason: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        """0 pass, 1 fail, 2 inconclusive or incomplete — as for rollouts."""
        return 2 if not self.complete else self.verdict.exit_code

    def to_dict(self) -> dict[str, Any]:
        """report.json: the whole result, chart data included."""
        return {
            "schema_version": SCHEMA_VERSION,
            "kind": self.kind,
            "run_id": self.run_id,
            **self.base_dict(),
            "experiment": self.experiment,
            "journal": self.journal,
            "faults": [{k: _num(v) if isinstance(v, float) else v for k, v in f.items()} for f in self.faults],
            "rule": self.rule,
            "reason": self.reason,
            "config": self.config,
            "requests": self.requests,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GameDayResult:
        return cls(
            **cls.base_fields(d), run_id=d["run_id"], kind=d.get("kind", "gameday"),
            experiment=dict(d.get("experiment", {})), journal=list(d.get("journal", [])),
            faults=list(d.get("faults", [])), rule=d.get("rule", ""), reason=d.get("reason", ""),
            config=dict(d.get("config", {})), requests=dict(d.get("requests", {})),
        )  # fmt: skip

    def summary(self) -> dict[str, Any]:
        """summary.json in the shape `harness gate` reads (no stages; the checks are the run's)."""
        failed = [_failed_row(c, None) for c in self.failed_checks()]
        return {
            **_summary_head(self, rolled_back=False),
            "config": self.config,
            "experiment": {k: self.experiment.get(k) for k in ("title", "source", "tags")},
            "stages": [],
            "checks": [c.to_dict() for c in self.checks],
            "faults": self.to_dict()["faults"],
            "failed_checks": failed,
            "report": "report.json",
        }


def save_gameday(result: GameDayResult, run_dir: Path) -> Path:
    """Write report.json and summary.json (atomically); returns `run_dir`."""
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "report.json", result.to_dict())
    write_json(run_dir / "summary.json", result.summary())
    return run_dir


def load_gameday(path: str | Path) -> tuple[Path, GameDayResult]:
    """A game-day directory (or its report.json) → the saved result."""
    p = Path(path)
    run_dir = p.parent if p.name in ("report.json", "summary.json") else p
    file = run_dir / "report.json"
    try:
        data = json.loads(file.read_text())
    except OSError as exc:
        raise ReportError(f"{file}: cannot read ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise ReportError(f"{file}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(data, dict) or data.get("kind") != "gameday":
        raise ReportError(f"{file}: not a game-day report (kind {data.get('kind') if isinstance(data, dict) else None!r})")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise ReportError(f"{file}: schema_version {data.get('schema_version')!r} is not supported")
    try:
        return run_dir, GameDayResult.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{file}: invalid game-day report ({exc})") from None


def _series(result: GameDayResult, chart: str, prefix: str = "", bucket_s: float = 1.0) -> list[Series]:
    """The chart's series, whole seconds only: a last partial second would read as a dip (e.g. requests by region)."""
    end = result.duration_s + 1e-6
    out = []
    for s in result.series:
        if s.chart == chart and s.name.startswith(prefix):
            keep = [i for i, t in enumerate(s.t) if not result.duration_s or t + bucket_s <= end]
            out.append(Series(s.name, s.chart, [s.t[i] for i in keep], [s.y[i] for i in keep], s.unit))
    return out


_FILES = [("locust.log", "load/locust.log"), ("samples", "load/samples.arrow"), ("load verdict", "load/verdict.json"),
          ("steady-state locust.log", "steady/locust.log"), ("platform logs", "platform")]


def _marks(result: GameDayResult) -> list[Mark]:
    """Fault start, failover, recovery, and where each judged failover had to have happened by."""
    marks = fault_marks(result)
    for f in result.faults:
        for c in result.checks:
            if c.kind == "failover" and c.name == f"failover/{f.get('action')}" and c.objective is not None:
                at = float(f.get("injected_at") or 0.0) - result.started_at + c.objective
                marks.append(Mark(at, f"failover limit {c.objective:g} s", "event"))
    return marks


def render_gameday_html(result: GameDayResult, *, run_dir: Path | None = None,
                        comparison: tuple[str, list[Movement]] | None = None) -> str:
    """The game day's page: verdict, diagnosis, fault figures against objectives, timeline charts, journal."""
    links = [("summary.json", "summary.json"), ("report.json", "report.json"), ("summary.md", "summary.md"),
             ("junit.xml", "junit.xml")]
    links += [(label, name) for label, name in _FILES if run_dir is None or (run_dir / name).exists()]
    if (run_dir or Path()).joinpath("journal.json").exists():
        links.append(("journal.json", "journal.json"))
    command = reproduce_command("gameday", result.config, source=result.experiment.get("source"))
    return environment().get_template("gameday.html.j2").render(
        run=result, gseries=lambda chart, prefix="": _series(result, chart, prefix), links=links, command=command,
        marks=_marks(result), comparison=comparison,
    )


def gameday_markdown(result: GameDayResult) -> str:
    """summary.md of a game day: the rollout's shape (marks, symbols, escaped names, links, why)."""
    icon = _ICON[result.verdict]
    lines = [f"## {icon} Game day {result.verdict.value.upper()} — {escape_md(result.run_id)}", ""]
    if not result.complete:
        lines += [f"> **Incomplete run:** {escape_md(result.incomplete_reason or 'stopped early')}", ""]
    title = result.experiment.get("title") or result.name
    lines += [f"**{escape_md(title)}**" + (f": {escape_md(result.reason)}" if result.reason else ""), ""]
    bad = key_failures(result)
    if bad:
        lines += why_lines(bad) + [""]
    lines += [links_line([("HTML report", "index.html"), ("summary.json", "summary.json"), ("junit.xml", "junit.xml")])
              + f" (in `reports/{result.run_id}/`)", ""]
    if result.faults:
        lines += ["| fault | target | first error | failover | recovery | failed / requests |", "|---|---|---|---|---|---|"]
        for f in result.faults:
            failover = "never" if f.get("failover_s") is None else format_value(f.get("failover_s"), "s")
            recovery = "—" if f.get("removed_at") is None else (
                "never" if f.get("recovery_s") is None else format_value(f.get("recovery_s"), "s"))
            lines.append(
                f"| {escape_md(f['action'])} | {escape_md(f['target'])} | {format_value(f.get('first_error_s'), 's')} | "
                f"{failover} | {recovery} | {f.get('failed', 0)} / {f.get('requests', 0)} |"
            )
        lines.append("")
    not_passing = result.failed_checks()
    if not_passing:
        lines += ["### Checks that did not pass", "", CHECK_HEADER, *check_rows(not_passing), ""]
    lines += [f"<details><summary>All {len(result.checks)} checks</summary>", "", CHECK_HEADER,
              *check_rows(result.checks), "", "</details>"]
    if result.rule:
        lines += ["", f"Healthy-window rule: {escape_md(result.rule)}."]
    return "\n".join(lines) + "\n"


def _suite(result: GameDayResult) -> str:
    """The JUnit suite of a game day: the experiment's file stem, the same on every run (CI keeps history)."""
    source = str(result.experiment.get("source") or result.name or "experiment")
    return Path(source).stem.replace(".", "-") or "experiment"


def render_gameday(path: str | Path) -> Path:
    """Rebuild index.html, junit.xml and summary.md of the game day at `path` from report.json."""
    run_dir, result = load_gameday(path)
    for phase in ("load", "steady"):  # the chaos load, else the steady-state check's when chaos never started
        result.endpoints = endpoints_from_samples(result, run_dir / phase / "samples.arrow")
    from harness.report._compare import comparison_markdown, recorded_comparison

    comparison = recorded_comparison(run_dir, result)
    (run_dir / "index.html").write_text(render_gameday_html(result, run_dir=run_dir, comparison=comparison))
    write_junit([(f"gameday.{_suite(result)}", result)], run_dir / "junit.xml")
    markdown = gameday_markdown(result)
    if comparison is not None:
        markdown += "\n" + comparison_markdown(comparison[1], comparison[0], result.run_id)
    (run_dir / "summary.md").write_text(markdown)
    return run_dir
