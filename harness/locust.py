"""The harness's Locust plugin: import it in a locustfile to get exact samples and an SLO gate.

    from locust import FastHttpUser, task
    from harness.locust import PacedUser

    class Api(PacedUser, FastHttpUser):
        @task
        def root(self) -> None:
            self.client.get("/")

Importing this module (it is the only harness module that imports locust):

- adds the options `--rps` (total arrival rate for `PacedUser`s), `--samples-file`,
  `--slo-dir`, `--verdict-file`, `--min-samples`, `--no-capture`;
- records every request (`events.request`) as one row of a samples file
  (`harness.samples`), with the `x-xynergy-revision` / `-region` / `-cache` / `-tier` headers;
- in distributed mode workers send their rows to the master in batches over
  Locust's own worker→master messages (numbered, so none is lost or counted
  twice); only the master writes the file and judges;
- judges every test run when it stops (one in headless mode; one per swarm in
  the web UI, whose "SLO verdict" tab and `GET /harness/verdicts` show them):
  prints a verdict table, writes the verdict JSON, and at quit sets the exit
  code: 0 pass, 1 breach, 2 invalid SLO files, inconclusive, lost samples or a
  saturated load generator (a `generator/...` check INCONCLUSIVE: Locust's own
  CPU warning, or the SLO evaluation's `generator/health`).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import gevent
from locust import events
from geventhttpclient.header import Headers as _GeventHeaders
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness._exceptions import HarnessError
from harness.engine._host import HostCPU
from harness.load._transport import MasterCollector, WorkerBatcher
from harness._verdicts import Check, Verdict
from harness.load._verdict import (
    GENERATOR_PREFIX,
    RunVerdict,
    combine_runs,
    judge_samples,
    print_verdict,
    resolve_slos,
    write_verdict,
)
from harness.load._webui import install as install_web_ui
from harness.samples import Row, SampleWriter
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, judged_in

__all__ = ["PacedUser", "SecurityFailure", "error_kind"]

_SAMPLES_MSG = "harness_samples"
_FLUSH_MSG = "harness_flush"
_WAIT_FOR_WORKERS_S = 15.0


class SecurityFailure(Exception):
    """Fire a request as failed with this exception to record a security failure sample."""

    error_kind = "security"


def error_kind(exception: BaseException | None, status: int) -> str:
    """A short, groupable error class: '', 'security', 'http_503', 'timeout', 'connection', ..."""
    if exception is None:
        return ""
    kind = getattr(exception, "error_kind", None)
    if isinstance(kind, str):
        return kind
    if status >= 400:
        return f"http_{status}"
    name = type(exception).__name__.lower()
    if "timeout" in name:
        return "timeout"
    if status == 0 and any(w in name for w in ("connect", "refused", "reset", "socket", "oserror", "gaierror")):
        return "connection"
    return name or "error"


class _Pace:
    """One paced iteration: its intended start; the lag is fixed by its first request."""

    __slots__ = ("slot", "lag")

    def __init__(self, slot: float) -> None:
        self.slot = slot
        self.lag: float | None = None

    def lag_for(self, start: float) -> float:
        if self.lag is None:
            self.lag = max(0.0, start - self.slot)
        return self.lag


class PacedUser:
    """Mixin for open-model pacing: iterations start on a fixed schedule, not after responses.

    Each user sends at `--rps` / total users (or `default_rps_per_user` without
    `--rps`). Missed slots are not skipped: a late iteration records its lag,
    so every sample has its intended start and a coordinated-omission-corrected
    latency (as wrk2 does). Put it before the Locust user class in the bases.
    """

    default_rps_per_user: float = 1.0
    environment: Environment
    _harness_next: float | None = None
    _harness_pace: _Pace | None = None

    def _harness_interval(self) -> float:
        opts = self.environment.parsed_options
        rps = float(getattr(opts, "rps", 0.0) or 0.0)
        if rps <= 0:
            return 1.0 / self.default_rps_per_user
        users = int(getattr(opts, "harness_users", 0) or 0)
        if users <= 0:
            runner = self.environment.runner
            users = max(1, int(getattr(runner, "target_user_count", 0) or getattr(opts, "num_users", 1) or 1))
        return users / rps

    def wait_time(self) -> float:
        """Seconds until this user's next slot (0 when behind schedule)."""
        now = time.time()
        interval = self._harness_interval()
        if self._harness_next is None:
            self._harness_next = now + random.uniform(0.0, interval)
        else:
            self._harness_next += interval
        self._harness_pace = _Pace(self._harness_next)
        return max(0.0, self._harness_next - now)

    def context(self) -> dict[str, Any]:
        """Request context: carries the iteration's pace to the sample recorder."""
        return {"harness_pace": self._harness_pace}


_HEADERS = ("x-xynergy-revision", "x-xynergy-region", "x-xynergy-cache", "x-xynergy-tier")
_NO_HEADERS = ("", "", "", "")
_dict_get = dict.get


def _xynergy_headers(headers: Any) -> tuple[str, str, str, str]:
    """Revision, region, cache and tier headers of a response ("" each when absent).

    geventhttpclient's `Headers` (FastHttpUser) is a dict keyed by the lowercased
    name holding (name, value) pairs: read it with `dict.get`, which skips its
    per-call `.lower()` and try/except (this runs once per request).
    """
    if headers.__class__ is _GeventHeaders:
        rev = _dict_get(headers, "x-xynergy-revision")
        reg = _dict_get(headers, "x-xynergy-region")
        cache = _dict_get(headers, "x-xynergy-cache")
        tier = _dict_get(headers, "x-xynergy-tier")
        return (
            rev[1] if rev.__class__ is tuple else _entry_value(rev),
            reg[1] if reg.__class__ is tuple else _entry_value(reg),
            cache[1] if cache.__class__ is tuple else _entry_value(cache),
            tier[1] if tier.__class__ is tuple else _entry_value(tier),
        )  # fmt: skip
    if headers is None:  # not `not headers`: len() of geventhttpclient's Headers is slow
        return _NO_HEADERS
    try:  # requests' CaseInsensitiveDict (HttpUser) or another mapping
        return tuple(str(headers.get(h) or "") for h in _HEADERS)  # type: ignore[return-value]
    except Exception:  # a header object we do not know
        return _NO_HEADERS


def _entry_value(entry: Any) -> str:
    """One stored geventhttpclient header entry: None, (name, value), or a list of them when repeated."""
    if entry is None:
        return ""
    if isinstance(entry, tuple):
        return str(entry[1])
    return ", ".join(str(e[1]) for e in entry)


class _Recorder:
    """Turns `events.request` into rows for the current run's writer (local/master) or batcher (worker)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        self.worker_id = "local"
        self.flush_interval = float(getattr(env.parsed_options, "samples_flush", 1.0) or 1.0)
        self.writer: SampleWriter | None = None  # set for each test run (local/master)
        self.batcher: WorkerBatcher | None = WorkerBatcher() if isinstance(env.runner, WorkerRunner) else None
        #: where a row goes: the run's writer (appended; its flusher writes batches) or the worker's batcher
        self.sink: Callable[[Row], None] | None = self.batcher.pending.sink if self.batcher is not None else None
        self.collector: MasterCollector | None = None  # set for each test run (master)
        self.dropped = 0  # requests that ended outside any test run (after its verdict)

    def on_request(
        self, request_type: str, name: str, response_time: float, response_length: int,
        response: Any = None, context: Mapping[str, Any] | None = None,
        exception: BaseException | None = None, start_time: float | None = None, url: str | None = None, **_: Any,
    ) -> None:  # fmt: skip
        """One sample per request. This is the request path: plain local operations only, no
        allocation that outlives the call but the values themselves (bench/bench_capture.py)."""
        latency = response_time or 0.0
        start = start_time or time.time() - latency / 1000.0
        lag = 0.0
        revision = region = cache = tier = ""
        if context:
            pace = context.get("harness_pace")
            if pace is not None:
                lag = pace.lag_for(start)
            revision = context.get("revision") or ""
            region = context.get("region") or ""
        status = 0
        if response is not None:
            try:
                status = response.status_code or 0
                headers = response.headers
            except AttributeError:  # a locustfile's own response object
                headers = None
            if headers.__class__ is _GeventHeaders:  # FastHttpUser: dict.get on the lowercased name
                entry = _dict_get(headers, "x-xynergy-revision")
                if not revision and entry is not None:
                    revision = entry[1] if entry.__class__ is tuple else _entry_value(entry)
                entry = _dict_get(headers, "x-xynergy-region")
                if not region and entry is not None:
                    region = entry[1] if entry.__class__ is tuple else _entry_value(entry)
                entry = _dict_get(headers, "x-xynergy-cache")
                if entry is not None:
                    cache = entry[1] if entry.__class__ is tuple else _entry_value(entry)
                entry = _dict_get(headers, "x-xynergy-tier")
                if entry is not None:
                    tier = entry[1] if entry.__class__ is tuple else _entry_value(entry)
            elif headers is not None:
                rev, reg, cache, tier = _xynergy_headers(headers)
                revision = revision or rev
                region = region or reg
        sink = self.sink
        if sink is None:
            self.dropped += 1
        elif exception is None:
            sink((start, start - lag, name, request_type, status, True, "", latency, latency + lag * 1000.0,
                  response_length or 0, revision, region, self.worker_id, cache, tier))  # fmt: skip
        else:
            sink((start, start - lag, name, request_type, status, False, error_kind(exception, status), latency,
                  latency + lag * 1000.0, response_length or 0, revision, region, self.worker_id, cache, tier))  # fmt: skip

    def ship(self, *, final: bool = False) -> None:
        """Worker: send pending rows (and with `final`, the closing total) to the master."""
        runner = self.env.runner
        if self.batcher is None or not isinstance(runner, WorkerRunner):
            return
        message = self.batcher.next_message(final=final)
        if message is not None:
            runner.send_message(_SAMPLES_MSG, message)

    def ship_forever(self) -> None:
        assert self.batcher is not None
        while not self.batcher.final_sent:
            gevent.sleep(self.flush_interval)
            self.ship()

    def receive(self, environment: Environment, msg: Any, **_: Any) -> None:
        """Master: a worker's batch message (ignored between runs: every final arrived before the verdict)."""
        if self.collector is not None:
            self.collector.receive(msg.data)

    def collect_from_workers(self) -> None:
        """Master: ask every worker for its final batch and wait (bounded) until all arrived."""
        runner = self.env.runner
        assert isinstance(runner, MasterRunner) and self.collector is not None
        for worker in self.collector.pending:
            runner.send_message(_FLUSH_MSG, None, client_id=worker)
        deadline = time.monotonic() + _WAIT_FOR_WORKERS_S + float(self.env.stop_timeout or 0)
        while self.collector.pending and time.monotonic() < deadline:
            gevent.sleep(0.05)


def _default_samples_path() -> str:
    directory = Path(tempfile.gettempdir()) / f"harness-locust-{os.getpid()}"
    return str(directory / "samples.arrow")


def _numbered(path: Path, run: int) -> Path:
    """The first run's file is `path` itself; later runs (web UI) get `-run2`, `-run3`, ..."""
    return path if run == 1 else path.with_name(f"{path.stem}-run{run}{path.suffix}")


def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("xynergy-harness", "exact samples and the SLO gate (harness.locust)")
    group.add_argument("--rps", type=float, default=0.0, env_var="HARNESS_RPS",
                       help="Target total arrival rate (req/s) for PacedUser classes; 0 = default_rps_per_user each")
    group.add_argument("--samples-file", default="", env_var="HARNESS_SAMPLES_FILE",
                       help="Arrow IPC samples file to write (default: a temporary file); runs after the first "
                            "(web UI) add -run2, -run3, ... to its name")
    group.add_argument("--slo-dir", default="", env_var="HARNESS_SLO_DIR",
                       help="SLO files or directory (default: ./slos if present, else built-in p95/error SLOs)")
    group.add_argument("--verdict-file", default="", env_var="HARNESS_VERDICT_FILE",
                       help="Where to write the JSON verdict (default: next to the samples file)")
    group.add_argument("--min-samples", type=int, default=DEFAULT_MIN_SAMPLES, env_var="HARNESS_MIN_SAMPLES",
                       help="Fewer samples than this in a group makes its checks inconclusive")
    group.add_argument("--no-capture", action="store_true", default=False, env_var="HARNESS_NO_CAPTURE",
                       help="Record no samples and judge nothing (for measuring capture overhead)")
    group.add_argument("--samples-flush", type=float, default=1.0, help="Seconds between sample flushes")
    group.add_argument("--harness-users", type=int, default=0, help="(set by the master) total users, for pacing on workers")
    # fmt: skip
    # In Locust's web UI form too: Locust marks only what `parser.add_argument` adds, not a group's arguments
    for action in group._group_actions:
        if action.dest in _WEB_UI_OPTIONS:
            action.include_in_web_ui = True


#: The options the web UI's form shows (and applies to the next swarm).
_WEB_UI_OPTIONS = frozenset({"rps", "samples_file", "slo_dir", "verdict_file", "min_samples"})


class _Plugin:
    """Wires the recorder and the verdicts into one Locust environment.

    On the local runner or the master, every test run (`test_start` → `test_stop`;
    one in headless mode, one per swarm in the web UI) gets its own samples file
    and verdict: judged, printed and saved when it stops, shown in the web UI's
    "SLO verdict" tab. The process exit code combines every run's verdict
    (`combine_runs`) and is applied when Locust quits. Workers only capture.
    """

    def __init__(self, env: Environment) -> None:
        self.env = env
        opts = env.parsed_options
        self.recorder: _Recorder | None = None
        self.slos: list[SLO] = []
        self.slo_source = ""
        self._slo_arg: str | None = None
        self.results: list[RunVerdict] = []
        self._run_open = False
        self._cpu_peak = 0.0
        self._host: HostCPU | None = None
        self._flusher: gevent.Greenlet | None = None
        if opts is None or getattr(opts, "no_capture", False):
            return
        runner = env.runner
        if not isinstance(runner, WorkerRunner):
            try:  # invalid SLO files: one line, exit 2, before any load
                self._resolve_slos()
            except HarnessError as exc:
                print(f"harness: error: {exc}", file=sys.stderr, flush=True)
                raise SystemExit(2) from None
            opts.harness_users = int(getattr(opts, "num_users", 0) or 0)
        self.recorder = _Recorder(env)
        _listen(env.events.request, self.recorder.on_request)
        if isinstance(runner, WorkerRunner):
            runner.register_message(_FLUSH_MSG, self._worker_flush)
            _listen(env.events.test_start, self._worker_start)
            _listen(env.events.test_stop, self._worker_stop)
            return
        if isinstance(runner, MasterRunner):
            runner.register_message(_SAMPLES_MSG, self.recorder.receive)
            _listen(env.events.test_stopping, self._snapshot_workers)
        _listen(env.events.test_start, self._start_run)
        _listen(env.events.test_stop, self._stop_run)
        _listen(env.events.cpu_warning, self._cpu_warning)
        _listen(env.events.quitting, self._quitting)
        if env.web_ui is not None:
            install_web_ui(env.web_ui, lambda: self.results, lambda: self._run_open)

    # -- SLOs ----------------------------------------------------------------------
    def _resolve_slos(self) -> None:
        """(Re)load the SLOs when `--slo-dir` changed (the web UI can change it between runs)."""
        arg = str(getattr(self.env.parsed_options, "slo_dir", "") or "")
        if arg != self._slo_arg:
            slos, self.slo_source = resolve_slos(arg or None)
            self.slos = judged_in(slos, "locust")
            self._slo_arg = arg

    # -- one test run (local runner or master) ---------------------------------------
    def _start_run(self, **_: Any) -> None:
        recorder = self.recorder
        assert recorder is not None
        if self._run_open:  # a run that never stopped (should not happen): judge it first
            self._finish_run()
        opts = self.env.parsed_options
        assert opts is not None
        if isinstance(self.env.runner, MasterRunner):
            opts.harness_users = int(getattr(opts, "num_users", 0) or 0)  # sent to workers with the spawn
        else:
            opts.harness_users = 0  # local: pace on the runner's live target user count
        run = len(self.results) + 1
        path = _numbered(Path(getattr(opts, "samples_file", "") or _default_samples_path()), run)
        writer = SampleWriter(path, flush_interval=recorder.flush_interval)
        recorder.collector = MasterCollector(writer) if isinstance(self.env.runner, MasterRunner) else None
        recorder.writer = writer
        recorder.sink = writer.appender()  # rows are only appended; the flusher below writes them
        self._cpu_peak = 0.0
        self._host = HostCPU()  # how contended the host was over this run (PSI), for the generator's health
        self._run_open = True
        self._start_flusher(writer, recorder.flush_interval)

    def _start_flusher(self, writer: SampleWriter, interval: float) -> None:
        """Flush at least every interval even when no request arrives to trigger it."""

        def flush_forever() -> None:
            while not writer.closed:
                gevent.sleep(interval)
                writer.flush()

        self._flusher = gevent.spawn(flush_forever)

    def _stop_run(self, **_: Any) -> None:
        """test_stop: collect the workers' last rows (master), then judge this run."""
        recorder = self.recorder
        if not self._run_open or recorder is None:
            return
        if recorder.collector is not None:
            self._snapshot_workers()
            recorder.collect_from_workers()
        self._finish_run()

    def _quitting(self, **_: Any) -> None:
        """Stopped by a signal: the run is still open (test_stop comes after `quitting`)."""
        recorder = self.recorder
        if self._run_open and recorder is not None:
            if recorder.collector is not None:
                self._snapshot_workers()
                if recorder.collector.pending:
                    recorder.collect_from_workers()
            self._finish_run()
        if self.results:
            self.env.process_exit_code = combine_runs(self.results)
        else:
            print("harness: no test run was started: nothing to judge (exit code 2)", flush=True)
            self.env.process_exit_code = 2

    def _finish_run(self) -> None:
        """Close the run's samples, judge, print, save; the web UI shows it from now on."""
        recorder = self.recorder
        assert recorder is not None and recorder.writer is not None
        writer, collector = recorder.writer, recorder.collector
        recorder.writer, recorder.collector, recorder.sink = None, None, None
        self._run_open = False
        writer.close()
        if self._flusher is not None:
            self._flusher.kill(block=False)
        run = len(self.results) + 1
        opts = self.env.parsed_options
        extra = [collector.check()] if collector is not None else []
        extra += self._cpu_checks()
        try:
            self._resolve_slos()
            result = judge_samples(
                writer.path, self.slos, slo_source=self.slo_source,
                min_samples=int(getattr(opts, "min_samples", DEFAULT_MIN_SAMPLES)), extra_checks=extra,
                target_rps=float(getattr(opts, "rps", 0) or 0) or None,
                cpu_pressure=self._host.pressure() if self._host is not None else None,
            )  # fmt: skip
        except HarnessError as exc:  # e.g. the web UI's --slo-dir names no SLO files
            print(f"harness: error: {exc}", file=sys.stderr, flush=True)
            result = _input_error(writer.path, str(exc))
        self.results.append(result)
        print_verdict(result)
        verdict_arg = getattr(opts, "verdict_file", "") or ""
        verdict_path = _numbered(Path(verdict_arg), run) if verdict_arg else writer.path.with_suffix(".verdict.json")
        write_verdict(result, verdict_path)
        print(f"samples: {writer.path}  verdict: {verdict_path}", flush=True)
        self.env.process_exit_code = combine_runs(self.results)

    def _cpu_warning(self, cpu_usage: float = 0.0, **_: Any) -> None:
        self._cpu_peak = max(self._cpu_peak, float(cpu_usage or 0.0))

    def _cpu_checks(self) -> list[Check]:
        """`generator/locust-cpu` when Locust's own CPU warning fired in this run (here or on a worker)."""
        runner = self.env.runner
        local = bool(getattr(runner, "cpu_warning_emitted", False)) or self._cpu_peak > 0
        workers = bool(getattr(runner, "worker_cpu_warning_emitted", False))
        if not (local or workers):
            return []
        where = " and ".join(w for w, fired in (("this Locust process", local), ("a worker", workers)) if fired)
        peak = f" (peak {self._cpu_peak:.0f} %)" if self._cpu_peak else ""
        return [Check(
            name=f"{GENERATOR_PREFIX}locust-cpu", verdict=Verdict.INCONCLUSIVE, value=self._cpu_peak or None,
            objective=90.0, op="lt", unit="%", kind="resource", scope="locust",
            detail=f"Locust's CPU warning: {where} above 90 % CPU{peak}; its timings are not evidence",
        )]  # fmt: skip

    # -- workers -----------------------------------------------------------------------
    def _worker_start(self, **_: Any) -> None:
        recorder = self.recorder
        assert recorder is not None and recorder.batcher is not None and isinstance(self.env.runner, WorkerRunner)
        recorder.worker_id = self.env.runner.client_id
        recorder.batcher.restart(recorder.worker_id)
        gevent.spawn(recorder.ship_forever)

    def _worker_stop(self, **_: Any) -> None:
        assert self.recorder is not None
        self.recorder.ship(final=True)

    def _worker_flush(self, environment: Environment, msg: Any, **_: Any) -> None:
        assert self.recorder is not None
        runner = self.env.runner
        if runner is not None and self.recorder.batcher is not None and not self.recorder.batcher.final_sent:
            runner.stop()  # stop the users first: nothing is sent after the final batch
        self.recorder.ship(final=True)

    def _snapshot_workers(self, **_: Any) -> None:
        recorder = self.recorder
        if recorder is None or recorder.collector is None or not isinstance(self.env.runner, MasterRunner):
            return
        recorder.collector.expect(node.id for node in self.env.runner.clients.all)


def _input_error(path: Path, reason: str) -> RunVerdict:
    """A run that could not be judged (bad SLO files given in the web UI): INCONCLUSIVE, with the reason."""
    check = Check(name="slo-files", verdict=Verdict.INCONCLUSIVE, value=None, objective=None, op="gte",
                  detail=reason)  # fmt: skip
    return RunVerdict(verdict=Verdict.INCONCLUSIVE, checks=(check,), samples=0, samples_files=(str(path),),
                      slo_source="(invalid)")  # fmt: skip


def _on_init(environment: Environment, **_: Any) -> None:
    _Plugin(environment)
    # gevent's loop caches "now" and has not run since Locust started: on a busy machine the
    # imports (pandas, pyarrow) take seconds, and `-t 3s`, armed right after this event from
    # the stale clock, fired 0.1 s into the run. Refresh it before Locust arms its timers.
    gevent.get_hub().loop.update_now()


def _listen(hook: Any, listener: Any) -> None:
    """`EventHook.add_listener` (untyped in Locust) behind one typed call."""
    hook.add_listener(listener)


_listen(events.init_command_line_parser, _add_options)
_listen(events.init, _on_init)
