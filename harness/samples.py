"""The samples file: one row per request, the source of truth for every SLI.

Format: an Arrow IPC *stream* (schema first, then one record batch per flush).
Chosen by measurement (`bench/bench_samples.py`): appending a row costs the
same as a CSV row, but pandas reads a million rows from Arrow in a fraction of
the CSV time and memory, and unlike Parquet (whose footer is written at close)
a stream cut off by a crash stays readable up to its last complete batch. The
writer flushes a batch at least every `flush_interval` seconds, so a crash
loses at most that much.

This module never imports locust: the orchestrator reads samples with it, and
the Locust plugin (`harness.locust`) writes them.
"""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from harness._exceptions import LoadError

__all__ = [
    "COLUMNS",
    "SCHEMA",
    "ADDED_COLUMNS",
    "LegacyRow",
    "PendingRows",
    "Row",
    "SampleWriter",
    "iter_batches",
    "read_samples",
    "read_table",
    "rows_to_batch",
    "encode_batch",
    "decode_batch",
    "empty_samples",
]

#: The samples contract (docs/architecture.md), in file order.
SCHEMA = pa.schema(
    [
        ("ts", pa.float64()),  # actual start, epoch seconds
        ("intended_ts", pa.float64()),  # intended start (open-model pacing)
        ("name", pa.string()),
        ("method", pa.string()),
        ("status", pa.int32()),  # 0 when no response
        ("ok", pa.bool_()),
        ("error_kind", pa.string()),  # "" when ok
        ("latency_ms", pa.float64()),  # service time
        ("co_latency_ms", pa.float64()),  # from the intended start
        ("bytes", pa.int64()),
        ("revision", pa.string()),
        ("region", pa.string()),
        ("worker", pa.string()),
        ("cache", pa.string()),  # response header x-xynergy-cache: hit | miss | dedup, "" when absent
        ("tier", pa.string()),  # response header x-xynergy-tier, "" when absent
    ]
)
COLUMNS: tuple[str, ...] = tuple(SCHEMA.names)

#: Columns added after the first release: files (and worker batches) without
#: them are read with "" in their place.
ADDED_COLUMNS: tuple[str, ...] = ("cache", "tier")
_LEGACY_SCHEMA = pa.schema([f for f in SCHEMA if f.name not in ADDED_COLUMNS])

#: One sample as a tuple in `COLUMNS` order (tuples are the cheapest thing to
#: build in the request hook; they are transposed into columns per flush).
Row = tuple[float, float, str, str, int, bool, str, float, float, int, str, str, str, str, str]
#: A row of the first release (no `cache`, `tier`); `rows_to_batch` still takes it.
LegacyRow = tuple[float, float, str, str, int, bool, str, float, float, int, str, str, str]


def rows_to_batch(rows: Sequence[Row | LegacyRow]) -> pa.RecordBatch:
    """Transpose row tuples into one Arrow record batch of `SCHEMA` (legacy rows get "" cache/tier)."""
    if not rows:
        return pa.RecordBatch.from_pylist([], schema=SCHEMA)
    try:
        columns = list(zip(*rows, strict=True))
    except ValueError:  # legacy and current rows mixed: pad the legacy ones
        pad = ("",) * len(ADDED_COLUMNS)
        columns = list(zip(*(r if len(r) == len(SCHEMA) else (*r, *pad) for r in rows), strict=True))
    arrays = [pa.array(col, type=f.type) for col, f in zip(columns, SCHEMA, strict=False)]
    arrays += [pa.array([""] * len(rows), pa.string())] * (len(SCHEMA) - len(arrays))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _upgrade(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of `SCHEMA`; a batch of the first release's schema gets "" `cache`/`tier` columns."""
    if batch.schema.equals(SCHEMA):
        return batch
    if not batch.schema.equals(_LEGACY_SCHEMA):
        raise LoadError(f"samples have columns {batch.schema.names}, expected {list(COLUMNS)}")
    blank = pa.array([""] * batch.num_rows, pa.string())
    return pa.RecordBatch.from_arrays([*batch.columns, *([blank] * len(ADDED_COLUMNS))], schema=SCHEMA)


def encode_batch(batch: pa.RecordBatch) -> bytes:
    """Serialise one batch as a self-contained IPC stream (for worker→master messages)."""
    sink = io.BytesIO()
    with pa.ipc.new_stream(sink, SCHEMA) as writer:
        writer.write_batch(batch)
    return sink.getvalue()


def decode_batch(data: bytes) -> pa.Table:
    """Inverse of `encode_batch`; raises `LoadError` on bytes that are not samples."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(data)).read_all()
    except (pa.ArrowInvalid, OSError) as exc:
        raise LoadError(f"samples batch is not a valid Arrow stream: {exc}") from exc
    if table.schema.equals(SCHEMA):
        return table
    if not table.schema.equals(_LEGACY_SCHEMA):  # an older worker: same rows, no cache/tier
        raise LoadError("samples batch has a different schema than harness.samples.SCHEMA")
    return pa.Table.from_batches([_upgrade(b) for b in table.to_batches()], schema=SCHEMA)


_WIDTH = len(SCHEMA)
_PAD = ("",) * len(ADDED_COLUMNS)


class PendingRows:
    """Samples waiting for the next flush, flattened into one list of values.

    Appending a sample keeps no GC-tracked object alive. A list of row tuples
    did: every tuple stayed until the flush, so Python's cyclic GC ran every
    700 requests (gen0) and every 7,000 (gen1) over them; measured in a Locust
    process at full speed that was most of the plugin's cost per request
    (bench/bench_capture.py). Here the row tuple is freed as soon as its
    values are copied, and a flush slices the list into columns (C speed).
    """

    __slots__ = ("_flat",)

    def __init__(self) -> None:
        self._flat: list[object] = []

    @property
    def sink(self) -> Callable[[Row], None]:
        """The cheapest way to queue a full-width row: a bound `list.extend`."""
        return self._flat.extend

    def add(self, row: Row | LegacyRow) -> None:
        """Queue one row (a first-release row gets "" cache and tier)."""
        self._flat.extend(row if len(row) == _WIDTH else (*row, *_PAD))

    def __len__(self) -> int:
        return len(self._flat) // _WIDTH

    def clear(self) -> None:
        self._flat.clear()

    def take(self) -> pa.RecordBatch:
        """The queued rows as one batch of `SCHEMA`; the queue is empty afterwards (the same list stays)."""
        flat = self._flat.copy()
        self._flat.clear()
        if not flat:
            return pa.RecordBatch.from_pylist([], schema=SCHEMA)
        arrays = [_column(flat[i::_WIDTH], f) for i, f in enumerate(SCHEMA)]
        return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def _column(values: list[object], f: pa.Field) -> pa.Array:
    """One column; values of another type (a locustfile's own revision, an int status given as a
    string) are coerced rather than losing the whole batch."""
    try:
        array = pa.array(values, type=f.type)
        return array.fill_null("") if array.null_count and pa.types.is_string(f.type) else array
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError):
        if pa.types.is_string(f.type):
            return pa.array(["" if v is None else str(v) for v in values], type=f.type)
        if pa.types.is_boolean(f.type):
            return pa.array([bool(v) for v in values], type=f.type)
        if pa.types.is_integer(f.type):
            return pa.array([_number(v, int) for v in values], type=f.type)
        return pa.array([_number(v, float) for v in values], type=f.type)


def _number(value: object, kind: type[int] | type[float]) -> int | float | None:
    try:
        return kind(value)  # type: ignore[arg-type,call-overload]
    except (TypeError, ValueError):
        return None


class SampleWriter:
    """Stream sample rows to an Arrow IPC file, one batch per flush.

    `add` only queues a row; when `flush_interval` seconds have passed since
    the last flush it writes the pending rows as a record batch and flushes
    the OS buffer, so a crash loses at most that interval. `close()` writes
    the rest and the end-of-stream marker (a reader does not need it).

    Example:
        with SampleWriter("samples.arrow") as w:
            w.add((t, t, "GET /", "GET", 200, True, "", 3.1, 3.1, 12, "baseline", "", "local", "miss", "small"))
    """

    def __init__(self, path: str | os.PathLike[str], *, flush_interval: float = 1.0) -> None:
        self.path = Path(path)
        self.flush_interval = flush_interval
        self.rows_written = 0
        self._pending = PendingRows()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Arrow's own file (no Python file object between the IPC writer and the OS); its
        # flush() hands each batch to the OS, so a crash of the process loses no written batch
        self._file = pa.OSFile(str(self.path), "wb")
        self._writer = pa.ipc.new_stream(self._file, SCHEMA)
        self._file.flush()
        self._last_flush = time.monotonic()
        self._closed = False

    @property
    def closed(self) -> bool:
        """True once `close()` ran; nothing more can be written."""
        return self._closed

    def add(self, row: Row | LegacyRow) -> None:
        """Queue one row; writes a batch when the flush interval has passed."""
        self._pending.add(row)
        if time.monotonic() - self._last_flush >= self.flush_interval:
            self.flush()

    def appender(self) -> Callable[[Row], None]:
        """The cheapest way to queue a full-width row, for a caller that calls `flush()` on its
        own schedule (the Locust plugin's flusher); `add` also checks the clock."""
        return self._pending.sink

    def add_table(self, table: pa.Table | pa.RecordBatch) -> None:
        """Write already-columnar samples (e.g. a batch received from a worker) now."""
        if self._closed:
            raise LoadError(f"{self.path}: samples writer is closed")
        self.flush()
        if isinstance(table, pa.RecordBatch):
            self._writer.write_batch(table)
        else:
            self._writer.write_table(table)
        self.rows_written += table.num_rows
        self._file.flush()

    def flush(self) -> int:
        """Write queued rows as one batch and flush to the OS; returns rows written."""
        self._last_flush = time.monotonic()
        if self._closed or not len(self._pending):
            return 0
        batch = self._pending.take()
        rows = int(batch.num_rows)
        self._writer.write_batch(batch)
        self._file.flush()
        self.rows_written += rows
        return rows

    def close(self) -> None:
        """Write what is queued and the end-of-stream marker; idempotent."""
        if self._closed:
            return
        self.flush()
        self._closed = True
        self._writer.close()
        self._file.close()

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def empty_samples() -> pd.DataFrame:
    """A samples frame with the contract's columns and dtypes but no rows."""
    return SCHEMA.empty_table().to_pandas()


def _stream(path: Path, columns: Sequence[str] | None, *, categorical: bool = False) -> Iterator[pa.RecordBatch]:
    """Every complete batch of one stream, one at a time, only `columns`; a truncated tail (crash) is dropped."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise LoadError(f"{path}: samples file not found") from exc
    if not size:
        return
    # an OSFile, not a memory map: a frame must not depend on the file staying as it is
    # (pandas keeps strings in Arrow memory: a view of a map of a file a new run truncates
    # is a bus error)
    with pa.OSFile(str(path), "rb") as source:
        try:
            reader = pa.ipc.open_stream(source)
        except (pa.ArrowInvalid, OSError) as exc:
            if size < 1024:  # crashed while writing the schema itself
                return
            raise LoadError(f"{path}: not a samples file (Arrow IPC stream): {exc}") from exc
        if not (reader.schema.equals(SCHEMA) or reader.schema.equals(_LEGACY_SCHEMA)):
            raise LoadError(f"{path}: samples file has columns {reader.schema.names}, expected {list(COLUMNS)}")
        while True:
            try:
                batch = _upgrade(reader.read_next_batch())
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError):
                return  # truncated by a crash: keep every complete batch before it
            if categorical:
                yield _encode_strings(batch if columns is None else batch.select(columns))
            else:
                yield batch if columns is None else _copy_columns(batch, columns)


def _copy_columns(batch: pa.RecordBatch, columns: Sequence[str]) -> pa.RecordBatch:
    """Only `columns`, in buffers of their own: a selected column is a slice of the batch's
    one body buffer and would keep every other column's bytes alive (10 M samples: 1.9 GiB
    peak for 6 of 15 columns, 0.8 GiB with the copy)."""
    selected = batch.select(columns)
    copies = [pa.concat_arrays([c, c.slice(0, 0)]) for c in selected.columns]  # concat allocates anew
    return pa.RecordBatch.from_arrays(copies, schema=selected.schema)


#: The type of a string column read with `categorical=True`.
DICTIONARY = pa.dictionary(pa.int32(), pa.string())


def _encode_strings(batch: pa.RecordBatch) -> pa.RecordBatch:
    """String columns dictionary-encoded (new buffers: nothing of the batch's body stays alive).

    A name or revision repeats a handful of values over millions of rows: as a
    dictionary it is 4 bytes a row instead of ~28 (offsets + bytes), and pandas
    turns it into a Categorical (1 byte a row) instead of one object per row.
    Numeric columns are copied as in `_copy_columns`.
    """
    arrays = [
        c.dictionary_encode() if pa.types.is_string(c.type) else pa.concat_arrays([c, c.slice(0, 0)])
        for c in batch.columns
    ]
    fields = [pa.field(f.name, DICTIONARY if pa.types.is_string(f.type) else f.type) for f in batch.schema]
    return pa.RecordBatch.from_arrays(arrays, schema=pa.schema(fields))


def _columns(columns: Iterable[str] | None) -> list[str] | None:
    """`columns` in file order, checked against the contract (None: all)."""
    if columns is None:
        return None
    wanted = set(columns)
    unknown = wanted - set(COLUMNS)
    if unknown:
        raise LoadError(f"no such samples column: {', '.join(sorted(unknown))} (columns: {', '.join(COLUMNS)})")
    return [c for c in COLUMNS if c in wanted]


def _paths(paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]]) -> list[Path]:
    if isinstance(paths, (str, os.PathLike)):
        return [Path(paths)]
    return [Path(p) for p in paths]


def iter_batches(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    columns: Iterable[str] | None = None,
    *,
    categorical: bool = False,
) -> Iterator[pa.RecordBatch]:
    """Stream the samples as Arrow record batches (one flush each), only `columns`.

    For analysis that folds batch by batch (counts, sums, per-group arrays):
    at most one batch of the unwanted columns is in memory at a time. With
    `categorical` the string columns come dictionary-encoded (one dictionary per batch).
    """
    selected = _columns(columns)
    for path in _paths(paths):
        yield from _stream(path, selected, categorical=categorical)


def read_table(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    columns: Iterable[str] | None = None,
    *,
    categorical: bool = False,
) -> pa.Table:
    """The samples as one Arrow table with only `columns` (all by default), in file order.

    With `categorical` the string columns are dictionary-encoded, one dictionary per column.
    """
    selected = _columns(columns)
    fields = [SCHEMA.field(c) for c in (selected if selected is not None else COLUMNS)]
    if categorical:
        fields = [pa.field(f.name, DICTIONARY) if pa.types.is_string(f.type) else f for f in fields]
    table = pa.Table.from_batches(list(iter_batches(paths, selected, categorical=categorical)), schema=pa.schema(fields))
    return table.unify_dictionaries() if categorical else table


def read_samples(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]],
    columns: Iterable[str] | None = None,
    *,
    categorical: bool = False,
) -> pd.DataFrame:
    """Read one or more samples files into one DataFrame with exactly `COLUMNS` (or only `columns`).

    Files cut short by a crash are read up to their last complete batch.
    Raises `LoadError` naming the file when one is missing or not a samples file,
    or naming a column that is not in the contract. Ask only for the columns a
    check reads: on 10 M samples the string columns are most of the memory.
    With `categorical` the string columns are pandas Categoricals (categories
    sorted, so a groupby sees groups in the same order as over plain strings):
    ~1 byte a row instead of a Python object pointer; judging at scale reads
    this way (`harness.slo.needed_columns` says which columns).
    """
    if categorical:
        return _read_categorical(paths, columns)
    table = read_table(paths, columns)
    if not table.num_rows:
        frame = table.schema.empty_table().to_pandas()
        return frame
    result: pd.DataFrame = table.to_pandas(self_destruct=True, split_blocks=True)
    del table  # to_pandas freed each Arrow column once converted (peak memory)
    pa.default_memory_pool().release_unused()
    return result


class _Categories:
    """One string column's values seen so far, each with its code (first seen, first code)."""

    def __init__(self) -> None:
        self.codes: dict[str, int] = {}

    def encode(self, column: pa.Array) -> np.ndarray:
        """The column's codes (-1 for a null), through its batch dictionary (a handful of values)."""
        encoded = column.dictionary_encode()
        lookup = np.array([self.codes.setdefault(v, len(self.codes)) for v in encoded.dictionary.to_pylist()] + [-1],
                          dtype=np.int32)  # fmt: skip
        indices = pc.fill_null(encoded.indices, len(lookup) - 1).to_numpy()
        codes: np.ndarray = lookup[indices]
        return codes

    def categorical(self, codes: np.ndarray) -> pd.Categorical:
        """`codes` as a Categorical whose categories are sorted (the order a groupby of strings sees)."""
        values = list(self.codes)
        order = sorted(range(len(values)), key=values.__getitem__)
        remap = np.empty(len(values) + 1, dtype=np.int32)
        remap[order] = np.arange(len(values), dtype=np.int32)
        remap[-1] = -1
        return pd.Categorical.from_codes(remap[codes], categories=[values[i] for i in order])


def _read_categorical(
    paths: str | os.PathLike[str] | Iterable[str | os.PathLike[str]], columns: Iterable[str] | None
) -> pd.DataFrame:
    """`read_samples(..., categorical=True)`: each batch goes straight to numpy chunks of the wanted columns.

    The peak is the chunks plus one column being joined (about the frame's own
    size): 10 M samples as 7 columns peaked at ~0.9 GiB through an Arrow table
    and `to_pandas`, and ~0.5 GiB this way (bench/bench_samples.py part 3).
    """
    selected = _columns(columns)
    names = list(selected if selected is not None else COLUMNS)
    chunks: dict[str, list[np.ndarray]] = {n: [] for n in names}
    categories = {n: _Categories() for n in names if pa.types.is_string(SCHEMA.field(n).type)}
    for path in _paths(paths):
        for batch in _stream(path, None):
            for name in names:
                column = batch.column(name)
                if name in categories:
                    chunks[name].append(categories[name].encode(column))
                else:  # a copy: a view would keep the whole batch alive
                    chunks[name].append(np.array(column.to_numpy(zero_copy_only=False)))
    if not any(chunks[n] for n in names):
        empty = pa.schema([SCHEMA.field(n) for n in names]).empty_table().to_pandas()
        for name in categories:
            empty[name] = pd.Categorical([], categories=[])
        return empty
    data: dict[str, Any] = {}
    for name in names:  # one column joined at a time, its chunks freed right after
        joined = np.concatenate(chunks.pop(name))
        data[name] = categories[name].categorical(joined) if name in categories else joined
        del joined
    return pd.DataFrame(data, copy=False)
