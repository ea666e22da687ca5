"""Read a growing samples file batch by batch: each look pays only for the rows new since the last.

The sequential stage loop re-judges every couple of seconds while Locust is
still writing; re-reading the whole Arrow stream each time would cost
O(rows) per look. `SampleTail` remembers the byte offset after the last
complete message and decodes only what follows; a message cut short (the
writer is mid-flush) is read again on the next look.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from harness.samples import empty_samples

__all__ = ["BatchTail", "SampleTail"]


class BatchTail:
    """The complete record batches appended to `path` since the last `read_batches()`; keeps none.

    For a reader that folds batches into something bounded (a soak's current
    window, counters) instead of holding every row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._schema: pa.Schema | None = None
        self.rows = 0

    def read_batches(self) -> list[pa.RecordBatch]:
        """Decode the complete batches written since the last call (a message cut short is read next time)."""
        try:
            with self.path.open("rb") as fh:
                fh.seek(self._offset)
                data = fh.read()
        except FileNotFoundError:
            return []
        reader = pa.BufferReader(pa.py_buffer(data))
        consumed, batches = 0, []
        while consumed < len(data):
            try:
                message = pa.ipc.read_message(reader)
            except (pa.ArrowInvalid, OSError, EOFError, StopIteration):
                break  # an incomplete message (mid-flush) or the end-of-stream marker
            if message is None:
                break
            consumed = reader.tell()
            if message.type == "schema":
                self._schema = pa.ipc.read_schema(message)
            elif message.type == "record batch" and self._schema is not None:
                batches.append(pa.ipc.read_record_batch(message, self._schema))
        self._offset += consumed
        self.rows += int(sum(b.num_rows for b in batches))
        return batches

    @property
    def schema(self) -> pa.Schema | None:
        """The stream's schema, once read."""
        return self._schema


class SampleTail(BatchTail):
    """The samples of `path` so far (`frame`), grown by `read_new()`."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._parts: list[pd.DataFrame] = []
        self._frame: pd.DataFrame | None = None

    def read_new(self) -> int:
        """Decode the complete batches written since the last call; returns how many rows they hold."""
        batches = self.read_batches()
        new = int(sum(b.num_rows for b in batches))
        if new:
            self._parts.append(pa.Table.from_batches(batches, schema=self._schema).to_pandas())
            self._frame = None
        return new

    @property
    def frame(self) -> pd.DataFrame:
        """Every row read so far, as one DataFrame (concatenated once per growth)."""
        if self._frame is None:
            if not self._parts:
                return empty_samples()
            self._frame = pd.concat(self._parts, ignore_index=True) if len(self._parts) > 1 else self._parts[0]
            self._parts = [self._frame]
        return self._frame
