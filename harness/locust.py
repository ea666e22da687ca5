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
- at the end prints a verdict table, writes the verdict JSON, and sets the
  exit code: 0 pass, 1 breach, 2 invalid SLO files, inconclusive or lost samples.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gevent
from locust import events
from geventhttpclient.header import Headers as _GeventHeaders
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from harness._exceptions import HarnessError
from harness.load._transport import MasterCollector, WorkerBatcher
from harness.load._verdict import judge_samples, print_verdict, resolve_slos, write_verdict
from harness.samples import Row, SampleWriter
from harness.slo import DEFAULT_MIN_SAMPLES, SLO

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


def _xynergy_headers(response: Any) -> tuple[str, str, str, str]:
    """Revision, region, cache and tier headers of a response ("" each when absent).

    geventhttpclient's `Headers` (FastHttpUser) is a dict keyed by the lowercased
    name holding (name, value) pairs: read it with `dict.get`, which skips its
    per-call `.lower()` and try/except (this runs once per request).
    """
    headers = getattr(response, "headers", None)
    if headers is None:  # not `not headers`: len() of geventhttpclient's Headers is slow
        return _NO_HEADERS
    if type(headers) is _GeventHeaders:
        values = [dict.get(headers, h) for h in _HEADERS]
        if values == [None, None, None, None]:
            return _NO_HEADERS
        return tuple(_entry_value(v) for v in values)  # type: ignore[return-value]
    try:
        return tuple(str(headers.get(h) or "") for h in _HEADERS)  # type: ignore[return-value]
    except Exception:  # a header object we do not know
        return _NO_HEADERS


def _entry_value(entry: Any) -> str:
    """One stored geventhttpclient header entry: (name, value), or a list of them when repeated."""
    if entry is None:
        return ""
    if isinstance(entry, tuple):
        return str(entry[1])
    return ", ".join(str(e[1]) for e in entry)


class _Recorder:
    """Turns `events.request` into rows; writes them (local/master) or batches them (worker)."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        opts = env.parsed_options
        self.worker_id = "local"
        self.flush_interval = float(getattr(opts, "samples_flush", 1.0) or 1.0)
        self.writer: SampleWriter | None = None
        self.batcher: WorkerBatcher | None = None
        self.collector: MasterCollector | None = None
        if isinstance(env.runner, WorkerRunner):
            self.batcher = WorkerBatcher()
        else:
            path = getattr(opts, "samples_file", "") or _default_samples_path()
            self.writer = SampleWriter(path, flush_interval=self.flush_interval)
        if isinstance(env.runner, MasterRunner):
            assert self.writer is not None
            self.collector = MasterCollector(self.writer)

    def on_request(
        self, request_type: str, name: str, response_time: float, response_length: int,
        response: Any = None, context: Mapping[str, Any] | None = None,
        exception: BaseException | None = None, start_time: float | None = None, **_: Any,
    ) -> None:  # fmt: skip
        latency = float(response_time or 0.0)
        start = float(start_time) if start_time else time.time() - latency / 1000.0
        ctx = context or {}
        pace = ctx.get("harness_pace")
        lag = pace.lag_for(start) if isinstance(pace, _Pace) else 0.0
        status = int(getattr(response, "status_code", 0) or 0) if response is not None else 0
        revision, region, cache, tier = _xynergy_headers(response) if response is not None else _NO_HEADERS
        if ctx:
            revision = str(ctx.get("revision") or revision)
            region = str(ctx.get("region") or region)
        ok = exception is None
        row: Row = (
            start, start - lag, name, request_type, status, ok, "" if ok else error_kind(exception, status),
            latency, latency + lag * 1000.0, int(response_length or 0), revision, region, self.worker_id, cache, tier,
        )  # fmt: skip
        if self.writer is not None:
            self.writer.add(row)
        elif self.batcher is not None:
            self.batcher.rows.append(row)

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
        """Master: a worker's batch message."""
        assert self.collector is not None
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


def _add_options(parser: Any) -> None:
    group = parser.add_argument_group("xynergy-harness", "exact samples and the SLO gate (harness.locust)")
    group.add_argument("--rps", type=float, default=0.0, env_var="HARNESS_RPS",
                       help="Target total arrival rate (req/s) for PacedUser classes; 0 = default_rps_per_user each")
    group.add_argument("--samples-file", default="", env_var="HARNESS_SAMPLES_FILE",
                       help="Arrow IPC samples file to write (default: a temporary file)")
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


class _Plugin:
    """Wires the recorder and the verdict into one Locust environment."""

    def __init__(self, env: Environment) -> None:
        self.env = env
        opts = env.parsed_options
        self.recorder: _Recorder | None = None
        self.slos: list[SLO] = []
        self.slo_source = ""
        self._flusher: gevent.Greenlet | None = None
        if opts is None or getattr(opts, "no_capture", False):
            return
        runner = env.runner
        if not isinstance(runner, WorkerRunner):
            try:  # invalid SLO files: one line, exit 2, before any load
                self.slos, self.slo_source = resolve_slos(getattr(opts, "slo_dir", "") or None)
            except HarnessError as exc:
                print(f"harness: error: {exc}", file=sys.stderr, flush=True)
                raise SystemExit(2) from None
            opts.harness_users = int(getattr(opts, "num_users", 0) or 0)
        self.recorder = _Recorder(env)
        _listen(env.events.request, self.recorder.on_request)
        if isinstance(runner, MasterRunner):
            runner.register_message(_SAMPLES_MSG, self.recorder.receive)
            _listen(env.events.test_stopping, self._snapshot_workers)
            _listen(env.events.test_stop, self._master_stop)
        if isinstance(runner, WorkerRunner):
            runner.register_message(_FLUSH_MSG, self._worker_flush)
            _listen(env.events.test_start, self._worker_start)
            _listen(env.events.test_stop, self._worker_stop)
        else:
            _listen(env.events.test_start, self._start_flusher)
            _listen(env.events.quitting, self._judge)

    def _start_flusher(self, **_: Any) -> None:
        """Flush at least every interval even when no request arrives to trigger it."""
        recorder = self.recorder
        assert recorder is not None and recorder.writer is not None
        writer = recorder.writer

        def flush_forever() -> None:
            while not writer.closed:
                gevent.sleep(recorder.flush_interval)
                writer.flush()

        if self._flusher is None or self._flusher.dead:
            self._flusher = gevent.spawn(flush_forever)

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
        assert self.recorder is not None and self.recorder.collector is not None
        assert isinstance(self.env.runner, MasterRunner)
        self.recorder.collector.expect(node.id for node in self.env.runner.clients.all)

    def _master_stop(self, **_: Any) -> None:
        assert self.recorder is not None
        self._snapshot_workers()
        self.recorder.collect_from_workers()

    def _judge(self, **_: Any) -> None:
        recorder = self.recorder
        if recorder is None or recorder.writer is None:
            return
        if recorder.collector is not None and isinstance(self.env.runner, MasterRunner):
            self._snapshot_workers()  # stopped by a signal: test_stop has not collected yet
            if recorder.collector.pending:
                recorder.collect_from_workers()
        recorder.writer.close()
        if self._flusher is not None:
            self._flusher.kill(block=False)
        opts = self.env.parsed_options
        extra = [recorder.collector.check()] if recorder.collector is not None else []
        try:
            result = judge_samples(
                recorder.writer.path, self.slos, slo_source=self.slo_source,
                min_samples=int(getattr(opts, "min_samples", DEFAULT_MIN_SAMPLES)), extra_checks=extra,
            )  # fmt: skip
        except HarnessError as exc:
            print(f"harness: error: {exc}", file=sys.stderr, flush=True)
            self.env.process_exit_code = 2
            return
        print_verdict(result)
        verdict_path = getattr(opts, "verdict_file", "") or str(recorder.writer.path.with_suffix(".verdict.json"))
        write_verdict(result, verdict_path)
        print(f"samples: {recorder.writer.path}  verdict: {verdict_path}", flush=True)
        self.env.process_exit_code = result.exit_code


def _on_init(environment: Environment, **_: Any) -> None:
    _Plugin(environment)


def _listen(hook: Any, listener: Any) -> None:
    """`EventHook.add_listener` (untyped in Locust) behind one typed call."""
    hook.add_listener(listener)


_listen(events.init_command_line_parser, _add_options)
_listen(events.init, _on_init)
