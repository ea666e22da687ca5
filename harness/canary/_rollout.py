"""The rollout loop: canary stages 10 → 50 → 100 %, judged, rolled back on failure.

    run_dir, run = run_rollout(RolloutConfig(stages=(10, 50, 100), rps=200))

Per stage: set the edge's canary weight, run Locust (a subprocess) for the
warm-up plus the stage duration while an optional experiment hook runs inside
the judged window, scrape `/metrics` of both revisions before and after, then
judge (`judge_stage`). PASS promotes to the next stage; FAIL or INCONCLUSIVE
sets the canary weight to 0 and stops (an inconclusive stage never promotes).
The result is saved after every stage, so a crash or Ctrl-C still leaves a
report on disk — marked incomplete, with the rollback done.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console

from harness._exceptions import ConfigError, HarnessError
from harness._verdicts import Check, Verdict
from harness.canary._cost import (
    CostConfig,
    PriceTable,
    Usage,
    load_prices,
    scrape_usage,
)
from harness.canary._hooks import ExperimentHook, StageContext, chaos_file_hook
from harness.canary._judge import JudgeConfig
from harness.canary._live import StageProgress
from harness.canary._stage import StageExtras, StageInputs, judge_stage, judged_window
from harness.report._markdown import format_value
from harness.report._model import RunResult, StageResult
from harness.report._render import render_run
from harness.report._store import new_run_id, save_run, update_latest
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, load_slos

if TYPE_CHECKING:
    from harness.monitoring import MonitoringExporter

__all__ = ["RolloutConfig", "run_rollout", "failure_reason"]

_OPS = {"lt": "<", "lte": "≤", "gt": ">", "gte": "≥"}
_LOCUST_STARTUP_S = 3.0
"""Locust's `-t` counts from its own start (after imports): run this much longer so
the load covers the whole judged window, whose end is fixed by the wall clock."""
_WORKERS_STARTUP_S = 3.0
"""With `--workers`, the master waits for every worker to import Locust and connect
before any user starts: measured ~2 s later than one process on 2 cores. The judged
window starts this much later, so the warm-up still precedes it in full."""


@dataclass(frozen=True)
class RolloutConfig:
    """Settings of one rollout (the `harness rollout` flags)."""

    topology: str | None = None
    """Topology file (default: the packaged xynergy topology)."""
    attach: str | None = None
    """State file of a platform already up (`harness up`); None brings one up."""
    stages: tuple[int, ...] = (10, 50, 100)
    stage_duration_s: float = 60.0
    warmup_s: float = 10.0
    rps: float = 200.0
    users: int = 0
    """Locust users (0: one per 10 req/s, at least 2)."""
    canary_defect: str | None = None
    experiment: str | None = None
    out: str = "reports"
    slo_dir: str = "slos"
    locustfile: str = "scenarios/platform.py"
    prices: str | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    live: bool = True
    workers: int = 0
    """Locust worker processes (0: one process; N: a master and N local workers)."""
    monitoring_interval: float = 0.0
    """Live Cloud Monitoring export period while a stage runs (0: off)."""

    def validate(self) -> None:
        """Reject bad settings before anything starts; errors name the flag."""
        if not self.stages:
            raise ConfigError("give at least one stage", field="--stages")
        if any(not 1 <= s <= 100 for s in self.stages) or list(self.stages) != sorted(set(self.stages)):
            raise ConfigError(f"{','.join(map(str, self.stages))}: stages must be increasing percentages 1-100",
                              field="--stages")
        for flag, value in (("--stage-duration", self.stage_duration_s), ("--rps", self.rps)):
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{value} must be positive", field=flag)
        if not math.isfinite(self.warmup_s) or self.warmup_s < 0:
            raise ConfigError(f"{self.warmup_s} must be zero or positive", field="--warmup")
        if self.stage_duration_s > 3600 or self.rps > 10_000:
            raise ConfigError("stage duration at most 1 h and rate at most 10000 req/s", field="--stage-duration/--rps")
        if not 0 <= self.workers <= 64:
            raise ConfigError(f"{self.workers} must be 0 (one process) to 64", field="--workers")
        if self.attach and (self.canary_defect or self.topology):
            raise ConfigError("an attached platform is already up: give its defect and topology to `harness up`",
                              field="--attach")
        if self.canary_defect:
            from xynergy.defects import parse_defects

            try:
                parse_defects(self.canary_defect)
            except ValueError as exc:
                raise ConfigError(str(exc), field="--canary-defect") from None
        if not Path(self.locustfile).is_file():
            raise ConfigError("locustfile not found", source=self.locustfile, field="--locustfile")

    @property
    def user_count(self) -> int:
        return self.users or max(2, min(200, math.ceil(self.rps / 10)))

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages"] = ",".join(map(str, self.stages))
        data.pop("judge"), data.pop("cost"), data.pop("live")
        return {k: v for k, v in data.items() if v not in (None, "")}


def failure_reason(stage: StageResult) -> str:
    """'stage 10 %: compare/latency failed: +51.0 ms against < 5.0 ms (…)' for the first bad check."""
    bad = sorted(stage.failed_checks(), key=lambda c: c.verdict is not Verdict.FAIL)
    if not bad:
        return f"stage {stage.weight} %: {stage.verdict.value} ({stage.incomplete_reason or 'no checks'})"
    c: Check = bad[0]
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    detail = f" — {c.detail}" if c.detail else ""
    if c.detail.startswith("too few samples"):
        detail += " (raise --stage-duration or --rps: the canary gets only its weight's share of the traffic)"
    return (f"stage {stage.weight} %: {c.name} [{c.scope}] {c.verdict.value}: {format_value(c.value, c.unit)} "
            f"against {_OPS.get(c.op, c.op)} {format_value(c.objective, c.unit)}{detail}{more}")


class _Rollout:
    """One rollout in progress; owns the run result and the rollback."""

    def __init__(self, config: RolloutConfig, platform: Any, run: RunResult, run_dir: Path, slos: list[SLO],
                 prices: PriceTable, hook: ExperimentHook | None, console: Console,
                 exporter: MonitoringExporter | None = None) -> None:
        self.config, self.platform, self.run, self.run_dir = config, platform, run, run_dir
        self.slos, self.prices, self.hook, self.console = slos, prices, hook, console
        self.exporter = exporter
        self.canary = _instance_of(platform, "canary")
        self.baseline = self.canary.split("@", 1)[0]
        self.stop = threading.Event()
        self.history: list[str] = []

    def deploy_canary(self) -> None:
        """(Re)start the canary alone on the running platform, as a revision deploy does.

        Its cold start is then measured without the contention of the whole
        platform starting at once, which is the number the cold-start SLO means.
        """
        try:
            cold = self.platform.restart(self.canary)
        except HarnessError as exc:
            self.run.notes.append(f"canary redeploy failed, judging its first start instead: {exc}")
            return
        ready = getattr(cold, "ready_s", None)
        self.run.events.append({"t": round(time.time() - self.run.started_at, 3),
                                "label": f"deployed {self.canary}: ready in {ready:.2f} s" if ready else f"deployed {self.canary}"})

    def execute(self) -> None:
        reference: pd.DataFrame | None = None
        self.deploy_canary()
        for index, weight in enumerate(self.config.stages):
            stage, judged = self.stage(weight, first=index == 0, reference=reference)
            self.run.stages.append(stage)
            self.history.append(f"{weight} % {stage.verdict.value}")
            self.export(stage)
            self.save()
            self.console.print(f"stage {weight} %: [bold]{stage.verdict.value.upper()}[/] "
                               f"({sum(c.verdict is Verdict.PASS for c in stage.checks)}/{len(stage.checks)} checks pass)")
            if stage.verdict is not Verdict.PASS:
                self.rollback()
                self.run.reason = failure_reason(stage)
                return
            baseline = judged[judged["revision"] == self.config.judge.baseline_revision]
            if len(baseline) >= self.config.judge.min_samples:
                reference = baseline
        self.run.reason = f"promoted to {self.config.stages[-1]} %"

    def export(self, stage: StageResult) -> None:
        """Write the stage's checks to Cloud Monitoring; the outcome goes in the run's notes.

        Never raises unless `--require-export` (then `ExportError`, exit 2):
        the exporter has its own time budget, so a slow API cannot stall the rollout.
        """
        if self.exporter is None or self.exporter.project is None:
            return
        result = self.exporter.export_checks(
            stage.checks, run_id=self.run.run_id, stage=str(stage.weight), scenario=Path(self.config.locustfile).stem,
            kind="rollout", end_time=stage.ended_at,
        )  # fmt: skip
        self.run.notes.append(f"stage {stage.weight} %: {result.message}")

    def rollback(self) -> None:
        """Canary weight 0; also on Ctrl-C. A failure here is reported, not raised."""
        try:
            self.platform.set_canary_weight(0)
            self.run.rolled_back = True
            self.run.events.append({"t": time.time() - self.run.started_at, "label": "rollback: canary weight 0"})
        except HarnessError as exc:
            self.run.notes.append(f"rollback failed: {exc}")

    def save(self) -> None:
        self.run.ended_at = time.time()
        self.run.judge()
        save_run(self.run, self.run_dir)

    def usage(self) -> dict[str, Usage]:
        out = {}
        for revision, name in (("baseline", self.baseline), ("canary", self.canary)):
            try:
                out[revision] = scrape_usage(self.platform.metrics_url(name))
            except HarnessError as exc:
                self.run.notes.append(f"no /metrics from {name}: {exc}")
        return out

    def stage(self, weight: int, *, first: bool, reference: pd.DataFrame | None) -> tuple[StageResult, pd.DataFrame]:
        from harness.load import LocustConfig, run_locust
        from harness.samples import read_samples

        cfg = self.config
        out_dir = self.run_dir / f"stage-{weight}"
        self.platform.set_canary_weight(weight)
        before = self.usage()
        started = time.time()
        startup = _WORKERS_STARTUP_S if cfg.workers else 0.0
        judged_from = started + startup + cfg.warmup_s
        deadline = judged_from + cfg.stage_duration_s
        load_cfg = LocustConfig(locustfile=Path(cfg.locustfile), host=self.platform.edge_url, out_dir=out_dir,
                                users=cfg.user_count,
                                run_time_s=startup + cfg.warmup_s + cfg.stage_duration_s + _LOCUST_STARTUP_S,
                                rps=cfg.rps, workers=cfg.workers,
                                slo_dir=Path(cfg.slo_dir), min_samples=cfg.min_samples, api_key=self.platform.api_key)
        extras: list[StageExtras | None] = []
        hook_thread = self._start_hook(weight, started, judged_from, deadline, load_cfg.samples_file, extras)
        ticker = self._start_progress(weight, load_cfg.samples_file)
        try:
            with self._live_export(weight, load_cfg.samples_file):
                load = run_locust(load_cfg)
        finally:
            self.stop.set()
            if hook_thread is not None:
                hook_thread.join(timeout=30)
            if ticker is not None:
                ticker.join(timeout=5)
            self.stop.clear()
        after = self.usage()
        ended = time.time()
        samples = read_samples(load.samples_file)
        usage = {rev: after[rev] - before[rev] for rev in after if rev in before}
        inputs = StageInputs(
            weight=weight, started_at=started, judged_from=judged_from, ended_at=ended, samples=samples, usage=usage,
            resources=_resources(self.platform), cold_starts=_cold_starts(self.platform), canary_instance=self.canary,
            first_canary_stage=first, reference=reference, extras=extras[0] if extras else None, judged_to=deadline,
        )  # fmt: skip
        stage = judge_stage(inputs, self.slos, judge=cfg.judge, prices=self.prices, cost=cfg.cost,
                            min_samples=cfg.min_samples, monitoring=self.exporter)
        if load.killed:
            stage.notes.append("Locust had to be killed at its deadline; samples up to then are judged")
        stage.events = sorted(stage.events + _platform_events(self.platform, started, ended), key=lambda e: e["t"])
        return stage, judged_window(samples, judged_from, deadline)

    def _live_export(self, weight: int, samples: Path) -> contextlib.AbstractContextManager[object]:
        """Live snapshots to Cloud Monitoring while Locust runs (`--monitoring-interval`), else nothing."""
        exporter, interval = self.exporter, self.config.monitoring_interval
        if exporter is None or not exporter.enabled or interval <= 0:
            return contextlib.nullcontext()
        from harness.monitoring import samples_snapshot

        return exporter.live(samples_snapshot(samples, self.slos, min_samples=self.config.min_samples),
                             interval=interval, run_id=self.run.run_id, stage=str(weight),
                             scenario=Path(self.config.locustfile).stem)

    def _start_hook(self, weight: int, started: float, t0: float, deadline: float, samples: Path,
                    sink: list[StageExtras | None]) -> threading.Thread | None:
        if self.hook is None:
            return None
        hook = self.hook
        ctx = StageContext(self.platform, weight, started, t0, deadline, self.stop, samples)

        def run() -> None:
            if self.stop.wait(max(0.0, t0 - time.time())):
                return
            try:
                sink.append(hook(ctx))
            except Exception as exc:  # a hook failure is an observation, reported as incomplete
                sink.append(StageExtras(complete=False, incomplete_reason=f"experiment failed: {exc}"))

        thread = threading.Thread(target=run, name=f"experiment-stage-{weight}", daemon=True)
        thread.start()
        return thread

    def _start_progress(self, weight: int, samples: Path) -> threading.Thread | None:
        if not self.config.live:
            return None
        progress = StageProgress(self.console, weight, self.config.stage_duration_s, self.config.warmup_s, samples,
                                 self.history)

        def run() -> None:
            with progress:
                while not self.stop.wait(1.0):
                    progress.refresh()

        thread = threading.Thread(target=run, name=f"progress-stage-{weight}", daemon=True)
        thread.start()
        return thread


def _instance_of(platform: Any, revision: str) -> str:
    for name, inst in platform.instances.items():
        rev = inst.get("revision") if isinstance(inst, dict) else getattr(inst, "revision", None)
        if rev == revision:
            return str(name)
    raise ConfigError(f"the topology has no {revision} revision to roll out", field="--topology")


def _platform_events(platform: Any, start: float, end: float) -> list[dict[str, Any]]:
    """The platform's journal (weights, kills, restarts) within the stage, as report events."""
    out = []
    for event in list(getattr(platform, "events", []) or []):
        data = event.as_dict() if hasattr(event, "as_dict") else dict(event)
        ts = float(data.get("ts", 0.0))
        if start - 1.0 <= ts <= end:
            detail = ", ".join(f"{k}={v}" for k, v in (data.get("detail") or {}).items())
            out.append({"t": round(ts - start, 3), "label": f"{data.get('action')} {data.get('instance')} {detail}".strip()})
    return out


def _resources(platform: Any) -> pd.DataFrame | None:
    try:
        return platform.resource_samples()
    except HarnessError:
        return None


def _cold_starts(platform: Any) -> list[dict[str, Any]]:
    return [c.as_dict() if hasattr(c, "as_dict") else dict(c) for c in platform.cold_starts]


def run_rollout(config: RolloutConfig, *, experiment: ExperimentHook | None = None,
                console: Console | None = None,
                exporter: MonitoringExporter | None = None) -> tuple[Path, RunResult]:
    """Run the whole rollout and write its report; returns the run directory and result.

    On Ctrl-C or a harness error mid-run the canary is rolled back, the partial
    report is written (marked incomplete), and the exception propagates.
    `exporter` (`harness.monitoring.MonitoringExporter`, caller-owned: the
    caller closes it) exports every stage's checks to Cloud Monitoring and
    serves `cloud-monitoring` SLOs; an export failure is a note in the report,
    or an `ExportError` when the exporter was built with `require_export`.
    """
    config.validate()
    slos = load_slos(config.slo_dir)
    prices = load_prices(config.prices)
    hook = experiment or (chaos_file_hook(config.experiment, slos=slos) if config.experiment else None)
    out = console or Console()
    run_id = new_run_id("rollout")
    run_dir = Path(config.out) / run_id
    run = RunResult(name="rollout", run_id=run_id, started_at=time.time(), config=config.as_dict(),
                    complete=False, incomplete_reason="the run did not finish")
    from harness.topology import Platform, load_topology

    topology = None if config.attach else load_topology(config.topology)  # bad input fails before any report
    up = Platform.attach(config.attach) if config.attach else Platform.up(topology, config.canary_defect)
    try:
        with up as platform:
            run.cold_starts = [{"instance": c["instance"], "seconds": c["ready_s"]} for c in _cold_starts(platform)]
            rollout = _Rollout(config, platform, run, run_dir, slos, prices, hook, out, exporter)
            out.print(f"rollout {run_id}: stages {config.as_dict()['stages']} at {config.rps:g} req/s, "
                      f"{config.stage_duration_s:g} s each (+{config.warmup_s:g} s warm-up)")
            try:
                rollout.execute()
            except BaseException:
                rollout.stop.set()
                rollout.rollback()
                raise
            run.complete, run.incomplete_reason = True, ""
    except BaseException as exc:
        reason = "interrupted (Ctrl-C or SIGTERM)" if isinstance(exc, KeyboardInterrupt) else str(exc) or type(exc).__name__
        run.complete = False
        run.incomplete_reason = reason + ("; canary rolled back" if run.rolled_back else "")
        raise
    finally:
        _finish(run, run_dir)
    return run_dir, run


def _finish(run: RunResult, run_dir: Path) -> None:
    run.ended_at = time.time()
    run.judge()
    save_run(run, run_dir)
    render_run(run_dir)
    update_latest(run_dir)
