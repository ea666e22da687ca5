"""Reading a samples file while it is written: each look decodes only the new batches."""

from __future__ import annotations

from pathlib import Path

from harness.engine._tail import SampleTail
from harness.samples import SampleWriter, read_samples

ROW = (1.0, 1.0, "POST /v1/route", "POST", 200, True, "", 3.1, 3.1, 12, "baseline", "", "local")


def test_the_tail_grows_with_the_file_and_ends_equal_to_a_full_read(tmp_path: Path) -> None:
    path = tmp_path / "samples.arrow"
    tail = SampleTail(path)
    assert tail.read_new() == 0  # not written yet
    with SampleWriter(path, flush_interval=0) as writer:
        for _ in range(5):
            writer.add(ROW)
        assert tail.read_new() == 5
        for _ in range(7):
            writer.add(ROW)
        assert tail.read_new() == 7 and tail.read_new() == 0
    assert len(tail.frame) == len(read_samples(path)) == 12


def test_a_batch_cut_short_mid_write_is_read_on_the_next_look(tmp_path: Path) -> None:
    path = tmp_path / "samples.arrow"
    with SampleWriter(path, flush_interval=0) as writer:
        for _ in range(3):
            writer.add(ROW)
    whole = path.read_bytes()
    partial = tmp_path / "partial.arrow"
    partial.write_bytes(whole[:-30])  # the last batch half written
    tail = SampleTail(partial)
    first = tail.read_new()
    partial.write_bytes(whole)
    assert first < 3 and first + tail.read_new() == 3
