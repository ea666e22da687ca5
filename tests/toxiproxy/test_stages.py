"""Toxic stages on a real event loop, where the checklist is about exact chunks (not visible over TCP)."""

from __future__ import annotations

import asyncio

import pytest

from harness.toxiproxy._stages import make_stage
from harness.toxiproxy._toxic import Toxic


def run_stage(toxic: Toxic, chunks: list[bytes | None], *, state: dict | None = None, settle: float = 0.05):
    """Push `chunks` through one stage; return what came out (None = EOF) and the stage."""
    out: list[bytes | None] = []

    async def main():
        loop = asyncio.get_running_loop()
        stage = make_stage(toxic, loop, lambda data, ts: out.append(data), {} if state is None else state)
        stage.start()
        for chunk in chunks:
            stage.push(chunk, loop.time())
        await asyncio.sleep(settle)
        return stage

    stage = asyncio.run(main())
    return out, stage


def toxic(kind: str, toxicity: float = 1.0, **attributes: int) -> Toxic:
    return Toxic(name=kind, type=kind, stream="downstream", toxicity=toxicity, attributes=attributes)


def test_slicer_with_average_one_and_no_variation_emits_every_byte_alone():
    out, _ = run_stage(toxic("slicer", average_size=1, size_variation=0, delay=0), [b"abcdefghijklmnopqrstuvwx"])
    assert out == [bytes([c]) for c in b"abcdefghijklmnopqrstuvwx"]


def test_slicer_pieces_stay_near_the_average_and_lose_nothing():
    payload = bytes(range(256)) * 4
    out, _ = run_stage(toxic("slicer", average_size=10, size_variation=5, delay=0), [payload])
    assert b"".join(out) == payload  # type: ignore[arg-type]
    assert all(1 <= len(piece) <= 15 for piece in out)  # type: ignore[arg-type]
    assert len(out) >= len(payload) // 15


def test_slicer_with_variation_larger_than_the_chunk_does_not_crash():
    out, _ = run_stage(toxic("slicer", average_size=2, size_variation=50, delay=0), [b"x" * 60])
    assert b"".join(out) == b"x" * 60  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b"a" * 50], [b"a" * 50]),
        ([b"a" * 100], [b"a" * 100, None]),
        ([b"a" * 150], [b"a" * 100, None]),
        ([b"a" * 25] * 4, [b"a" * 25] * 4 + [None]),
        ([b"a" * 90, b"b" * 20], [b"a" * 90, b"b" * 10, None]),
    ],
)
def test_limit_data_passes_at_most_the_limit_then_closes(chunks, expected):
    out, _ = run_stage(toxic("limit_data", bytes=100), chunks)
    assert out == expected


def test_limit_data_with_zero_bytes_closes_on_the_first_data():
    out, _ = run_stage(toxic("limit_data", bytes=0), [b"anything"])
    assert out == [None]


def test_limit_data_keeps_its_count_across_a_restart():
    state: dict = {}
    first, stage = run_stage(toxic("limit_data", bytes=100), [b"a" * 90], state=state)
    assert first == [b"a" * 90]
    again, _ = run_stage(stage.toxic, [b"b" * 20], state=state)  # a new run of the same link's state
    assert again == [b"b" * 10, None]


def test_toxicity_zero_passes_everything_through_at_once():
    out, stage = run_stage(toxic("timeout", toxicity=0.0, timeout=10), [b"one", b"two"], settle=0.0)
    assert out == [b"one", b"two"] and not stage.active


def test_a_timeout_toxic_drops_data_and_closes_after_its_timeout():
    out, _ = run_stage(toxic("timeout", timeout=20), [b"dropped"], settle=0.1)
    assert out == [None]


def test_an_interrupted_latency_stage_forwards_its_held_chunk_at_once():
    out: list[bytes | None] = []

    async def main():
        loop = asyncio.get_running_loop()
        stage = make_stage(toxic("latency", latency=10_000), loop, lambda d, ts: out.append(d), {})
        stage.start()
        stage.push(b"first", loop.time())
        stage.push(b"second", loop.time())
        await asyncio.sleep(0.01)
        assert out == []
        stage.toxic.attributes["latency"] = 0
        stage.interrupt()
        stage.restart()
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert out == [b"first", b"second"]
