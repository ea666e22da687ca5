"""Worker→master sample transport: every batch written once, losses reported, never silently passed."""

from __future__ import annotations

from pathlib import Path

from harness._verdicts import Verdict
from harness.load._transport import MasterCollector, WorkerBatcher
from harness.samples import SampleWriter, read_samples


def row(i: int, worker: str) -> tuple:
    return (float(i), float(i), "GET /", "GET", 200, True, "", 1.0, 1.0, 2, "baseline", "", worker)


def test_batches_from_two_workers_arrive_once_even_when_a_message_is_repeated(tmp_path: Path) -> None:
    writer = SampleWriter(tmp_path / "s.arrow")
    master = MasterCollector(writer)
    master.expect(["w1", "w2"])
    for name in ("w1", "w2"):
        worker = WorkerBatcher(name)
        for i in range(3):
            worker.add(row(i, name))
        first = worker.next_message()
        assert first is not None
        master.receive(first)
        master.receive(first)  # delivered twice: written once
        worker.add(row(9, name))
        final = worker.next_message(final=True)
        assert final is not None and final["total"] == 4
        master.receive(final)
        again = worker.next_message(final=True)  # asked again after the final batch
        assert again is not None and again["seq"] == -1
        master.receive(again)
        assert worker.next_message() is None
    writer.close()
    assert len(read_samples(writer.path)) == 8
    assert master.pending == set()
    check = master.check()
    assert (check.verdict, check.value, check.objective) == (Verdict.PASS, 8.0, 8.0)


def test_a_lost_batch_or_a_missing_final_count_makes_the_run_inconclusive(tmp_path: Path) -> None:
    master = MasterCollector(SampleWriter(tmp_path / "s.arrow"))
    master.expect(["w1", "w2"])
    worker = WorkerBatcher("w1")
    worker.add(row(1, "w1"))
    worker.next_message()  # this batch never reaches the master
    final = worker.next_message(final=True)
    assert final is not None
    master.receive(final)
    assert master.pending == {"w2"}
    check = master.check()
    assert check.verdict == Verdict.INCONCLUSIVE
    assert check.detail == "w1: 1 rows lost; w2: no final count"


def test_a_batch_arriving_after_the_file_closed_counts_as_lost(tmp_path: Path) -> None:
    writer = SampleWriter(tmp_path / "s.arrow")
    master = MasterCollector(writer)
    worker = WorkerBatcher("w1")
    worker.add(row(1, "w1"))
    message = worker.next_message(final=True)
    writer.close()
    assert message is not None
    master.receive(message)
    assert master.check().verdict == Verdict.INCONCLUSIVE
