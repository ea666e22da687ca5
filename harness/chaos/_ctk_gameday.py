"""A game day from a Chaos Toolkit experiment file: chaostoolkit-lib runs it, the harness loads and judges.

    result = run_gameday(GameDayConfig(Path("chaos/ctk/latency-on-ai-routing.json"), rps=20))

chaostoolkit-lib's own `run_experiment` executes the file (steady-state
hypothesis with tolerances, method, pauses, rollbacks, configuration,
secrets; python/http/process providers), with chaostoolkit-toxiproxy pointed
at the harness's Toxiproxy, where every topology link is a proxy of the same
name. Around it the harness does what it does for its own experiments:

1. validate the file (chaoslib's validator + every toxiproxy activity names a
   link of the topology in use) and the SLO names, before anything starts;
2. bring up (or attach to) the platform on the engine and start steady load
   in a thread (chaoslib must own the main thread: it sets signal handlers);
3. after a warm-up, run the experiment; its journal goes to
   `reports/<run-id>/journal.json`, exactly what `chaos run` would write;
4. keep the load a tail longer, then judge the steady state before/after
   (SLO files), failover/recovery over the fault windows read from the
   journal, and the experiment's own outcome (`ctk-experiment` check);
5. whatever ends the run, remove every toxic and re-enable every proxy this
   run changed (chaoslib skips rollbacks after an interruption).

SIGINT, SIGTERM and SIGHUP end the run as for harness experiments (130 / 143
/ 129, partial report): chaoslib swallows the interruption and returns an
`interrupted` journal, so the signal is recorded on the way in and raised
again once the journal is saved and the load stopped.
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

import pandas as pd

from harness._config import load_yaml_documents
from harness._exceptions import ConfigError, ExperimentError, HarnessError
from harness._verdicts import Check, Verdict
from harness.chaos._experiment import HealthyRule
from harness.chaos._failover import FaultWindow, failover_checks, measure_faults
from harness.engine import Events, FaultInjected, FaultRemoved, RunFinished, SamplesFlushed
from harness.engine._engine import Engine, LoadOutcome
from harness.engine._plan import check_positive, names_in_use, platform_for, stop_reason
from harness.engine._platform import PlatformHandle
from harness.report._gameday import GameDayResult
from harness.report._series import sample_series
from harness.report._store import new_run_id
from harness.samples import empty_samples
from harness.slo import SLO, load_slos
from harness.topology._process import StopState, Stopped, signals_ignored

if TYPE_CHECKING:
    from harness.chaos._gameday import GameDayConfig
    from harness.monitoring import MonitoringExporter

__all__ = ["is_ctk_file", "run_ctk_gameday", "validate_ctk_file", "CtkSettings", "ctk_status_check"]

EXTENSION = "xynergy-harness"
"""The name of the experiment's `extensions` entry that carries harness settings (CTK's own place for them)."""
MAX_LOAD_S = 900.0
"""Load runs until the experiment ends (+ the tail); this bounds it when no --duration is given."""


def is_ctk_file(path: Path) -> bool:
    """True when `path` holds a Chaos Toolkit experiment (JSON or YAML), not a harness experiment file."""
    from harness.ctk._experiment import is_ctk_experiment

    try:
        docs = load_yaml_documents(path)  # JSON is YAML; hostile files are one ConfigError
    except ConfigError:
        return False  # the harness loader names the problem
    return len(docs) == 1 and is_ctk_experiment(docs[0])


@dataclass(frozen=True)
class CtkSettings:
    """What the harness needs beyond CTK's format, from `extensions: [{name: xynergy-harness, ...}]`.

    `slos`: judged on the steady state before the first fault and after the
    last; `judge`: what every fault is judged on (`recovery` by default: a
    latency toxic on a single upstream has nothing to fail over to);
    `warmup`/`tail`: seconds of load before the experiment starts and after it ends.
    """

    rps: float | None = None
    duration: float | None = None
    slos: tuple[str, ...] = ("latency-p95", "error-ratio")
    judge: tuple[str, ...] = ("recovery",)
    warmup: float = 5.0
    tail: float = 10.0


def _settings(experiment: Mapping[str, Any], source: str, slo_names: set[str]) -> CtkSettings:
    """The harness's extension entry, checked (every problem at once, exit 2)."""
    from harness._duration import parse_duration

    entry: Mapping[str, Any] = next((e for e in experiment.get("extensions") or []
                                     if isinstance(e, Mapping) and e.get("name") == EXTENSION), {})
    where = f"extensions[name={EXTENSION}]"
    problems: list[ExperimentError] = []
    values: dict[str, Any] = {}
    allowed = {"name", "rps", "duration", "slos", "judge", "warmup", "tail"}
    for key in sorted(set(entry) - allowed):
        problems.append(ExperimentError(f"unknown field (allowed: {', '.join(sorted(allowed))})", source=source,
                                        field=f"{where}.{key}"))
    for key in ("duration", "warmup", "tail"):
        if key in entry:
            try:
                values[key] = parse_duration(entry[key])
            except (ConfigError, ValueError, TypeError) as exc:
                problems.append(ExperimentError(str(exc), source=source, field=f"{where}.{key}"))
    if "rps" in entry:
        rps = entry["rps"]
        if isinstance(rps, bool) or not isinstance(rps, int | float) or rps <= 0:
            problems.append(ExperimentError(f"must be a positive number, got {rps!r}", source=source,
                                            field=f"{where}.rps"))
        else:
            values["rps"] = float(rps)
    for key, known in (("slos", slo_names), ("judge", {"failover", "recovery"})):
        if key not in entry:
            continue
        names = entry[key]
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            problems.append(ExperimentError("expected a list of names", source=source, field=f"{where}.{key}"))
            continue
        for name in names:
            if name not in known:
                problems.append(ExperimentError(f"unknown {key[:-1] if key == 'slos' else key} {name!r} "
                                                f"(known: {', '.join(sorted(known))})", source=source,
                                                field=f"{where}.{key}"))
        values[key] = tuple(names)
    settings = CtkSettings(**values)
    if "slos" not in values:  # the defaults, as far as this SLO directory has them
        settings = CtkSettings(**{**values, "slos": tuple(n for n in settings.slos if n in slo_names)})
    if settings.judge and "failover" not in slo_names:
        problems.append(ExperimentError("judging failover/recovery needs the 'failover' SLO in the SLO directory",
                                        source=source, field=f"{where}.judge"))
    if problems:
        raise ExperimentError.combine(problems)
    return settings


def ctk_status_check(journal: Mapping[str, Any]) -> Check:
    """The experiment's own outcome as a check.

    PASS: completed, steady state met before and after, every activity
    succeeded. FAIL: the steady state deviated after the method, was not met
    before it (chaoslib then skips the method and still says `completed`;
    the harness refuses chaos on a steady state that does not hold, so this
    fails here as it does for harness experiments), a probe errored
    (`failed`), an activity raised (`aborted`) or did not succeed.
    INCONCLUSIVE: interrupted, or no journal at all.
    """
    status = str(journal.get("status") or "missing")
    deviated = bool(journal.get("deviated"))
    before = (journal.get("steady_states") or {}).get("before") or {}
    not_met = before.get("steady_state_met") is False
    runs = [*(journal.get("run") or []), *(journal.get("rollbacks") or [])]
    failed = [str((r.get("activity") or {}).get("name", "?")) for r in runs if r.get("status") != "succeeded"]
    if status == "completed" and not deviated and not not_met and not failed:
        verdict = Verdict.PASS
    elif status in ("completed", "failed", "aborted"):
        verdict = Verdict.FAIL
    else:
        verdict = Verdict.INCONCLUSIVE
    detail = f"status {status}" + (", steady state deviated after the method" if deviated else "")
    if not_met:
        detail += ", steady state not met before the method (method not run)"
    if failed:
        detail += f"; activities not succeeded: {', '.join(failed)}"
    return Check(name="ctk-experiment", verdict=verdict, value=float(len(runs) - len(failed)),
                 objective=float(len(runs)), op="gte", unit="activities", samples=len(runs),
                 scope="chaos-toolkit", detail=detail)  # fmt: skip


class _Signals:
    """Route SIGINT/SIGTERM/SIGHUP to the engine's stop state while chaoslib runs, remembering which came."""

    def __init__(self) -> None:
        owner = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
        self.state = owner if isinstance(owner, StopState) else StopState()
        self.signum: int | None = None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is None and not self.state.raised and not self.state.shield_depth:
            self.signum = signum
        self.state.handle(signum, frame)  # raises Stopped (a KeyboardInterrupt chaoslib catches) or holds it

    def install(self) -> None:
        """(Re)claim the stop signals; chaoslib's `exit_signals` has just put its own SIGTERM handler in."""
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                if signal.getsignal(sig) is not signal.SIG_IGN:
                    signal.signal(sig, self.handle)

    @contextmanager
    def around(self) -> Iterator[None]:
        """Claim the signals for the block, then give them back to the engine's stop state."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        self.install()
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)


def _event_handler(signals: _Signals, events: Events, live: list[dict[str, Any]]) -> Any:
    """A chaoslib `RunEventHandler`: takes the signals back inside `exit_signals`, reports fault changes."""
    from chaoslib.run import RunEventHandler

    from harness.ctk._experiment import fault_change

    class Handler(RunEventHandler):  # type: ignore[misc]  # chaoslib has no type hints
        def started(self, experiment: Any, journal: Any) -> None:
            signals.install()
            live.append(journal)  # the very dict chaoslib fills in: kept even if the run never returns

        def activity_completed(self, activity: Any, run: Any) -> None:
            change = fault_change(activity)
            if change is None or (run or {}).get("status") != "succeeded":
                return
            outcome, kind, proxy = change
            name = str(activity.get("name", kind))
            if outcome == "injected":
                events.fault_injected.fire(FaultInjected(name, kind, proxy))
            else:
                events.fault_removed.fire(FaultRemoved(name, kind, proxy, "undone"))

    return Handler()


class _Snapshot:
    """The links' toxics and enabled state before the experiment; `restore()` undoes whatever it changed."""

    def __init__(self, platform: PlatformHandle) -> None:
        self.client = platform.toxiproxy
        self.before = {name: (info.enabled, {t.name for t in self.client.toxics(name)})
                       for name, info in self.client.proxies().items()}  # fmt: skip

    def restore(self) -> list[tuple[str, str, str]]:
        """Remove toxics added since, re-enable proxies disabled since; what was undone: (action, kind, link)."""
        undone: list[tuple[str, str, str]] = []
        for name, info in self.client.proxies().items():
            enabled, toxics = self.before.get(name, (True, set()))
            for toxic in self.client.toxics(name):
                if toxic.name not in toxics:
                    self.client.remove_toxic(name, toxic.name)
                    undone.append((toxic.name, "toxic", name))
            if enabled and not info.enabled:
                self.client.enable(name)
                undone.append(("disable", "disable", name))
        return undone


def _epoch(stamp: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(stamp)).timestamp()
    except ValueError:
        return None


def _journal_rows(journal: Mapping[str, Any], t0: float) -> list[dict[str, Any]]:
    """Every CTK activity run as a row of the report's journal table."""
    rows = []
    for phase, key in (("method", "run"), ("rollback", "rollbacks")):
        for run in journal.get(key) or []:
            activity = run.get("activity") or {}
            provider = activity.get("provider") or {}
            args = provider.get("arguments") or {}
            start, end = _epoch(run.get("start")), _epoch(run.get("end"))
            target = args.get("for_proxy") or args.get("proxy_name") or provider.get("url") or provider.get("path")
            rows.append({
                "action": str(activity.get("name", "")), "kind": str(provider.get("func") or provider.get("type", "")),
                "target": str(target or provider.get("module", "")), "phase": phase,
                "planned_start": (start - t0) if start is not None else 0.0, "planned_end": None,
                "started_at": start, "ended_at": end,
                "outcome": "done" if run.get("status") == "succeeded" else str(run.get("status", "")),
                "error": str(run.get("exception", [""])[-1]).strip() if run.get("exception") else "",
                "undo_error": "",
            })  # fmt: skip
    return sorted(rows, key=lambda r: r["started_at"] or 0.0)


def _require_ctk(source: Path) -> None:
    """One line and exit 2, not a traceback, when the `ctk` extra (chaostoolkit-lib, -toxiproxy) is missing."""
    try:
        import chaoslib  # noqa: F401
        import chaostoxi  # noqa: F401  - the experiment's toxiproxy activities import it
    except ImportError as exc:
        raise ConfigError(f"a Chaos Toolkit experiment needs {exc.name}: pip install 'xynergy-harness[ctk]'",
                          source=str(source)) from None


def _plan(config: GameDayConfig) -> tuple[dict[str, Any], CtkSettings, dict[str, SLO], float, float]:
    """Validate everything before anything starts."""
    from harness.ctk._experiment import load_ctk_experiment

    config.load().validate()
    slos = {s.name: s for s in load_slos(config.slo_dir)}
    links, _ = names_in_use(config.topology, config.attach)
    experiment = load_ctk_experiment(config.experiment, links)
    _check_configuration(experiment, str(config.experiment))
    settings = _settings(experiment, str(config.experiment), set(slos))
    rps = config.rps or settings.rps or 20.0
    bound = config.duration or settings.duration or MAX_LOAD_S
    check_positive(("--rps", rps), ("--duration", bound))
    return experiment, settings, slos, rps, bound


def validate_ctk_file(path: Path, topology: Path | None = None, slo_dir: Path = Path("slos")) -> dict[str, Any]:
    """`harness validate` on a CTK file: chaoslib's checks, the links, configuration and harness settings."""
    _require_ctk(path)
    from harness.ctk._experiment import load_ctk_experiment

    links, _ = names_in_use(topology, None)
    experiment = load_ctk_experiment(path, links)
    _check_configuration(experiment, str(path))
    names = {s.name for s in load_slos(slo_dir)} if slo_dir.is_dir() else set(CtkSettings().slos) | {"failover"}
    _settings(experiment, str(path), names)
    return experiment


def _check_configuration(experiment: Mapping[str, Any], source: str) -> None:
    """Resolve `configuration` and `secrets` now (env vars present?) so a missing one is exit 2, not a half run."""
    from chaoslib.configuration import load_configuration
    from chaoslib.exceptions import ChaosException
    from chaoslib.secret import load_secrets

    for key in ("configuration", "secrets"):
        try:
            config = load_configuration(experiment.get("configuration") or {})
            if key == "secrets":
                load_secrets(experiment.get("secrets") or {}, config)
        except (ChaosException, KeyError, ValueError) as exc:
            raise ExperimentError(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                                  source=source, field=key) from None


def run_ctk_gameday(
    config: GameDayConfig, *, exporter: MonitoringExporter | None = None, events: Events | None = None
) -> GameDayResult:
    """Run a Chaos Toolkit experiment under load on the engine; judge, save and render it like any game day."""
    _require_ctk(config.experiment)
    from chaoslib.experiment import run_experiment

    from harness.chaos._gameday import _canary_weight, _export_and_finish, _steady
    from harness.ctk._experiment import fault_windows, toxiproxy_configuration

    experiment, settings, slos, rps, bound = _plan(config)
    run_id = new_run_id("gameday")
    run_dir = config.out / run_id
    engine = Engine("gameday", run_id, run_dir, config.load(), events=events, exporter=exporter,
                    slos=list(slos.values()))
    weight = _canary_weight(config)
    rule = HealthyRule()
    result = GameDayResult(
        name=str(experiment.get("title", config.experiment.stem)), run_id=run_id, rule=rule.describe(),
        experiment={"title": experiment.get("title"), "description": experiment.get("description", ""),
                    "source": str(config.experiment), "tags": list(experiment.get("tags") or []),
                    "format": "chaostoolkit", "harness": {"slos": list(settings.slos), "judge": list(settings.judge)}},
        config={"rps": rps, "topology": str(config.topology or "default"),
                "attached": config.attach is not None, "canary_defect": config.canary_defect or "",
                "canary_weight": weight, **({"duration_s": bound} if config.duration else {}), **config.extra},
    )  # fmt: skip
    load_dir = run_dir / "load"
    journal: dict[str, Any] = {}
    live: list[dict[str, Any]] = []
    outcome: list[LoadOutcome] = []
    started, ctk_done, stop_now = threading.Event(), threading.Event(), threading.Event()
    began: list[float] = []

    def finish(error: BaseException | None) -> None:
        if error is not None:
            if not journal and not began and not isinstance(error, KeyboardInterrupt):
                # nothing ran: a plain error, no report to write; the live displays still learn the run ended
                engine.events.run_finished.fire(RunFinished(run_id, "inconclusive", 2, False, stop_reason(error)))
                return
            result.complete, result.incomplete_reason = False, stop_reason(error)
        samples = outcome[0].samples if outcome else _read(load_dir / "samples.arrow")
        result.ended_at = result.ended_at or time.time()
        result.events = engine.report_events(result.started_at)
        if journal:
            (run_dir / "journal.json").write_text(json.dumps(journal, indent=2, default=str), encoding="utf-8")
            result.notes.append("Chaos Toolkit journal: journal.json")
        _analyse(result, journal, samples, slos, settings, rule, config.min_samples, fault_windows, _steady)
        if outcome:
            result.checks.append(outcome[0].integrity)
        _export_and_finish(result, run_dir, exporter, config, judged=True)
        engine.events.run_finished.fire(
            RunFinished(run_id, result.verdict.value, result.exit_code, result.complete, result.reason))

    from rich.console import Console

    from harness.canary._live import follow_platform_start

    follow_platform_start(engine.events, Console(stderr=True), live=config.live)
    with engine.session(platform_for(config.topology, config.attach, config.canary_defect, run_dir / "platform",
                                     progress=engine.events.platform_progress.fire), finish) as platform:
        if weight:
            engine.set_weight(weight, reason="gameday")
        snapshot = _Snapshot(platform)

        def undo_experiment() -> None:  # on the engine's shielded rollback too, whatever stops the run
            for action, kind, link in snapshot.restore():
                what = f"removed toxic {action!r} from {link}" if kind == "toxic" else f"re-enabled {link}"
                result.notes.append(f"harness rollback: {what}")
                # the final lines and the metrics say what the run undid, as for a harness experiment
                engine.events.fault_removed.fire(FaultRemoved(action, kind, link, "rolled-back"))

        engine.on_rollback(undo_experiment)
        # no API key here: the configuration is copied into journal.json
        configuration = {**toxiproxy_configuration(platform.toxiproxy.url), "harness_edge_url": platform.edge_url}

        def first_rows(e: SamplesFlushed) -> None:
            if e.stage == "gameday" and not began:
                began.append(time.time())
                started.set()

        def look(_: pd.DataFrame) -> bool:
            return stop_now.is_set() or (ctk_done.is_set() and time.time() >= result.ended_at + settings.tail)

        errors: list[BaseException] = []

        def load() -> None:
            try:
                outcome.append(engine.run_load("gameday", load_dir, duration_s=bound, rps=rps, weight=weight,
                                               look=look, look_every_s=1.0))
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)
            finally:
                started.set()

        engine.events.samples_flushed.add_listener(first_rows)
        thread = threading.Thread(target=load, name="gameday-load", daemon=True)
        thread.start()
        signals = _Signals()
        try:
            while not started.wait(0.2):
                pass
            if errors:
                raise errors[0]
            result.started_at = began[0] if began else time.time()
            _wait(settings.warmup, thread)
            with signals.around(), _ctk_log(run_dir / "chaostoolkit.log"):
                if signals.signum is None and thread.is_alive():
                    experiment["configuration"] = {**(experiment.get("configuration") or {}), **configuration}
                    handler = _event_handler(signals, engine.events, live)
                    journal.update(run_experiment(experiment, event_handlers=[handler]))
        except BaseException:
            stop_now.set()
            raise
        finally:
            result.ended_at = time.time()
            ctk_done.set()
            if not journal and live:
                journal.update(live[0])
            if signals.signum is not None:
                stop_now.set()
            with signals_ignored():
                try:
                    undo_experiment()
                except HarnessError as exc:
                    result.complete = False
                    result.incomplete_reason = f"rollback of the experiment's faults failed: {exc}"
                if stop_now.is_set():
                    _join(thread)
        try:
            if signals.signum is not None:
                raise Stopped(signals.signum)
            _join(thread)  # the tail: load goes on while the platform recovers
        finally:
            stop_now.set()
            with signals_ignored():
                _join(thread)
        if errors:
            raise errors[0]
        if not journal:
            result.notes.append("the load ended before the experiment started")
    return result


@contextmanager
def _ctk_log(path: Path) -> Iterator[None]:
    """chaoslib's log into the run directory (as `chaos run` writes chaostoolkit.log); the terminal keeps INFO."""
    import logging

    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s %(levelname)s] [%(module)s:%(lineno)d] %(message)s"))
    loggers = [logging.getLogger("chaostoolkit"), logging.getLogger("logzero_default")]  # chaostoxi logs via logzero
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    quiet = [(h, h.level) for h in loggers[1].handlers if h is not handler]
    for h, _ in quiet:
        h.setLevel(max(h.level, logging.INFO))
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)
        for h, level in quiet:
            h.setLevel(level)
        handler.close()


def _wait(seconds: float, thread: threading.Thread) -> None:
    """Sleep `seconds` (warm-up load before the experiment), returning early if the load ended."""
    deadline = time.monotonic() + seconds
    while thread.is_alive() and time.monotonic() < deadline:
        thread.join(min(0.2, max(0.0, deadline - time.monotonic())))


def _join(thread: threading.Thread) -> None:
    """Wait for the load thread (its `look` stops Locust within a second once asked)."""
    while thread.is_alive():
        thread.join(0.5)


def _read(path: Path) -> pd.DataFrame:
    from harness.samples import read_samples

    return read_samples(path) if path.exists() else empty_samples()


def _analyse(result: GameDayResult, journal: Mapping[str, Any], samples: pd.DataFrame, slos: Mapping[str, SLO],
             settings: CtkSettings, rule: HealthyRule, min_samples: int, fault_windows: Any, steady: Any) -> None:
    """Checks, measurements and chart data from the samples and the CTK journal."""
    t0 = result.started_at
    run_end = max(result.ended_at, float(samples["ts"].max()) if not samples.empty else t0)
    faults: list[FaultWindow] = fault_windows(journal, judge=settings.judge) if journal else []
    result.journal = _journal_rows(journal, t0) if journal else []
    result.checks.append(ctk_status_check(journal))
    if journal.get("status") == "interrupted" and result.complete:
        result.complete, result.incomplete_reason = False, "the Chaos Toolkit experiment was interrupted"
    chosen = [slos[n] for n in settings.slos]
    # the steady state before chaos: up to the first fault, else the method's first activity (a
    # process or http action leaves no fault window), else the whole run (the method never ran)
    method_starts = [t for r in journal.get("run") or [] if (t := _epoch(r.get("start"))) is not None]
    first = min((f.injected_at for f in faults), default=min(method_starts, default=None))
    if chosen:
        before = samples[samples["ts"] < first] if first is not None else samples
        result.checks.extend(steady(chosen, before, min_samples, "steady-state before", result.notes))
        last = max((f.removed_at or run_end for f in faults), default=t0)
        after = samples[(samples["ts"] >= max(last, run_end - settings.tail)) & (samples["ts"] < run_end)]
        if result.complete:
            result.checks.extend(steady(chosen, after, min_samples, "steady-state after", result.notes))
    measurements = measure_faults(samples, faults, rule, run_end=run_end)
    result.faults = [m.to_dict() for m in measurements]
    if any(m.judge for m in measurements):
        result.checks.extend(failover_checks(measurements, slos["failover"]))
    from harness.report._model import Window

    result.windows = [Window(f.injected_at - t0, (f.removed_at if f.removed_at is not None else run_end) - t0,
                             f.action) for f in faults]  # fmt: skip
    from harness.chaos._gameday import region_series

    result.series = sample_series(samples, t0) + region_series(samples, t0)
    result.requests = {str(k): int(v) for k, v in samples.groupby("revision").size().items()}
