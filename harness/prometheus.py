"""The harness's own Prometheus metrics while a run is going: what Grafana shows on a game day.

Per-revision request latency histograms and outcomes (from the same exact
samples the verdicts use), the current stage and canary weight, the faults
active now, and every check's latest verdict. Served on 127.0.0.1 by
prometheus-client's own server (`serve`), and optionally pushed to a
Pushgateway (`push`) for runs too short to be scraped. A run feeds it through
the run's events; nothing here knows about rollouts or game days.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, push_to_gateway, start_http_server

from harness._verdicts import Check, Verdict

if TYPE_CHECKING:
    import pandas as pd

    from harness.engine import Events
    from harness.engine._events import SamplesFlushed, StageFinished, StageStarted

__all__ = ["RunMetrics", "LATENCY_BUCKETS_S"]

log = logging.getLogger(__name__)

#: Seconds; dense around the 100 ms objective so its quantile is read precisely.
LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0, 2.5, 5.0, 10.0)


class RunMetrics:
    """One run's metrics in a registry of its own (never the process-global one)."""

    def __init__(self, run_kind: str, run_id: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.info = Info("xynergy_harness_run", "The run being measured.", registry=r)
        self.info.info({"kind": run_kind, "run_id": run_id})
        self.requests = Counter("xynergy_harness_requests", "Requests sent by the load generator, by outcome.",
                                ["revision", "outcome"], registry=r)
        self.latency = Histogram("xynergy_harness_request_latency_seconds",
                                 "Service time of each request (exact samples).", ["revision"],
                                 buckets=LATENCY_BUCKETS_S, registry=r)
        self.error_ratio = Gauge("xynergy_harness_error_ratio", "Failed / all requests in the current stage.",
                                 ["revision"], registry=r)
        self.stage = Gauge("xynergy_harness_stage_weight_percent",
                           "The canary weight of the stage being run (0 outside stages).", registry=r)
        self.weight = Gauge("xynergy_harness_canary_weight_percent",
                            "The canary's share of traffic as last set on the router.", registry=r)
        self.fault = Gauge("xynergy_harness_fault_active", "1 while a fault is injected.",
                           ["target", "kind"], registry=r)
        self.check = Gauge("xynergy_harness_check_verdict",
                           "1 for the latest verdict of each check (0 for the other verdicts).",
                           ["check", "scope", "verdict"], registry=r)
        self._stage_counts: dict[str, list[int]] = {}
        self._lock = threading.Lock()
        self._server: tuple[object, threading.Thread] | None = None

    # -- fed by the run's events -------------------------------------------------
    def stage_started(self, weight: int) -> None:
        with self._lock:
            self._stage_counts.clear()
            self.error_ratio.clear()
        self.stage.set(weight)

    def stage_finished(self) -> None:
        self.stage.set(0)

    def weight_set(self, percent: int) -> None:
        self.weight.set(percent)

    def fault_changed(self, target: str, kind: str, *, active: bool) -> None:
        self.fault.labels(target, kind).set(1 if active else 0)

    def checks_judged(self, checks: Iterable[Check]) -> None:
        for c in checks:
            for verdict in Verdict:
                self.check.labels(c.name, str(c.scope), verdict.value).set(1 if c.verdict is verdict else 0)

    def observe_samples(self, frame: pd.DataFrame) -> None:
        """Count new samples (rows not seen before) into the histograms and the stage's error ratio."""
        if frame.empty:
            return
        with self._lock:
            for revision, rows in frame.groupby(frame["revision"].astype(str), sort=False):
                ok = rows["ok"].to_numpy(dtype=bool)
                failed = int((~ok).sum())
                self.requests.labels(revision, "ok").inc(len(rows) - failed)
                if failed:
                    self.requests.labels(revision, "error").inc(failed)
                child = self.latency.labels(revision)
                for ms in rows["latency_ms"].to_numpy(dtype=float):
                    child.observe(ms / 1000.0)
                counts = self._stage_counts.setdefault(str(revision), [0, 0])
                counts[0] += len(rows)
                counts[1] += failed
                self.error_ratio.labels(revision).set(counts[1] / counts[0])

    def listen(self, events: Events, *, pushgateway: str | None = None) -> None:
        """Follow a run through its events (new sample rows are read incrementally per stage)."""
        def stage_started(e: StageStarted) -> None:
            self.stage_started(e.weight or 0)

        def flushed(e: SamplesFlushed) -> None:
            if e.new is not None:  # the engine already read them: no second pass over the file
                self.observe_samples(e.new)

        def stage_finished(e: StageFinished) -> None:
            self.stage_finished()
            if pushgateway:
                self._push_quietly(pushgateway)

        events.run_started.add_listener(lambda e: self.info.info({"kind": e.kind, "run_id": e.run_id}))
        events.stage_started.add_listener(stage_started)
        events.samples_flushed.add_listener(flushed)
        events.stage_finished.add_listener(stage_finished)
        events.weight_set.add_listener(lambda e: self.weight_set(e.percent))
        events.fault_injected.add_listener(lambda e: self.fault_changed(e.target, e.kind, active=True))
        events.fault_removed.add_listener(lambda e: self.fault_changed(e.target, e.kind, active=False))
        events.check_judged.add_listener(lambda e: self.checks_judged([e.check]))
        if pushgateway:
            events.run_finished.add_listener(lambda e: self._push_quietly(pushgateway))

    def _push_quietly(self, gateway: str) -> None:
        """A Pushgateway that is down costs a log line, never the run."""
        try:
            self.push(gateway)
        except OSError as exc:
            log.warning("push to %s failed: %s", gateway, exc)

    # -- out -------------------------------------------------------------------
    def serve(self, port: int = 0, addr: str = "127.0.0.1") -> str:
        """Serve /metrics on `addr:port` (0 picks a free port); returns the URL."""
        server, thread = start_http_server(port, addr=addr, registry=self.registry)
        self._server = (server, thread)
        host, bound = server.server_address[:2]
        return f"http://{host!s}:{bound}/metrics"

    def push(self, gateway: str, *, job: str = "xynergy-harness", timeout_s: float = 5.0) -> None:
        """Push the registry once to a Pushgateway (call at stage ends and at the end of the run)."""
        push_to_gateway(gateway, job=job, registry=self.registry, timeout=timeout_s)

    def close(self) -> None:
        if self._server is not None:
            server, thread = self._server
            server.shutdown()  # type: ignore[attr-defined]
            server.server_close()  # type: ignore[attr-defined]
            thread.join(timeout=5)
            self._server = None
