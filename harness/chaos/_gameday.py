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

import contextlib
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness._exceptions import ConfigError, ExportError, HarnessError, LoadError
from harness._verdicts import Check, Verdict, combine_verdicts
from harness.chaos._checks import evaluate_window_checks
from harness.chaos._experiment import Experiment
from harness.chaos._failover import (
    FaultMeasurement,
    FaultWindow,
    failover_checks,
    measure_faults,
)
from harness.chaos._loader import load_experiment
from harness.chaos._timeline import FaultTimeline
from harness.report._gameday import GameDayResult, render_gameday, save_gameday
from harness.report._model import Series, Window
from harness.report._series import sample_series
from harness.report._store import new_run_id, update_latest
from harness.samples import empty_samples, read_samples
from harness.slo import SLO, evaluate, load_slos
from harness.topology import Platform, load_topology

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
    scenario: Path | None = None
    canary_defect: str | None = None
    canary_weight: int | None = None
    min_samples: int = 30
    users: int | None = None
    workers: int = 0
    """Locust worker processes (0: one process; N: a master and N local workers)."""
    monitoring_interval: float = 0.0
    """Live Cloud Monitoring export period while the load runs (0: off)."""
    extra: dict[str, Any] = field(default_factory=dict)


#: The load seam: run load for `duration` s at `rps` against `platform`, samples to `path`.
LoadFn = Callable[..., Path]


def load_for_topology(path: Path, topology: Path | None, slo_names: list[str]) -> Experiment:
    """Load the experiment, checking its links, processes and SLO names against the topology."""
    topo = load_topology(topology)
    links = [link.name for link in topo.links()]
    processes = [inst.name for inst in topo.instances()]
    if topo.redis.mode in ("auto", "spawn"):
        processes.append("redis")
    return load_experiment(path, links=links, processes=processes, slos=slo_names)


def _platform(config: GameDayConfig, run_dir: Path) -> contextlib.AbstractContextManager[Any]:
    """Attach to a running platform, or bring one up with its logs beside the report."""
    if config.attach is not None:
        return Platform.attach(config.attach)
    return Platform.up(config.topology, canary_defect=config.canary_defect, run_dir=run_dir / "platform")


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
    checks = _scoped(evaluate(slos, samples, min_samples=min_samples), scope)
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


@contextlib.contextmanager
def _interruptible() -> Iterator[list[BaseException]]:
    """Collect a Ctrl-C (or a harness error) instead of propagating it, so the report still gets written."""
    caught: list[BaseException] = []
    try:
        yield caught
    except (KeyboardInterrupt, HarnessError) as exc:
        caught.append(exc)


def _describe(checks: list[Check]) -> str:
    bad = [c for c in checks if c.verdict is not Verdict.PASS]
    return "; ".join(
        f"{c.name} ({c.scope}) {c.verdict.value}: "
        + ("no value" if c.value is None else f"{c.value:.4g}{(' ' + c.unit) if c.unit else ''}")
        + ("" if c.objective is None else f" vs {c.op} {c.objective:.4g}")
        for c in bad[:4]
    )


def _plan(config: GameDayConfig) -> tuple[Experiment, dict[str, SLO], float, float]:
    """Validate everything before anything starts: experiment, SLO names, rate and duration."""
    by_name = {s.name: s for s in load_slos(config.slo_dir)}
    if config.attach is not None:
        experiment = load_experiment(config.experiment, slos=list(by_name))
    else:
        experiment = load_for_topology(config.experiment, config.topology, list(by_name))
    rps = config.rps or experiment.rps or 20.0
    tail = experiment.steady_state.after if experiment.steady_state is not None else 5.0
    duration = config.duration or experiment.duration or experiment.method_end + tail + 5.0
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
    config: GameDayConfig, *, load: LoadFn | None = None, exporter: MonitoringExporter | None = None
) -> GameDayResult:
    """Run one game day end to end and return its (saved and rendered) result.

    `load` is the load seam (default: Locust as a subprocess through
    `harness.load`): called as `load(platform, duration=s, rps=r, path=dir)`
    it runs load and returns the samples file. A Ctrl-C is re-raised after
    the partial report is written. `exporter` (caller-owned) writes the game
    day's checks to Cloud Monitoring before the report is saved, so the
    outcome is in its notes; with `require_export` a failed export marks the
    report incomplete and raises `ExportError` after it is written.
    """
    experiment, slos, rps, duration = _plan(config)
    run_id = new_run_id("gameday")
    run_load = load or _locust_load(config, exporter, run_id, list(slos.values()))
    run_dir = config.out / run_id
    result = GameDayResult(
        name=experiment.title, run_id=run_id, rule=experiment.healthy.describe(),
        experiment=_experiment_dict(experiment),
        config={"rps": rps, "duration_s": duration, "topology": str(config.topology or "default"),
                "attached": config.attach is not None, "canary_defect": config.canary_defect or "",
                "canary_weight": _canary_weight(config)},
    )  # fmt: skip
    samples = empty_samples()
    timeline: FaultTimeline | None = None
    with _interruptible() as caught:
        with _platform(config, run_dir) as platform:
            if _canary_weight(config):
                platform.set_canary_weight(_canary_weight(config))
            if experiment.steady_state is not None:
                before = run_load(platform, duration=experiment.steady_state.duration, rps=rps, path=run_dir / "steady")
                if not _steady_holds(result, experiment, slos, read_samples(before), config.min_samples):
                    return _export_and_finish(result, run_dir, exporter, config, judged=False)
            timeline = FaultTimeline(
                experiment.method, toxiproxy=platform.toxiproxy, platform=platform, rollbacks=experiment.rollbacks
            )
            samples = _chaos_under_load(result, timeline, platform, run_load, duration, rps, run_dir / "load", caught)
    if caught:
        if timeline is None:
            raise caught[0]  # nothing was injected: a plain error, no report to write
        result.complete = False
        result.incomplete_reason = (
            "interrupted (Ctrl-C); faults rolled back, processes stopped"
            if isinstance(caught[0], KeyboardInterrupt)
            else f"{type(caught[0]).__name__}: {caught[0]}"
        )
    assert timeline is not None
    _analyse(result, experiment, timeline, samples, slos, config.min_samples)
    _export_and_finish(result, run_dir, exporter, config, judged=True)
    if isinstance(caught[0] if caught else None, KeyboardInterrupt):
        raise caught[0]
    return result


def _steady_holds(
    result: GameDayResult, experiment: Experiment, slos: Mapping[str, SLO], samples: pd.DataFrame, min_samples: int
) -> bool:
    """Judge the steady state before chaos; when it does not hold, say why in the result."""
    assert experiment.steady_state is not None
    names = experiment.steady_state.slos
    checks = _steady([slos[n] for n in names], samples, min_samples, "steady-state before", result.notes)
    result.checks.extend(checks)
    verdict = combine_verdicts(c.verdict for c in checks)
    if verdict is Verdict.PASS:
        return True
    result.reason = f"steady state did not hold before chaos; no fault injected: {_describe(checks)}"
    result.verdict = verdict
    return False


def _chaos_under_load(
    result: GameDayResult,
    timeline: FaultTimeline,
    platform: Any,
    run_load: LoadFn,
    duration: float,
    rps: float,
    load_dir: Path,
    caught: list[BaseException],
) -> pd.DataFrame:
    """Load for the whole experiment with the timeline beside it; always roll back; collect what ran."""
    samples_path = load_dir / "samples.arrow"
    result.started_at = time.time()
    with _interruptible() as during:
        try:
            timeline.start(result.started_at)
            samples_path = run_load(platform, duration=duration, rps=rps, path=load_dir)
        finally:
            timeline.stop()
            timeline.rollback()
    result.ended_at = time.time()
    caught.extend(during)
    result.events = [
        {"t": round(e.ts - result.started_at, 3), "label": f"{e.action} {e.instance}"}
        for e in getattr(platform, "events", [])
        if isinstance(getattr(e, "ts", None), float) and e.ts >= result.started_at
    ]
    result.cold_starts = [
        {"instance": c.instance, "seconds": c.ready_s}
        for c in getattr(platform, "cold_starts", [])
        if c.spawned_at >= result.started_at
    ]
    return read_samples(samples_path) if samples_path.exists() else empty_samples()


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


DEFAULT_SCENARIO = Path("scenarios/platform.py")


def _locust_load(
    config: GameDayConfig, exporter: MonitoringExporter | None = None, run_id: str = "", slos: Sequence[SLO] = ()
) -> LoadFn:
    """Locust as a subprocess (`harness.load.run_locust`), the same scenarios as rollouts.

    With `config.workers` it is a master and N local workers; with an enabled
    exporter and `config.monitoring_interval` it exports live snapshots while it runs.
    """

    def run(platform: Any, *, duration: float, rps: float, path: Path) -> Path:
        from harness.load import LocustConfig, run_locust

        users = config.users or max(5, min(200, math.ceil(rps / 2)))
        load_cfg = LocustConfig(
            locustfile=config.scenario or DEFAULT_SCENARIO, host=platform.edge_url, out_dir=path,
            users=users, run_time_s=duration, rps=rps, api_key=platform.api_key, slo_dir=config.slo_dir,
            min_samples=config.min_samples, workers=config.workers,
        )  # fmt: skip
        live: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
        if exporter is not None and exporter.enabled and config.monitoring_interval > 0:
            from harness.monitoring import samples_snapshot

            live = exporter.live(
                samples_snapshot(load_cfg.samples_file, slos, min_samples=config.min_samples),
                interval=config.monitoring_interval, run_id=run_id, stage="gameday",
                scenario=config.experiment.stem, kind="gameday",
            )  # fmt: skip
        with live:
            locust = run_locust(load_cfg)
        if not locust.samples_file.exists():
            raise LoadError(f"Locust wrote no samples (exit code {locust.exit_code}); see {locust.log_file}")
        if locust.killed:
            raise LoadError(f"Locust had to be killed after {locust.duration_s:.0f} s; see {locust.log_file}")
        return locust.samples_file

    return run
