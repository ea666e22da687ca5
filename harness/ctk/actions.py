"""Chaos Toolkit actions: bounded load against a loopback host, and named marks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness._duration import parse_duration
from harness._exceptions import HarnessError
from harness.ctk._samples import write_mark

__all__ = ["run_load", "mark"]


def run_load(
    host: str,
    locustfile: str,
    duration: str = "30s",
    users: int = 10,
    rps: float | None = None,
    out_dir: str = "ctk-load",
    slo_dir: str | None = None,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run Locust (a subprocess) against `host` for `duration`; samples go to `out_dir`.

    The host must be on loopback (the harness never loads anything else), the
    run stops by itself, and the result says what Locust's own plugin judged.
    Declare it `"background": true` to inject faults while it runs.
    """
    from harness.load import LocustConfig, run_locust

    from harness.ctk._samples import write_load_model

    try:
        seconds = parse_duration(duration, field="duration")
        write_load_model(out_dir, None if rps is None else float(rps))
        run = run_locust(LocustConfig(
            locustfile=Path(locustfile), host=host, out_dir=Path(out_dir), users=int(users),
            run_time_s=seconds, rps=None if rps is None else float(rps),
            slo_dir=None if slo_dir is None else Path(slo_dir),
        ))
    except HarnessError as exc:
        raise ActivityFailed(str(exc)) from None
    verdict = run.verdict() or {}
    return {
        "exit_code": run.exit_code,
        "verdict": verdict.get("verdict", "inconclusive"),
        "samples": len(run.samples()),
        "out_dir": str(Path(out_dir).resolve()),
    }


def mark(
    name: str,
    out_dir: str = "ctk-load",
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> float:
    """Remember now (epoch seconds) as `name`, e.g. right after a fault is injected."""
    at = time.time()
    write_mark(out_dir, name, at)
    return at
