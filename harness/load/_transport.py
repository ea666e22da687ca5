"""Samples from Locust workers to the master: numbered batches, written once, counted.

Workers send their rows about once a second as Arrow IPC bytes inside
Locust's own worker→master messages (the connection Locust already uses for
its statistics), so this works across machines without a shared filesystem.
Each batch carries the worker id, a sequence number and the worker's running
total; the master writes a batch only the first time it sees its number, and
compares what arrived with each worker's final total. No locust import here:
`harness.locust` does the sending.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from harness._verdicts import Check, Verdict
from harness.samples import PendingRows, Row, SampleWriter, decode_batch, encode_batch

__all__ = ["WorkerBatcher", "MasterCollector"]


class WorkerBatcher:
    """Worker side: collects rows and turns them into numbered batch messages."""

    def __init__(self, worker_id: str = "worker") -> None:
        self.worker_id = worker_id
        self.pending = PendingRows()  # the plugin appends to `pending.sink`
        self.seq = 0
        self.shipped = 0
        self.final_sent = False

    def restart(self, worker_id: str) -> None:
        """A new test run on the same worker: its own total (the master judges each run on its own);
        sequence numbers go on, so they stay unique; rows left from the last run are dropped."""
        self.worker_id = worker_id
        self.pending.clear()
        self.shipped = 0
        self.final_sent = False

    def add(self, row: Row) -> None:
        """Queue one row (the plugin appends to `pending.sink` directly)."""
        self.pending.add(row)

    def next_message(self, *, final: bool = False) -> dict[str, Any] | None:
        """The next message to send, or None when there is nothing to say."""
        if self.final_sent and not final:
            return None
        rows = len(self.pending)
        if not rows and not final:
            return None
        if not rows and self.final_sent:  # asked again after the final batch: repeat the total
            return {"worker": self.worker_id, "seq": -1, "final": True, "total": self.shipped}
        self.seq += 1
        self.shipped += rows
        self.final_sent = self.final_sent or final
        payload = encode_batch(self.pending.take()) if rows else b""
        return {"worker": self.worker_id, "seq": self.seq, "rows": payload, "final": final, "total": self.shipped}


class MasterCollector:
    """Master side: writes each worker batch once and knows whether any went missing."""

    def __init__(self, writer: SampleWriter) -> None:
        self.writer = writer
        self.seen: dict[str, set[int]] = {}
        self.received: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.expected: set[str] = set()

    def expect(self, workers: Iterable[str]) -> None:
        """Workers that took part: each must send a final total."""
        self.expected |= set(workers)

    @property
    def pending(self) -> set[str]:
        """Expected workers whose final total has not arrived."""
        return {w for w in self.expected | set(self.seen) if w not in self.totals}

    def receive(self, data: Mapping[str, Any]) -> None:
        """Handle one message body (see `WorkerBatcher.next_message`)."""
        worker, seq = str(data["worker"]), int(data["seq"])
        if data.get("final"):
            self.totals[worker] = int(data["total"])
        seen = self.seen.setdefault(worker, set())
        if seq < 0 or seq in seen:
            return  # a repeated final total or a duplicate batch
        seen.add(seq)
        if not data.get("rows") or self.writer.closed:  # after close: counted as lost below
            return
        table = decode_batch(data["rows"])
        self.writer.add_table(table)
        self.received[worker] = self.received.get(worker, 0) + table.num_rows

    def check(self) -> Check:
        """`samples-complete`: PASS when every worker's final total arrived in full, else INCONCLUSIVE."""
        workers = sorted(self.expected | set(self.seen) | set(self.totals))
        missing = {w: self.totals.get(w, -1) - self.received.get(w, 0) for w in workers}
        complete = bool(workers) and all(w in self.totals and missing[w] == 0 for w in workers)
        received = sum(self.received.values())
        problems = [f"{w}: {'no final count' if w not in self.totals else f'{n} rows lost'}" for w, n in missing.items()
                    if w not in self.totals or n]  # fmt: skip
        return Check(
            name="samples-complete",
            verdict=Verdict.PASS if complete else Verdict.INCONCLUSIVE,
            value=float(received),
            objective=float(sum(self.totals.values())),
            op="gte",
            samples=received,
            scope=f"workers={len(workers)}",
            kind="slo",
            detail="; ".join(problems) if problems else ("" if workers else "no worker sent samples"),
            extra={"per_worker": {w: {"received": self.received.get(w, 0), "captured": self.totals.get(w)} for w in workers}},
        )
