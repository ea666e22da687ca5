"""The samples file: contract columns, crash-tolerant reading, worker batches."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from harness._exceptions import LoadError
from harness.samples import COLUMNS, SCHEMA, SampleWriter, decode_batch, encode_batch, iter_batches, read_samples, rows_to_batch


def row(i: int, *, ok: bool = True) -> tuple:
    return (1000.0 + i, 999.5 + i, "GET /", "GET", 200 if ok else 503, ok, "" if ok else "http_503",
            1.5 + i, 501.5 + i, 12, "canary", "us-central1", "local")


def test_samples_round_trip_with_exactly_the_contract_columns(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    with SampleWriter(path) as writer:
        for i in range(5):
            writer.add(row(i, ok=i != 3))
    frame = read_samples(path)
    assert tuple(frame.columns) == COLUMNS
    assert len(frame) == 5
    assert frame.loc[3, "status"] == 503 and not frame.loc[3, "ok"] and frame.loc[3, "error_kind"] == "http_503"
    assert frame.loc[4, "co_latency_ms"] - frame.loc[4, "latency_ms"] == 500.0
    assert frame["ok"].dtype == bool and frame["status"].dtype.kind == "i"


def test_rows_are_flushed_to_the_file_once_the_interval_has_passed(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    writer = SampleWriter(path, flush_interval=0.0)  # every add flushes
    writer.add(row(0))
    writer.add(row(1))
    assert len(read_samples(path)) == 2  # readable while the writer is still open
    writer.close()


def test_a_file_cut_off_mid_batch_reads_every_complete_batch(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    writer = SampleWriter(path, flush_interval=3600)
    for batch in range(3):
        for i in range(100):
            writer.add(row(batch * 100 + i))
        writer.flush()
    writer.close()
    data = path.read_bytes()
    cut = tmp_path / "cut.arrow"
    cut.write_bytes(data[: len(data) - 200])  # the crash tore the last batch
    assert len(read_samples(cut)) == 200
    cut.write_bytes(data[:40])  # torn inside the schema
    assert read_samples(cut).empty and tuple(read_samples(cut).columns) == COLUMNS
    cut.write_bytes(b"")
    assert read_samples(cut).empty


def test_several_files_read_as_one_frame_and_a_missing_one_is_named(tmp_path: Path) -> None:
    paths = []
    for n in range(2):
        paths.append(tmp_path / f"{n}.arrow")
        with SampleWriter(paths[-1]) as writer:
            writer.add(row(n))
    assert len(read_samples(paths)) == 2
    with pytest.raises(LoadError, match="nope.arrow: samples file not found"):
        read_samples(tmp_path / "nope.arrow")


def test_a_file_that_is_not_samples_is_rejected_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "notes.arrow"
    path.write_text("hello, this is not Arrow at all " * 100)
    with pytest.raises(LoadError, match="notes.arrow: not a samples file"):
        read_samples(path)


def test_worker_batches_survive_encoding_and_bad_bytes_are_refused() -> None:
    table = decode_batch(encode_batch(rows_to_batch([row(1), row(2)])))
    assert table.num_rows == 2 and table.column("name").to_pylist() == ["GET /", "GET /"]
    with pytest.raises(LoadError):
        decode_batch(b"garbage")


def test_cache_and_tier_round_trip_and_a_file_of_the_first_release_reads_them_as_empty(tmp_path: Path) -> None:
    new = tmp_path / "new.arrow"
    with SampleWriter(new) as writer:
        writer.add((*row(0), "hit", "small"))
        writer.add(row(1))  # a row of the first release's shape: no cache, no tier
    frame = read_samples(new)
    assert frame[["cache", "tier"]].values.tolist() == [["hit", "small"], ["", ""]]

    old = tmp_path / "old.arrow"  # written as the first release did: 13 columns, no cache/tier
    legacy = pa.schema([f for f in SCHEMA if f.name not in ("cache", "tier")])
    columns = list(zip(*[row(2), row(3)], strict=True))
    with pa.OSFile(str(old), "wb") as sink, pa.ipc.new_stream(sink, legacy) as stream:
        stream.write_batch(pa.RecordBatch.from_arrays([pa.array(c, f.type) for c, f in zip(columns, legacy)], schema=legacy))
    both = read_samples([old, new])
    assert tuple(both.columns) == COLUMNS
    assert both["cache"].tolist() == ["", "", "hit", ""] and both["tier"].tolist() == ["", "", "small", ""]
    assert both["revision"].tolist() == ["canary"] * 4


def test_only_the_asked_columns_are_read_batch_by_batch_and_an_unknown_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    writer = SampleWriter(path, flush_interval=3600)
    for i in range(10):
        writer.add(row(i, ok=i % 5 != 0))
        if i % 4 == 3:
            writer.flush()
    writer.close()
    frame = read_samples(path, columns=["latency_ms", "revision", "ok"])
    assert tuple(frame.columns) == ("ok", "latency_ms", "revision")  # file order
    assert frame["latency_ms"].tolist() == [1.5 + i for i in range(10)] and frame["ok"].sum() == 8
    batches = list(iter_batches(path, columns=["ok"]))
    assert [b.num_rows for b in batches] == [4, 4, 2] and all(b.schema.names == ["ok"] for b in batches)
    assert read_samples(tmp_path / "s.arrow", columns=["cache"]).empty is False
    with pytest.raises(LoadError, match="no such samples column: latency"):
        read_samples(path, columns=["latency"])
    path.write_bytes(b"")  # a new run truncates the file: a frame read from its memory map is a copy
    assert frame["latency_ms"].sum() == sum(1.5 + i for i in range(10)) and frame["revision"].iloc[-1] == "canary"


def test_a_row_with_odd_value_types_is_coerced_and_never_loses_its_batch(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    with SampleWriter(path) as writer:
        writer.add(row(0))
        writer.add((1001.0, 1000.5, "GET /", "GET", "200", True, "", 2, 2.5, None, 7, None, "local", "hit", "small"))
    frame = read_samples(path)
    assert len(frame) == 2
    assert frame.loc[1, "status"] == 200 and frame.loc[1, "latency_ms"] == 2.0 and frame.loc[1, "revision"] == "7"
    assert frame.loc[1, "region"] == "" and frame["bytes"].isna().tolist() == [False, True]
