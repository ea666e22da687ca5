"""The game day: steady state, load with the fault timeline, measurement, judgement, report.

    result = run_gameday(GameDayConfig(Path("chaos/region-outage.yaml"), rps=20))
    sys.exit(result.exit_code)

1. Validate everything first (experiment against the topology and SLO names).
2. Bring the platform up (or attach to `harness up --detach`).
3. Steady state under load before any fault; when it does not hold, refuse
   chaos and say why (exit 1, or 2 when it could not be shown either way).
4. Load for the whole experiment with the timeline beside it; the timeline is
   always rolled back (normal end, failure, exception, Ctrl-C).
5. Measure failover/recovery from the samples and the journal, judge the
   steady state after, the failover SLO and the experiment's own checks.
6. Save report.json/summary.json and render HTML, JUnit and Markdown from
   them; an interrupted game day still writes a report, marked incomplete.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rich.console import Console

from harness._exceptions import ConfigError, ExportError
from harness._verdicts import Check, Verdict, combine_verdicts
from harness.chaos._checks import evaluate_window_checks
from harness.chaos._experiment import Experiment
from harness.chaos._failover import FaultMeasurement, FaultWindow, failover_checks, measure_faults
from harness.chaos._loader import load_experiment
from harness.chaos._timeline import FaultTimeline
from harness.engine import Events, RunFinished, SamplesFlushed
from harness.engine._engine import Engine
from harness.engine._load import DEFAULT_LOCUSTFILE, LoadSettings
from harness.engine._plan import check_positive, names_in_use, platform_for, stop_reason
from harness.report._gameday import GameDayResult, render_gameday, save_gameday
from harness.report._model import Series, Window
from harness.report._series import sample_series
from harness.report._store import new_run_id, update_latest
from harness.samples import empty_samples, read_samples
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, evaluate, load_slos

if TYPE_CHECKING:
    from harness.monitoring import MonitoringExporter

__all__ = ["GameDayConfig", "run_gameday", "judge_faults", "load_for_topology", "region_series"]


@dataclass(frozen=True)
class GameDayConfig:
    """What `harness gameday` was asked to do; file values are the defaults flags override."""

    experiment: Path
    rps: float | None = None
    duration: float | None = None
    topology: Path | None = None
    attach: Path | None = None
    out: Path = Path("reports")
    slo_dir: Path = Path("slos")
    locustfile: Path = DEFAULT_LOCUSTFILE
    canary_defect: str | None = None
    canary_weight: int | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    users: int = 0
    """Locust users (0: the engine's default for the rate)."""
    workers: int = 0
    """Locust worker processes (0: one process; N: a master and N local workers)."""
    monitoring_interval: float = 0.0
    """Live Cloud Monitoring export period while the load runs (0: off)."""
    live: bool = True
    """Show the live progress display."""
    extra: dict[str, Any] = field(default_factory=dict)

    def load(self) -> LoadSettings:
        return LoadSettings(locustfile=self.locustfile, users=self.users, workers=self.workers,
                            min_samples=self.min_samples, slo_dir=self.slo_dir,
                            monitoring_interval=self.monitoring_interval, live=self.live)


def load_for_topology(path: Path, topology: str | Path | None, slo_names: list[str] | None, *,
                      attach: str | Path | None = None) -> Experiment:
    """Load the experiment, checking its links, processes and SLO names against the topology in use.

    `attach` (a state file) checks against the platform already up instead of
    a topology file. This is what `harness validate` calls, so a run refuses
    exactly the files `validate` refuses, before any load.
    """
    links, processes = names_in_use(topology, attach)
    return load_experiment(path, links=links, processes=processes, slos=slo_names)


def _scoped(checks: list[Check], scope: str) -> list[Check]:
    return [replace(c, scope=f"{scope} {c.scope}".strip(), name=c.name) for c in checks]


def _steady(
    slos: list[SLO], samples: pd.DataFrame, min_samples: int, scope: str, notes: list[str]
) -> list[Check]:
    """Judge the steady state; a thin group is left out when the SLO was judged on the rest.

    With the canary at 100 % the baseline only sees the requests the edge
    answers itself: too few to judge, but no reason to call the platform's
    steady state unknown. Such groups are named in `notes`, never silently
    dropped, and an SLO with no judgeable group at all stays INCONCLUSIVE.
    """
    from harness.load._verdict import co_corrected

    # a game day's load is always open-model: the CO-corrected quantile goes beside each latency one
    checks = _scoped(co_corrected(evaluate(slos, samples, min_samples=min_samples), slos, samples, open_model=True),
                     scope)
    kept: list[Check] = []
    for slo in slos:
        mine = [c for c in checks if c.name == slo.name]
        judged = [c for c in mine if c.verdict is not Verdict.INCONCLUSIVE or c.samples >= min_samples]
        if judged:
            for c in mine:
                if c not in judged:
                    notes.append(f"{scope}: {c.name} ({c.scope}) not judged: {c.samples} samples < {min_samples}")
            kept.extend(judged)
        else:
            kept.extend(mine)
    if not kept:
        kept = [Check(name="steady-state", verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="lte",
                      scope=scope, detail="no samples to judge the steady state on")]
    return kept


def region_series(samples: pd.DataFrame, t0: float, bucket_s: float = 1.0) -> list[Series]:
    """Requests per second by the AI region that answered (`x-xynergy-region`)."""
    frame = samples[samples["region"].astype(str).str.len() > 0]
    if frame.empty:
        return []
    bucket = np.floor((frame["ts"].astype(float) - t0) / bucket_s) * bucket_s
    counts = frame.groupby([frame["region"].astype(str), bucket]).size() / bucket_s
    out = []
    for region, per in counts.groupby(level=0):
        per = per.droplevel(0)
        out.append(Series(str(region), "region", per.index.tolist(), per.astype(float).tolist(), "req/s"))
    return out


def _describe(checks: list[Check]) -> str:
    from harness.report._explain import describe_checks  # in words, like the rollout's: "< 100.0 ms", not "lt 100"

    return describe_checks(checks)


def _plan(config: GameDayConfig) -> tuple[Experiment, dict[str, SLO], float, float]:
    """Validate everything before anything starts: experiment, SLO names, rate and duration."""
    config.load().validate()
    by_name = {s.name: s for s in load_slos(config.slo_dir)}
    experiment = load_for_topology(config.experiment, config.topology, list(by_name), attach=config.attach)
    rps = config.rps or experiment.rps or 20.0
    tail = experiment.steady_state.after if experiment.steady_state is not None else 5.0
    duration = config.duration or experiment.duration or experiment.method_end + tail + 5.0
    check_positive(("--rps", rps), ("--duration", duration))
    if duration < experiment.method_end:
        raise ConfigError(
            f"{duration:g}s is shorter than the experiment's method, which ends at {experiment.method_end:g}s",
            field="--duration",
        )
    if duration < experiment.recovery_needs:
        raise ConfigError(
            f"{duration:g}s leaves no room to judge recovery: it needs at least {experiment.recovery_needs:g}s",
            field="--duration",
        )
    return experiment, by_name, rps, duration


def run_gameday(
    config: GameDayConfig, *, exporter: MonitoringExporter | None = None, events: Events | None = None
) -> GameDayResult:
    """Run one game day end to end on the run engine and return its (saved and rendered) result.

    Every stop path (Ctrl-C, SIGTERM, SIGHUP, an error) rolls the faults and
    the traffic back, stops Locust, writes the partial report (marked
    incomplete) and re-raises (`Stopped` carries the exit code). `exporter`
    (caller-owned) writes the checks to Cloud Monitoring before the report is
    saved; with `require_export` a failed export marks the report incomplete
    and raises `ExportError` after it is written.
    """
    from harness.chaos._ctk_gameday import is_ctk_file, run_ctk_gameday

    if is_ctk_file(config.experiment):  # a Chaos Toolkit experiment: chaostoolkit-lib runs it
        return run_ctk_gameday(config, exporter=exporter, events=events)
    experiment, slos, rps, duration = _plan(config)
    run_id = new_run_id("gameday")
    run_dir = config.out / run_id
    engine = Engine("gameday", run_id, run_dir, config.load(), events=events, exporter=exporter,
                    slos=list(slos.values()))
    weight = _canary_weight(config)
    from harness.chaos._live import follow_gameday

    follow_gameday(engine.events, Console(stderr=True), experiment, live=config.live)
    result = GameDayResult(
        name=experiment.title, run_id=run_id, rule=experiment.healthy.describe(),
        experiment=_experiment_dict(experiment),
        config={"rps": rps, "duration_s": duration, "topology": str(config.topology or "default"),
                "attached": config.attach is not None, "canary_defect": config.canary_defect or "",
                "canary_weight": weight, **config.extra},
    )  # fmt: skip
    chaos: list[FaultTimeline] = []
    load_dir = run_dir / "load"

    def finish(error: BaseException | None) -> None:
        if error is not None:
            if not chaos and not isinstance(error, KeyboardInterrupt):
                # nothing was injected: a plain error, no report to write; listeners (the live
                # displays, the metrics) still learn the run ended, so none is left running
                engine.events.run_finished.fire(RunFinished(run_id, "inconclusive", 2, False, stop_reason(error)))
                return
            result.complete, result.incomplete_reason = False, stop_reason(error)
        if not chaos:
            _export_and_finish(result, run_dir, exporter, config, judged=False)
        else:
            samples = read_samples(load_dir / "samples.arrow") if (load_dir / "samples.arrow").exists() else empty_samples()
            result.ended_at = result.ended_at or time.time()
            result.events = engine.report_events(result.started_at)
            result.cold_starts = [{"instance": c.instance, "seconds": c.ready_s}
                                  for c in engine.platform_records()[1] if c.spawned_at >= result.started_at]
            _analyse(result, experiment, chaos[0], samples, slos, config.min_samples)
            _export_and_finish(result, run_dir, exporter, config, judged=True)
        engine.events.run_finished.fire(
            RunFinished(run_id, result.verdict.value, result.exit_code, result.complete, result.reason))

    with engine.session(platform_for(config.topology, config.attach, config.canary_defect, run_dir / "platform",
                                     progress=engine.events.platform_progress.fire), finish):
        if weight:
            engine.set_weight(weight, reason="gameday")
        if experiment.steady_state is not None:
            before = engine.run_load("steady-state", run_dir / "steady", rps=rps, weight=weight,
                                     duration_s=experiment.steady_state.duration)
            if not _steady_holds(result, experiment, slos, before.samples, config.min_samples, before.integrity):
                return result
        chaos.append(engine.faults(experiment.method, experiment.rollbacks))

        def load_began(e: SamplesFlushed) -> None:  # the method's offsets count from the first request
            if e.stage == "gameday" and chaos[0].t0 is None:
                result.started_at = time.time()
                chaos[0].start(result.started_at)

        engine.events.samples_flushed.add_listener(load_began)
        result.started_at = time.time()  # until the first request, which moves it
        try:
            load = engine.run_load("gameday", load_dir, duration_s=duration, rps=rps, weight=weight)
        finally:
            chaos[0].stop()
            chaos[0].rollback()
            result.ended_at = time.time()
        result.checks.append(load.integrity)
    return result


def _steady_holds(
    result: GameDayResult, experiment: Experiment, slos: Mapping[str, SLO], samples: pd.DataFrame, min_samples: int,
    integrity: Check,
) -> bool:
    """Judge the steady state before chaos; when it does not hold, say why in the result."""
    assert experiment.steady_state is not None
    names = experiment.steady_state.slos
    checks = _steady([slos[n] for n in names], samples, min_samples, "steady-state before", result.notes)
    checks.append(replace(integrity, scope=f"steady-state before {integrity.scope}"))
    result.checks.extend(checks)
    verdict = combine_verdicts(c.verdict for c in checks)
    if verdict is Verdict.PASS:
        return True
    result.reason = f"steady state did not hold before chaos; no fault injected: {_describe(checks)}"
    result.verdict = verdict
    return False


def _canary_weight(config: GameDayConfig) -> int:
    if config.canary_weight is not None:
        return config.canary_weight
    return 100 if config.canary_defect else 0


def _experiment_dict(experiment: Experiment) -> dict[str, Any]:
    data = experiment.to_dict()
    data["tags"] = list(experiment.tags)
    return data


def _analyse(
    result: GameDayResult,
    experiment: Experiment,
    timeline: FaultTimeline,
    samples: pd.DataFrame,
    slos: Mapping[str, SLO],
    min_samples: int,
) -> None:
    """Fill in measurements, checks and chart data from the samples and the journal."""
    t0 = result.started_at
    run_end = max(result.ended_at, float(samples["ts"].max()) if not samples.empty else t0)
    journal = timeline.journal
    result.journal = [e.to_dict() for e in journal]
    faults = timeline.fault_windows()
    measurements, checks = judge_faults(experiment, faults, samples, slos, run_start=t0, run_end=run_end)
    result.faults = [m.to_dict() for m in measurements]
    result.windows = [
        Window(f.injected_at - t0, (f.removed_at if f.removed_at is not None else run_end) - t0, f.action)
        for f in faults
    ]
    result.checks.extend(checks)
    steady = experiment.steady_state
    if steady is not None and result.complete:
        last_fault_end = max((f.removed_at or run_end for f in faults), default=t0)
        start = max(run_end - steady.after, last_fault_end)
        tail = samples[(samples["ts"] >= start) & (samples["ts"] < run_end)]
        checks = _steady([slos[n] for n in steady.slos], tail, min_samples, "steady-state after", result.notes)
        if run_end - start < steady.after - 0.5:
            result.notes.append(
                f"steady state after was judged on {run_end - start:.1f} s after the last fault ended "
                f"({steady.after:g} s asked); lengthen --duration for the full window"
            )
        result.checks.extend(checks)
    failures = timeline.failures
    if failures:
        result.complete = False
        result.incomplete_reason = result.incomplete_reason or "; ".join(
            f"{e.action}: {e.error or e.undo_error}" for e in failures
        )
    elif not timeline.finished and result.complete:
        result.complete = False
        result.incomplete_reason = "the method did not run to its end"
    result.series = sample_series(samples, t0) + region_series(samples, t0)
    result.requests = {str(k): int(v) for k, v in samples.groupby("revision").size().items()}


def judge_faults(
    experiment: Experiment,
    faults: Sequence[FaultWindow],
    samples: pd.DataFrame,
    slos: Mapping[str, SLO],
    *,
    run_start: float,
    run_end: float,
) -> tuple[list[FaultMeasurement], list[Check]]:
    """Measure every fault and judge what the experiment asks: failover/recovery, then its checks.

    Usable wherever an experiment ran beside load (a game day, a rollout
    stage): give it the timeline's `fault_windows()` and the run's samples.
    """
    measurements = measure_faults(
        samples, faults, experiment.healthy, run_end=run_end, primary_region=experiment.primary_region
    )
    checks: list[Check] = []
    if any(m.judge for m in measurements):
        checks.extend(failover_checks(measurements, slos[experiment.failover_slo]))
    checks.extend(
        evaluate_window_checks(samples, experiment.checks, faults, run_start=run_start, run_end=run_end, slos=slos)
    )
    return measurements, checks


def _export_and_finish(
    result: GameDayResult, run_dir: Path, exporter: MonitoringExporter | None, config: GameDayConfig, *, judged: bool
) -> GameDayResult:
    """Export the checks (outcome in the notes), then save; a required export that failed is raised after saving."""
    failed: ExportError | None = None
    if exporter is not None and exporter.project is not None and result.checks:
        try:
            export = exporter.export_checks(
                result.checks, run_id=result.run_id, stage="gameday", scenario=config.experiment.stem,
                kind="gameday", end_time=result.ended_at or time.time(),
            )  # fmt: skip
            result.notes.append(export.message)
        except ExportError as exc:
            failed = exc
            result.notes.append(str(exc))
            result.complete = False
            result.incomplete_reason = result.incomplete_reason or str(exc)
    _finish(result, run_dir, judged=judged)
    if failed is not None:
        raise failed
    return result


def _finish(result: GameDayResult, run_dir: Path, *, judged: bool) -> GameDayResult:
    """Judge (unless already decided), save, render, point `latest` here."""
    if judged:
        result.judge()
        if not result.reason:
            bad = result.failed_checks()
            result.reason = (
                f"{len(bad)} check(s) not passing: {_describe(bad)}" if bad else "every check passed"
            )
    if not result.ended_at:
        result.ended_at = time.time()
    if not result.started_at:
        result.started_at = result.ended_at
    save_gameday(result, run_dir)
    render_gameday(run_dir)
    update_latest(run_dir)
    return result
