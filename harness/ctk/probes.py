"""Chaos Toolkit probes: SLO verdicts and failover time from the harness's exact samples."""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed

from harness._duration import parse_duration
from harness._exceptions import HarnessError
from harness._verdicts import Verdict, combine_verdicts
from harness.ctk._samples import read_marks, samples_of

__all__ = ["slo_verdict", "slo_passed", "load_meets_slos", "failover_time"]


def slo_verdict(
    out_dir: str = "ctk-load",
    last: str | None = None,
    slo_dir: str | None = None,
    min_samples: int = 30,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The SLO verdict over the samples in `out_dir` (only the `last` duration when given).

    Returns `{"verdict": "pass"|"fail"|"inconclusive", "samples": n, "checks": [...]}`;
    a jsonpath tolerance on `$.verdict` reads it. No samples is INCONCLUSIVE.
    """
    from harness.ctk._samples import read_open_model
    from harness.load._verdict import co_corrected, open_model_only, resolve_slos
    from harness.slo import evaluate, judged_in

    try:
        window = None if last is None else parse_duration(last, field="last")
        frame = samples_of(out_dir, last_s=window)
        open_model = read_open_model(out_dir)
        slos, not_applicable = open_model_only(judged_in(resolve_slos(slo_dir)[0], "ctk"), open_model=open_model)
        checks = evaluate(slos, frame, min_samples=int(min_samples)) if len(frame) else []
        checks = co_corrected(checks, slos, frame, open_model=open_model)
    except HarnessError as exc:
        raise ActivityFailed(str(exc)) from None
    verdict = combine_verdicts(c.verdict for c in checks)
    return {
        "verdict": verdict.value,
        "samples": int(len(frame)),
        "checks": [c.to_dict() for c in checks],
        "not_applicable": not_applicable,
    }


def slo_passed(
    out_dir: str = "ctk-load",
    last: str | None = None,
    slo_dir: str | None = None,
    min_samples: int = 30,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> bool:
    """True only when every SLO check passes (FAIL and INCONCLUSIVE are both False)."""
    verdict: str = slo_verdict(out_dir, last, slo_dir, min_samples)["verdict"]
    return verdict == Verdict.PASS.value


def load_meets_slos(
    host: str,
    locustfile: str,
    duration: str = "10s",
    users: int = 10,
    rps: float | None = None,
    out_dir: str = "ctk-steady-state",
    slo_dir: str | None = None,
    min_samples: int = 30,
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> bool:
    """A steady-state probe: run a short bounded load, then True only if every SLO passes on it.

    Each call starts from an empty `out_dir`, so the verdict covers this load
    alone (the "before" and "after" steady states are judged apart).
    """
    import shutil

    from harness.ctk.actions import run_load

    shutil.rmtree(out_dir, ignore_errors=True)
    run_load(host, locustfile, duration, users, rps, out_dir, slo_dir)
    return slo_passed(out_dir, None, slo_dir, min_samples)


def failover_time(
    since_mark: str,
    out_dir: str = "ctk-load",
    within: str = "60s",
    configuration: dict[str, Any] | None = None,
    secrets: dict[str, Any] | None = None,
) -> float | None:
    """Seconds from the mark `since_mark` to the first sustained healthy traffic, None if none yet.

    Healthy is the game day's rule (5 consecutive 1 s windows with errors
    below 1 % and p95 below 100 ms); None means traffic had not recovered
    within `within` of the mark, or no samples cover it.
    """
    from harness.chaos._experiment import HealthyRule
    from harness.chaos._failover import first_sustained_healthy

    marks = read_marks(out_dir)
    if since_mark not in marks:
        raise ActivityFailed(f"no mark named {since_mark!r} in {out_dir} (known: {sorted(marks) or 'none'})")
    start = marks[since_mark]
    try:
        end = min(time.time(), start + parse_duration(within, field="within"))
    except HarnessError as exc:
        raise ActivityFailed(str(exc)) from None
    return first_sustained_healthy(samples_of(out_dir), start, end, HealthyRule())
