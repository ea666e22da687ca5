"""The soak: one steady load for a long time, judged window by window, with memory watched throughout.

    result = run_soak(SoakConfig(duration_s=3600, rps=1000, snapshot_every_s=300))
    sys.exit(result.exit_code)

One Locust for the whole duration (no restarts: a steady rate, and its own
RSS is one process's curve), inside an engine session, so every stop path
(Ctrl-C, SIGTERM, SIGHUP, an error) stops Locust, restores the traffic split,
closes the platform and writes an incomplete report. While it runs the
orchestrator holds one window's samples at most: every `snapshot_every_s`
the window's SLO verdict is printed and written to
`<run>/snapshots/snapshot-NNN.json` (and appended to `snapshots.jsonl`) as it
goes. At the end the SLOs are judged over the whole run (reading only the
columns they need, strings as Categoricals), beside the memory verdicts of
the platform's processes (`memory-leak`) and of the harness's own
(`harness-memory`, slopes in MiB/h), the load's integrity and the windows.
The report (summary.json, summary.md, HTML, JUnit) is the rollout's, with the
soak as its one stage; summary.json also carries a `soak` section.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd
from rich.console import Console

from harness._exceptions import ConfigError
from harness._verdicts import Check, Verdict, json_safe
from harness.engine import Events, RunFinished, SamplesFlushed, StageFinished, StageStarted
from harness.engine._engine import Engine
from harness.engine._load import DEFAULT_LOCUSTFILE, LoadSettings, integrity_check
from harness.engine._plan import platform_for, stop_reason
from harness.engine._tail import BatchTail
from harness.report._model import RunResult, Series, StageResult, Window
from harness.report._render import render_run
from harness.report._store import new_run_id, save_run, update_latest, write_json
from harness.samples import read_samples
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, evaluate, judged_in, load_slos
from harness.slo._evaluate import needed_columns
from harness.soak._memory import HARNESS_INSTANCES, harness_sampler, leak_checks, slopes
from harness.soak._window import WHOLE_RUN_ALPHA, Snapshot, SnapshotWindows
from harness.stats import settle_at_max_duration

if TYPE_CHECKING:
    from harness.load import LocustRun

__all__ = ["SoakConfig", "run_soak"]

STAGE = "soak"


@dataclass(frozen=True)
class SoakConfig:
    """What `harness soak` was asked to do."""

    duration_s: float = 3600.0
    rps: float = 100.0
    snapshot_every_s: float = 300.0
    warmup_s: float | None = None
    """RSS ignored at the start when fitting slopes (default: 10 % of the duration, 5 s to 5 min)."""
    topology: Path | None = None
    attach: Path | None = None
    canary_defect: str | None = None
    out: Path = Path("reports")
    slo_dir: Path = Path("slos")
    locustfile: Path = DEFAULT_LOCUSTFILE
    min_samples: int = DEFAULT_MIN_SAMPLES
    users: int = 0
    workers: int = 0
    live: bool = True

    def load(self) -> LoadSettings:
        return LoadSettings(locustfile=self.locustfile, users=self.users, workers=self.workers,
                            min_samples=self.min_samples, slo_dir=self.slo_dir, live=self.live)

    @property
    def memory_warmup_s(self) -> float:
        return self.warmup_s if self.warmup_s is not None else min(300.0, max(5.0, 0.1 * self.duration_s))

    def validate(self) -> None:
        """Reject bad values before anything starts; errors name the flag."""
        for value, flag in ((self.duration_s, "--duration"), (self.rps, "--rps"),
                            (self.snapshot_every_s, "--snapshot-every")):
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"must be positive, got {value:g}", field=flag)
        if self.snapshot_every_s > self.duration_s:
            raise ConfigError(f"{self.snapshot_every_s:g} s is longer than --duration ({self.duration_s:g} s)",
                              field="--snapshot-every")
        if self.warmup_s is not None and not 0 <= self.warmup_s < self.duration_s:
            raise ConfigError("must be zero or more and shorter than --duration", field="--memory-warmup")
        self.load().validate()

    def as_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}


@dataclass
class _State:
    """What the soak learned while it ran (the finish step reads it, whatever stopped the run)."""

    t0: float = 0.0
    snapshots: list[Snapshot] = field(default_factory=list)
    windows: SnapshotWindows | None = None
    locust: LocustRun | None = None
    platform_rss: pd.DataFrame | None = None
    harness_rss: pd.DataFrame | None = None
    max_held_rows: int = 0


def run_soak(config: SoakConfig, *, events: Events | None = None, console: Console | None = None) -> RunResult:
    """Run one soak end to end on the run engine; return its (saved and rendered) result."""
    config.validate()
    slos = judged_in(load_slos(config.slo_dir), "soak")
    out = console or Console(stderr=True)
    run_id = new_run_id("soak")
    run_dir = config.out / run_id
    run = RunResult(name="soak", run_id=run_id, kind="soak", started_at=time.time(), config=config.as_dict(),
                    complete=False, incomplete_reason="the run did not finish")
    engine = Engine("soak", run_id, run_dir, config.load(), events=events, slos=slos)
    state = _State()
    snapshots_dir = run_dir / "snapshots"

    def finish(error: BaseException | None) -> None:
        run.complete = error is None
        run.incomplete_reason = "" if error is None else stop_reason(error)
        run.ended_at = time.time()
        _conclude(run, state, slos, config, run_dir, out, snapshots_dir)
        engine.events.run_finished.fire(RunFinished(run_id, run.verdict.value, run.exit_code, run.complete, run.reason))

    with engine.session(platform_for(config.topology, config.attach, config.canary_defect, run_dir / "platform"),
                        finish) as platform:
        sampler = harness_sampler(config.duration_s).start()
        try:
            _soak(engine, config, slos, state, out, snapshots_dir)
        finally:
            sampler.stop()
            state.harness_rss = sampler.frame()
            try:
                state.platform_rss = platform.resource_samples()
            except Exception as exc:  # noqa: BLE001 - an attached platform may not answer any more
                run.notes.append(f"platform RSS unavailable: {exc}")
    return run


def _soak(engine: Engine, config: SoakConfig, slos: list[SLO], state: _State, out: Console, snapshots_dir: Path) -> None:
    """The load and the windows: one Locust for the whole duration, a snapshot whenever a window closes."""
    from harness.load import LocustConfig, run_locust

    load_dir = engine.run_dir / "load"
    cfg = LocustConfig(locustfile=config.locustfile, host=engine.platform.edge_url, out_dir=load_dir,
                       users=engine.load.users_for(config.rps), run_time_s=config.duration_s + engine.startup_s,
                       rps=config.rps, api_key=engine.platform.api_key, slo_dir=config.slo_dir,
                       min_samples=config.min_samples, workers=config.workers)
    state.t0 = time.time() + engine.startup_s  # Locust's users start about this much later
    windows = state.windows = SnapshotWindows(slos, state.t0, config.snapshot_every_s, config.duration_s,
                                              config.min_samples, target_rps=config.rps)
    tail = BatchTail(cfg.samples_file)
    snapshots_dir.mkdir(parents=True, exist_ok=True)
    out.print(f"soak {engine.run_id}: {config.rps:g} req/s for {config.duration_s:g} s, a snapshot every "
              f"{config.snapshot_every_s:g} s → {engine.run_dir}")

    def publish(snaps: list[Snapshot]) -> None:
        for snap in snaps:
            state.snapshots.append(snap)
            _write_snapshot(snap, state.t0, snapshots_dir)
            engine.judged(f"{STAGE}/window-{snap.index + 1}", snap.checks, final=False)
            out.print(snap.line(state.t0))

    def poll() -> bool:
        batches = tail.read_batches()
        if batches:
            windows.add(batches)
            state.max_held_rows = max(state.max_held_rows, windows.held_rows)
            new = pd.concat([b.to_pandas() for b in batches], ignore_index=True)
            engine.events.samples_flushed.fire(SamplesFlushed(STAGE, cfg.samples_file, tail.rows, new))
        publish(windows.due(time.time()))
        return False

    engine.events.stage_started.fire(StageStarted(STAGE, None, cfg.samples_file, config.duration_s, 0.0))
    try:
        state.locust = run_locust(cfg, poll=poll)
    finally:
        engine.events.stage_finished.fire(StageFinished(STAGE, "", None))
    windows.add(tail.read_batches())
    publish(windows.rest(time.time()))


def _write_snapshot(snap: Snapshot, t0: float, directory: Path) -> None:
    data = snap.to_dict(t0)
    write_json(directory / f"snapshot-{snap.index + 1:03d}.json", data)
    with (directory / "snapshots.jsonl").open("a") as fh:
        _line(fh, data)


def _line(fh: TextIO, data: dict[str, Any]) -> None:
    fh.write(json.dumps(data, separators=(",", ":")) + "\n")
    fh.flush()


def _conclude(run: RunResult, state: _State, slos: list[SLO], config: SoakConfig, run_dir: Path, out: Console,
              snapshots_dir: Path) -> None:
    """Whole-run verdicts, memory verdicts, the report; runs on every stop path."""
    if state.windows is not None and not run.complete:  # stopped: judge what the open windows hold
        for snap in state.windows.rest(run.ended_at):
            state.snapshots.append(snap)
            _write_snapshot(snap, state.t0, snapshots_dir)
            out.print(snap.line(state.t0))
    stage = StageResult(name=STAGE, weight=0, started_at=state.t0 or run.started_at, ended_at=run.ended_at,
                        complete=run.complete, incomplete_reason=run.incomplete_reason)
    samples_file = run_dir / "load" / "samples.arrow"
    rows = 0
    if samples_file.exists():
        frame = read_samples(samples_file, columns=needed_columns(slos, health_check=True) or ["ts"],
                             categorical=True)  # measurement SLOs only: still count the rows
        rows = len(frame)
        judged = evaluate(slos, frame, min_samples=config.min_samples, alpha=WHOLE_RUN_ALPHA, health_check=True,
                          target_rps=config.rps)
        # the whole duration ran: the last look, settled as a stage's at its maximum duration
        stage.checks += settle_at_max_duration(judged) if run.complete else judged
        stage.requests = {str(k): int(v) for k, v in frame["revision"].value_counts(sort=False).items() if v} \
            if "revision" in frame else {}
        del frame
    if state.locust is not None:
        stage.checks.append(integrity_check(state.locust, rows, config.workers))
    stage.checks.append(_windows_check(state.snapshots))
    warm = config.memory_warmup_s
    platform_rss = state.platform_rss if state.platform_rss is not None else pd.DataFrame()
    leaks: list[Check] = []
    if not platform_rss.empty and "ts" in platform_rss:
        platform_rss = platform_rss[platform_rss["ts"] >= run.started_at]
        own = [i for i in platform_rss["instance"].unique() if i not in HARNESS_INSTANCES]
        leaks = leak_checks(platform_rss, warmup_s=warm, harness=False, only=own)
    if not leaks:  # missing input is INCONCLUSIVE, never a soak that passes without a leak verdict
        leaks = [Check(name="memory-leak", verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="lte",
                       unit="MiB/h", scope="platform", kind="resource",
                       detail="no RSS samples of the platform's processes: memory growth not judged")]
    stage.checks += leaks
    harness_rss = pd.concat([f for f in (state.harness_rss, platform_rss[platform_rss["instance"].isin(HARNESS_INSTANCES)]
                                         if not platform_rss.empty else None) if f is not None and not f.empty],
                            ignore_index=True) if state.harness_rss is not None else pd.DataFrame()  # fmt: skip
    stage.checks += leak_checks(harness_rss, warmup_s=warm, harness=True)
    stage.series = _rss_series(platform_rss, harness_rss, run.started_at)
    stage.windows = [Window(s.start - run.started_at, s.end - run.started_at,
                            f"window {s.index + 1}: {s.verdict.value}", kind="snapshot") for s in state.snapshots]
    stage.judge()
    run.stages = [stage]
    run.judge()
    failed = [c for c in stage.checks if c.verdict is not Verdict.PASS]
    run.reason = "every check passed" if not failed else \
        f"{failed[0].name} ({failed[0].scope}): {failed[0].verdict.value} — {failed[0].detail}"
    save_run(run, run_dir)
    _add_soak_section(run_dir, state, platform_rss, harness_rss, warm, rows)
    render_run(run_dir)
    update_latest(run_dir)


def _windows_check(snapshots: list[Snapshot]) -> Check:
    """`soak/windows`: FAIL when any window FAILed (a breach the whole-run figure may average away)."""
    failed = [s for s in snapshots if s.verdict is Verdict.FAIL]
    undecided = [s for s in snapshots if s.verdict is Verdict.INCONCLUSIVE]
    if not snapshots:
        verdict, detail = Verdict.INCONCLUSIVE, "no window was judged"
    elif failed:
        verdict = Verdict.FAIL
        detail = f"{len(failed)} of {len(snapshots)} windows FAILed (first: window {failed[0].index + 1})"
    else:
        verdict = Verdict.PASS
        detail = f"no window FAILed ({len(snapshots)} judged" + (f", {len(undecided)} inconclusive)" if undecided else ")")
    return Check(name="soak/windows", verdict=verdict, value=float(len(failed)), objective=0.0, op="lte",
                 samples=sum(s.samples for s in snapshots), scope="all", kind="slo", detail=detail,
                 extra={"windows": len(snapshots), "failed": [s.index + 1 for s in failed],
                        "inconclusive": [s.index + 1 for s in undecided]})  # fmt: skip


def _rss_series(platform: pd.DataFrame, harness: pd.DataFrame, started: float) -> list[Series]:
    out = []
    for frame in (platform, harness):
        if frame.empty:
            continue
        for name, group in frame.groupby("instance", sort=True):
            step = max(1, len(group) // 360)  # a chart needs a few hundred points, not every sample
            part = group.iloc[::step]
            out.append(Series(name=str(name), chart="rss", t=[round(float(t) - started, 2) for t in part["ts"]],
                              y=[round(float(b) / 2**20, 2) for b in part["rss_bytes"]], unit="MiB"))
    return out


def _add_soak_section(run_dir: Path, state: _State, platform: pd.DataFrame, harness: pd.DataFrame, warm: float,
                      rows: int) -> None:
    """summary.json's `soak` section: the snapshots and every process's RSS slope (MiB/h)."""
    path = run_dir / "summary.json"
    summary = json.loads(path.read_text())
    summary["soak"] = json_safe({
        "t0": state.t0,
        "samples": rows,
        "max_rows_held_in_memory": state.max_held_rows,
        "memory_warmup_s": warm,
        "snapshots": [{k: v for k, v in s.to_dict(state.t0).items() if k != "checks"} for s in state.snapshots],
        "rss_platform": slopes(platform, warmup_s=warm) if not platform.empty else {},
        "rss_harness": slopes(harness, warmup_s=warm) if not harness.empty else {},
    })
    write_json(path, summary)


