"""The rollout: canary stages 10 → 50 → 100 % on the run engine, judged as evidence arrives.

    run_dir, run = run_rollout(RolloutConfig(stages=(10, 50, 100), rps=200))

Per stage: set the canary weight (`Engine.set_weight`), run Locust for the
warm-up plus up to `max_stage_duration_s` while an optional experiment hook
runs inside the judged window, and re-judge (`judge_stage`) on the samples so
far every couple of seconds once `min_stage_duration_s` of judged time has
passed: any FAIL stops the stage (rollback), every check decided stops it
early (promote); at the max duration what is still undecided is INCONCLUSIVE.
An inconclusive stage never promotes. Every stop path — FAIL, Ctrl-C,
SIGTERM, an exception — goes through the engine's one rollback, and the
report is written, marked incomplete when the run did not finish.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console

from harness._exceptions import ConfigError, HarnessError
from harness._verdicts import Check, Verdict, op_symbol
from harness.canary._cost import CostConfig, PriceTable, Usage, load_prices, scrape_usage
from harness.canary._hooks import ExperimentHook, StageContext, chaos_file_hook
from harness.canary._judge import JudgeConfig
from harness.engine._host import HostCPU
from harness.routers.options import RouterOptions, make_router
from harness.canary._live import follow_platform_start, follow_stage_lines, follow_stages
from harness.canary._stage import StageExtras, StageInputs, judge_stage, judged_window
from harness.engine import Events, PlatformHandle, RunFinished
from harness.engine._engine import LOCUST_STARTUP_S, Engine
from harness.engine._load import DEFAULT_LOCUSTFILE, LoadSettings
from harness.engine._plan import check_positive, platform_for, stop_reason
from harness.report._markdown import display_unit, format_value
from harness.report._model import RunResult, StageResult
from harness.report._render import render_run
from harness.report._series import cost_series
from harness.report._store import new_run_id, save_run, update_latest
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, judged_in, load_slos

if TYPE_CHECKING:
    from harness.monitoring import MonitoringExporter

__all__ = ["RolloutConfig", "run_rollout", "failure_reason"]

LOOK_EVERY_S = 2.0
"""How often a running stage is re-judged on the samples so far."""


@dataclass(frozen=True)
class RolloutConfig:
    """Settings of one rollout (the `harness rollout` flags)."""

    topology: str | None = None
    """Topology file (default: the packaged xynergy topology)."""
    attach: str | None = None
    """State file of a platform already up (`harness up`); None brings one up."""
    stages: tuple[int, ...] = (10, 50, 100)
    stage_duration_s: float = 60.0
    """Shortcut: both the min and the max stage duration, unless those are given."""
    min_stage_duration_s: float | None = None
    """Judged time before the stage may stop early on decided evidence."""
    max_stage_duration_s: float | None = None
    """Judged time after which undecided checks are INCONCLUSIVE."""
    warmup_s: float = 10.0
    rps: float = 100.0
    """At 200 req/s a 2-core machine running the platform, Locust and the harness misses the 100 ms p95 with
    healthy code (the instance carrying 90 % of the traffic: p95 86–145 ms, measured), so the canary would be
    judged on the machine's limits."""
    users: int = 0
    """Locust users (0: the engine's default for the rate)."""
    canary_defect: str | None = None
    experiment: str | None = None
    out: str = "reports"
    slo_dir: str = "slos"
    locustfile: str = str(DEFAULT_LOCUSTFILE)
    prices: str | None = None
    min_samples: int = DEFAULT_MIN_SAMPLES
    judge: JudgeConfig = field(default_factory=JudgeConfig)
    cost: CostConfig = field(default_factory=CostConfig)
    live: bool = True
    workers: int = 0
    """Locust worker processes (0: one process; N: a master and N local workers)."""
    monitoring_interval: float = 0.0
    """Live Cloud Monitoring export period while a stage runs (0: off)."""
    baseline_ref: str | None = None
    """Git ref the baseline's services run from (None with `canary_ref` set: the merge base)."""
    canary_ref: str | None = None
    """Git ref the canary's services run from (None with `baseline_ref` set: the working tree)."""
    router: RouterOptions = field(default_factory=RouterOptions)
    """Who shifts the canary's share (default: the embedded edge)."""
    command: str = ""
    """The command line that reproduces this run (recorded in the report for its rerun hint)."""

    @property
    def min_s(self) -> float:
        return self.stage_duration_s if self.min_stage_duration_s is None else self.min_stage_duration_s

    @property
    def max_s(self) -> float:
        return max(self.stage_duration_s, self.min_s) if self.max_stage_duration_s is None else self.max_stage_duration_s

    def load(self) -> LoadSettings:
        return LoadSettings(locustfile=Path(self.locustfile), users=self.users, workers=self.workers,
                            min_samples=self.min_samples, slo_dir=Path(self.slo_dir),
                            monitoring_interval=self.monitoring_interval, live=self.live)

    def validate(self) -> None:
        """Reject bad settings before anything starts; errors name the flag."""
        if not self.stages:
            raise ConfigError("give at least one stage", field="--stages")
        if any(not 1 <= s <= 100 for s in self.stages) or list(self.stages) != sorted(set(self.stages)):
            raise ConfigError(f"{','.join(map(str, self.stages))}: stages must be increasing percentages 1-100",
                              field="--stages")
        check_positive(("--stage-duration", self.stage_duration_s), ("--min-stage-duration", self.min_s),
                       ("--max-stage-duration", self.max_s), ("--rps", self.rps))
        check_positive(("--warmup", self.warmup_s), zero_ok=True)
        if self.min_s > self.max_s:
            raise ConfigError(f"{self.min_s:g} s is longer than the max stage duration {self.max_s:g} s",
                              field="--min-stage-duration")
        if self.max_s > 3600 or self.rps > 10_000:
            raise ConfigError("stage duration at most 1 h and rate at most 10000 req/s", field="--stage-duration/--rps")
        if self.attach and (self.canary_defect or self.topology):
            raise ConfigError("an attached platform is already up: give its defect and topology to `harness up`",
                              field="--attach")
        if self.canary_defect:
            from harness.topology._model import validate_defect

            validate_defect(self.canary_defect, source="--canary-defect", field_name="")
        self.load().validate()

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["stages"] = ",".join(map(str, self.stages))
        data.pop("judge"), data.pop("cost"), data.pop("live")
        router = data.pop("router")
        if self.router.kind != "edge":
            data["router"] = {k: v for k, v in router.items() if v is not None}
        return {k: v for k, v in data.items() if v not in (None, "")}


def failure_reason(stage: StageResult) -> str:
    """'stage 10 %: compare/latency failed: +51.0 ms against < 5.0 ms (…)' for the first bad check."""
    bad = sorted(stage.failed_checks(), key=lambda c: c.verdict is not Verdict.FAIL)
    if not bad:
        return f"stage {stage.weight} %: {stage.verdict.value} ({stage.incomplete_reason or 'no checks'})"
    c: Check = display_unit(bad[0])  # an error-ratio SLO saved without a unit reads as 16.67 %, not 0.1667
    more = f" (+{len(bad) - 1} more)" if len(bad) > 1 else ""
    detail = f" — {c.detail}" if c.detail else ""
    if c.detail.startswith("too few samples"):
        detail += " (raise --max-stage-duration or --rps: the canary gets only its weight's share of the traffic)"
    return (f"stage {stage.weight} %: {c.name} [{c.scope}] {c.verdict.value}: {format_value(c.value, c.unit)} "
            f"against {op_symbol(c.op)} {format_value(c.objective, c.unit)}{detail}{more}")


class _Rollout:
    """The stage loop of one rollout on an engine session."""

    def __init__(self, config: RolloutConfig, engine: Engine, run: RunResult, slos: list[SLO], prices: PriceTable,
                 hook: ExperimentHook | None, console: Console, exporter: MonitoringExporter | None,
                 history: list[str]) -> None:
        self.config, self.engine, self.run, self.slos, self.prices = config, engine, run, slos, prices
        self.hook, self.console, self.exporter, self.history = hook, console, exporter, history
        route = engine.platform.canary
        if route is None:
            raise ConfigError("the topology has no canary revision to roll out", field="--topology")
        self.canary, self.baseline = route.canary, route.baseline
        self.stop = threading.Event()

    def execute(self) -> None:
        reference: pd.DataFrame | None = None
        try:
            cold = self.engine.deploy(self.canary)  # its cold start without the whole platform starting beside it
        except HarnessError as exc:
            self.run.notes.append(f"canary redeploy failed, judging its first start instead: {exc}")
        else:
            self.run.events.append({"t": round(time.time() - self.run.started_at, 3),
                                    "label": f"deployed {self.canary}: ready in {cold.ready_s:.2f} s"})
        instances = self.engine.platform.instances
        caches = ", ".join(f"{n}: {instances[n].cache or 'unknown'}" for n in (self.baseline, self.canary) if n in instances)
        shared = self._shared_cache()
        self.run.notes.append(f"response cache — {caches} ("
                              + ("one Redis shared by both revisions" if shared else
                                 "not shared: cache hit ratio and actual cost are not judged" if shared is False else
                                 "unknown: cache hit ratio and actual cost are not judged") + ")")
        for index, weight in enumerate(self.config.stages):
            stage, judged = self.stage(weight, first=index == 0, reference=reference)
            self.run.stages.append(stage)
            self.history.append(f"{weight} % {stage.verdict.value}")
            self.export(stage)
            self.run.ended_at = time.time()
            self.run.judge()
            save_run(self.run, self.engine.run_dir)
            self.console.print(f"stage {weight} %: [bold]{stage.verdict.value.upper()}[/] "
                               f"({sum(c.verdict is Verdict.PASS for c in stage.checks)}/{len(stage.checks)} checks pass)")
            if stage.verdict is not Verdict.PASS:
                self.engine.set_weight(0, reason="rollback")
                self.run.rolled_back = True
                self.run.reason = failure_reason(stage)
                return
            baseline = judged[judged["revision"] == self.config.judge.baseline_revision]
            # a later partial stage with too little baseline of its own borrows the latest ample one
            if len(baseline) >= self.config.judge.min_samples:
                reference = baseline
        self.run.reason = f"promoted to {self.config.stages[-1]} %"

    def export(self, stage: StageResult) -> None:
        """The stage's checks to Cloud Monitoring (outcome in the notes); raises only with `--require-export`."""
        if self.exporter is None or self.exporter.project is None:
            return
        result = self.exporter.export_checks(
            stage.checks, run_id=self.run.run_id, stage=str(stage.weight), scenario=Path(self.config.locustfile).stem,
            kind="rollout", end_time=stage.ended_at,
        )  # fmt: skip
        self.run.notes.append(f"stage {stage.weight} %: {result.message}")

    def usage(self, notes: list[str] | None) -> dict[str, Usage]:
        out = {}
        for revision, name in (("baseline", self.baseline), ("canary", self.canary)):
            try:
                out[revision] = scrape_usage(self.engine.platform.metrics_url(name))
            except HarnessError as exc:
                if notes is not None:
                    notes.append(f"no /metrics from {name}: {exc}")
        return out

    def stage(self, weight: int, *, first: bool, reference: pd.DataFrame | None) -> tuple[StageResult, pd.DataFrame]:
        cfg, platform = self.config, self.engine.platform
        self.engine.set_weight(weight, reason="stage")
        before = self.usage(self.run.notes)
        started = time.time()
        startup = self.engine.startup_s - LOCUST_STARTUP_S  # workers connecting before any user starts
        judged_from = started + startup + cfg.warmup_s
        deadline = judged_from + cfg.max_s
        extras: list[StageExtras | None] = []
        hook = self._start_hook(weight, started, judged_from, deadline, extras)

        # the host over the judged window: read from its start (a timer) to each judgement; before the
        # window starts, over the stage so far. Locust's start-up and the warm-up are not the stage's load.
        hosts = [HostCPU()]
        window_opens = threading.Timer(max(0.0, judged_from - time.time()), lambda: hosts.append(HostCPU()))
        window_opens.daemon = True
        window_opens.start()

        def inputs(samples: pd.DataFrame, usage: dict[str, Usage], ended: float, judged_to: float) -> StageInputs:
            host = hosts[-1]
            return StageInputs(
                host_cpu_percent=host.percent(), host_cpu_pressure=host.pressure(),
                weight=weight, started_at=started, judged_from=judged_from, ended_at=ended, samples=samples,
                usage={r: usage[r] - before[r] for r in usage if r in before}, resources=_resources(platform),
                cold_starts=[c.as_dict() for c in platform.cold_starts], canary_instance=self.canary,
                first_canary_stage=first, reference=reference, extras=extras[0] if extras else None,
                judged_to=judged_to,
            )  # fmt: skip

        decided: list[float] = []

        def look(samples: pd.DataFrame) -> bool:
            """Re-judge on the samples so far; True once the evidence decides (after the min duration)."""
            now = time.time()
            if now - judged_from < cfg.min_s:
                return False
            interim = self._judge(inputs(samples, self.usage(None), now, now), final=False)
            self.engine.judged(str(weight), interim.checks, final=False)
            failed = any(c.verdict is Verdict.FAIL for c in interim.checks)
            settled = interim.checks and all(c.verdict is Verdict.PASS for c in interim.checks)
            if failed or (settled and (hook is None or not hook.is_alive())):
                decided.append(now - judged_from)
                return True
            return False

        try:
            load = self.engine.run_load(
                str(weight), self.engine.run_dir / f"stage-{weight}", weight=weight, rps=cfg.rps, warmup_s=cfg.warmup_s,
                duration_s=cfg.warmup_s + cfg.max_s,
                look=look if cfg.min_s < cfg.max_s else None, look_every_s=LOOK_EVERY_S,
            )  # fmt: skip
        finally:
            window_opens.cancel()
            self.stop.set()
            if hook is not None:
                hook.join(timeout=30)
            self.stop.clear()
        ended = time.time()
        judged_to = min(deadline, judged_from + decided[0]) if decided else deadline
        stage = self._judge(inputs(load.samples, self.usage(self.run.notes), ended, judged_to), load.integrity)
        stage.series += cost_series(load.samples, started, self.prices, t1=ended)  # cost and calls by tier, over time
        self.engine.judged(str(weight), stage.checks)
        if decided:
            stage.decided_after_s = round(decided[0], 3)
            stage.notes.append(f"decided after {decided[0]:.1f} s of judged time (min {cfg.min_s:g} s, "
                               f"max {cfg.max_s:g} s)")
        stage.events = sorted(stage.events + self.engine.report_events(started, ended), key=lambda e: float(e["t"]))
        return stage, judged_window(load.samples, judged_from, judged_to)

    def _shared_cache(self) -> bool | None:
        """Whether both revisions answer from one cache (then hit ratio and actual cost are like with like)."""
        caches = {self.engine.platform.instances[n].cache for n in (self.baseline, self.canary)
                  if n in self.engine.platform.instances}
        return None if caches in (set(), {None}) else caches == {"redis"}

    def _judge(self, inputs: StageInputs, integrity: Check | None = None, *, final: bool = True) -> StageResult:
        """`judge_stage` (the anytime-valid judges) plus the load's own integrity check."""
        shared = self._shared_cache()
        stage = judge_stage(inputs, self.slos, judge=replace(self.config.judge, shared_cache=shared),
                            prices=self.prices, cost=replace(self.config.cost, shared_cache=shared),
                            min_samples=self.config.min_samples, monitoring=self.exporter, final=final,
                            target_rps=self.config.rps)
        if integrity is not None:
            stage.checks.append(integrity)
            stage.judge()
        return stage

    def _start_hook(self, weight: int, started: float, t0: float, deadline: float,
                    sink: list[StageExtras | None]) -> threading.Thread | None:
        if self.hook is None:
            return None
        hook = self.hook
        ctx = StageContext(self.engine.platform, weight, started, t0, deadline, self.stop, self.engine.faults)

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


def _resources(platform: PlatformHandle) -> pd.DataFrame | None:
    try:
        return platform.resource_samples()
    except HarnessError:
        return None


def run_rollout(config: RolloutConfig, *, experiment: ExperimentHook | None = None, console: Console | None = None,
                exporter: MonitoringExporter | None = None, events: Events | None = None) -> tuple[Path, RunResult]:
    """Run the whole rollout and write its report; returns the run directory and result.

    On any stop (Ctrl-C, SIGTERM, SIGHUP, a harness error) the engine rolls
    back faults and traffic, the partial report is written (marked
    incomplete), and the exception propagates (`Stopped` carries the exit
    code). `exporter` (caller-owned) exports every stage's checks to Cloud
    Monitoring and serves `cloud-monitoring` SLOs. `events` lets a caller
    listen to the run (see `harness.engine.Events`).
    """
    config.validate()
    slos = judged_in(load_slos(config.slo_dir), "rollout")
    prices = load_prices(config.prices)
    hook = experiment or (chaos_file_hook(config.experiment, slos=slos, topology=config.topology,
                                          attach=config.attach) if config.experiment else None)
    out = console or Console()
    run_id = new_run_id("rollout")
    run_dir = Path(config.out) / run_id
    run = RunResult(name="rollout", run_id=run_id, started_at=time.time(), config=config.as_dict(),
                    complete=False, incomplete_reason="the run did not finish")
    engine = Engine("rollout", run_id, run_dir, config.load(), events=events, exporter=exporter, slos=slos)
    history: list[str] = []
    follow_platform_start(engine.events, out, live=config.live)
    if config.live:
        follow_stages(engine.events, out, history)
    else:
        follow_stage_lines(engine.events, out)

    def finish(error: BaseException | None) -> None:
        run.complete = error is None
        if error is not None:
            run.rolled_back = run.rolled_back or engine.routed
            run.incomplete_reason = stop_reason(error) + ("; traffic restored" if engine.routed else "")
        else:
            run.incomplete_reason = ""
        run.ended_at = time.time()
        run.judge()
        save_run(run, run_dir)
        render_run(run_dir)
        update_latest(run_dir)
        engine.events.run_finished.fire(RunFinished(run_id, run.verdict.value, run.exit_code, run.complete, run.reason))

    revisions = None
    if config.baseline_ref is not None or config.canary_ref is not None:
        from harness.revisions import build_revisions

        builds = build_revisions(Path("."), baseline_ref=config.baseline_ref, canary_ref=config.canary_ref)
        revisions = {b.label: b for b in builds}
        run.config["revisions"] = {b.label: b.record() for b in builds}
        for b in builds:
            out.print(f"{b.label}: {b.ref} @ {b.commit[:12]}{' (dirty)' if b.dirty else ''} — "
                      f"{'reused' if b.reused else 'built'} in {b.seconds:.1f} s")
    with engine.session(platform_for(config.topology, config.attach, config.canary_defect,
                                     revisions=revisions, progress=engine.events.platform_progress.fire), finish):
        route = engine.platform.canary
        engine.router_override = make_router(config.router, service=route.service if route else "")
        if engine.router_override is not None:
            out.print(f"traffic router: {engine.router_override.describe()} (restored on every stop)")
            split = engine.router_override.current()  # samples carry the router's revision names
            config = replace(config, judge=replace(config.judge, baseline_revision=split.baseline,
                                                   canary_revision=split.canary))
        run.cold_starts = [{"instance": c.instance, "seconds": c.ready_s} for c in engine.platform.cold_starts]
        out.print(f"rollout {run_id}: stages {config.as_dict()['stages']} at {config.rps:g} req/s, "
                  f"{config.min_s:g}-{config.max_s:g} s each (+{config.warmup_s:g} s warm-up)")
        _Rollout(config, engine, run, slos, prices, hook, out, exporter, history).execute()
    return run_dir, run
