"""Where the extension keeps a load's samples and marks between activities.

Chaos Toolkit runs each activity as a separate call (actions possibly in a
background thread), so the state they share lives in a directory: Locust's
`samples.arrow` and a `marks.json` of named instants.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd

from harness.samples import read_samples

__all__ = ["MARKS", "samples_of", "read_marks", "write_mark"]

MARKS = "marks.json"


def samples_of(out_dir: str | Path, *, last_s: float | None = None) -> pd.DataFrame:
    """The samples written so far under `out_dir`; only the last `last_s` seconds when given."""
    path = Path(out_dir) / "samples.arrow"
    if not path.exists():
        return read_samples([])
    frame = read_samples(path)
    if last_s is not None:
        frame = frame[frame["ts"] >= time.time() - last_s]
    return frame


def read_marks(out_dir: str | Path) -> dict[str, float]:
    path = Path(out_dir) / MARKS
    if not path.exists():
        return {}
    data = json.loads(path.read_text(encoding="utf-8"))
    return {str(k): float(v) for k, v in data.items()}


def write_mark(out_dir: str | Path, name: str, at: float) -> None:
    marks = read_marks(out_dir)
    marks[name] = at
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    tmp = Path(out_dir) / (MARKS + ".tmp")
    tmp.write_text(json.dumps(marks), encoding="utf-8")
    tmp.replace(Path(out_dir) / MARKS)


LOAD = "ctk-load.json"


def write_load_model(out_dir: str | Path, rps: float | None) -> None:
    """Record whether the load in `out_dir` is open-model (`rps`) or closed, for the SLO probes."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    (Path(out_dir) / LOAD).write_text(json.dumps({"rps": rps}), encoding="utf-8")


def read_open_model(out_dir: str | Path) -> bool:
    """True when the load in `out_dir` was open-model; unknown (no record) counts as open: judge everything."""
    path = Path(out_dir) / LOAD
    if not path.exists():
        return True
    return bool(json.loads(path.read_text(encoding="utf-8")).get("rps"))
