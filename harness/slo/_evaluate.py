"""Judging SLOs: over samples (the built-in `harness` source) or a measured value.

Each objective of each SLO becomes one `Check` per group (default: per
revision). A group with fewer samples than the minimum is INCONCLUSIVE, with
its value still reported, because too little data must never pass.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from harness._exceptions import SLOFileError
from harness._verdicts import Check, Verdict
from harness.samples import COLUMNS
from harness.slo._model import SLO, MetricSource, Objective
from harness.slo._query import HarnessSpec, apply_filter, parse_harness_spec
from harness.slo._registry import Fail, metric_source, register_metric_source

__all__ = ["DEFAULT_MIN_SAMPLES", "HarnessMetricSource", "evaluate", "judge_measurement", "compare"]

#: Fewer samples than this in a group makes its checks INCONCLUSIVE.
DEFAULT_MIN_SAMPLES = 30

_OPS = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}


def compare(value: float, op: str, objective: float) -> bool:
    """`value op objective` for the OpenSLO operators lt, lte, gt, gte."""
    return bool(_OPS[op](float(value), float(objective)))


def _spec(source: MetricSource) -> HarnessSpec:
    def fail(f: str, p: str) -> SLOFileError:
        return SLOFileError(p, field=f"metricSource.spec.{f}")

    return parse_harness_spec(source.spec, fail)


def _groups(frame: pd.DataFrame, by: tuple[str, ...]) -> Iterator[tuple[dict[str, str], pd.DataFrame]]:
    if not by:
        yield {}, frame
        return
    for key, sub in frame.groupby(list(by), sort=True, observed=True, dropna=False):
        values = key if isinstance(key, tuple) else (key,)
        yield dict(zip(by, map(str, values), strict=True)), sub


def _scope(group: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in group.items()) or "all"


def _slices(frame: pd.DataFrame, window_s: float) -> Iterator[pd.DataFrame]:
    if frame.empty:
        return
    slot = np.floor((frame["ts"].to_numpy(dtype=float) - float(frame["ts"].min())) / window_s)
    for _, sub in frame.groupby(slot, sort=True):
        yield sub


def _needed_columns(slo: SLO, spec: HarnessSpec) -> list[str]:
    """Only the columns the SLO reads, so per-group copies of a million rows stay small."""
    texts = [src.spec.get("query", "") for src in _sources(slo)]
    used = {c for c in COLUMNS if any(re.search(rf"\b{c}\b", str(t)) for t in texts)}
    for src in _sources(slo):
        used |= set(src.spec.get("filter") or {}) | set(src.spec.get("groupBy", ["revision"]))
    used |= {"ts"} | set(spec.group_by) | set(spec.filter)
    return [c for c in COLUMNS if c in used]


def _sources(slo: SLO) -> list[MetricSource]:
    sli = slo.indicator
    if sli.threshold is not None:
        return [sli.threshold]
    assert sli.ratio is not None
    return [s for s in (sli.ratio.total, sli.ratio.good, sli.ratio.bad) if s is not None]


class HarnessMetricSource:
    """The built-in `harness` metric source: SLIs computed exactly from samples."""

    def validate(self, spec: Mapping[str, Any], fail: Fail) -> None:
        """Parse the spec (query language in `harness.slo._query`)."""
        parse_harness_spec(spec, fail)

    def evaluate(self, slo: SLO, samples: pd.DataFrame, *, min_samples: int) -> list[Check]:
        """One Check per objective and group; measurement SLOs yield none here."""
        sli = slo.indicator
        spec = _spec(sli.source)
        if spec.measurement is not None:
            return []
        frame = apply_filter(samples[_needed_columns(slo, spec)], spec.filter)
        need = spec.min_samples or min_samples
        if frame.empty:
            if spec.if_no_data == "skip":
                return []
            return [self._check(slo, obj, i, None, 0, "all", spec, need, "no samples matched") for i, obj in enumerate(slo.objectives)]
        checks = []
        for group, sub in _groups(frame, spec.group_by):
            for i, obj in enumerate(slo.objectives):
                value = self._value(slo, obj, sub)
                checks.append(self._check(slo, obj, i, value, len(sub), _scope(group), spec, need, "", group))
        return checks

    def _value(self, slo: SLO, obj: Objective, sub: pd.DataFrame) -> float | None:
        if slo.budgeting_method == "Timeslices":
            assert obj.time_slice_window_s is not None
            flags = []
            for piece in _slices(sub, obj.time_slice_window_s):
                v = self._plain(slo, piece)
                if v is not None:
                    goal, op = (obj.value, obj.op) if slo.indicator.threshold else (obj.time_slice_target, "gte")
                    assert goal is not None and op is not None
                    flags.append(compare(v, op, goal))
            return float(np.mean(flags)) if flags else None
        return self._plain(slo, sub)

    def _plain(self, slo: SLO, sub: pd.DataFrame) -> float | None:
        sli = slo.indicator
        if sli.threshold is not None:
            query = _spec(sli.threshold).query
            assert query is not None
            return query.compute(sub)
        assert sli.ratio is not None
        total = float(len(sub))
        if total == 0:
            return None
        side = sli.ratio.good or sli.ratio.bad
        assert side is not None
        side_spec = _spec(side)
        assert side_spec.query is not None
        side_frame = apply_filter(sub, side_spec.filter)  # good/bad ⊆ total
        count = side_spec.query.compute(side_frame) or 0.0
        return count / total if sli.ratio.good is not None else 1.0 - count / total

    def _check(
        self, slo: SLO, obj: Objective, index: int, value: float | None, n: int, scope: str,
        spec: HarnessSpec, need: int, detail: str, group: Mapping[str, str] | None = None,
    ) -> Check:  # fmt: skip
        ratio_like = slo.indicator.ratio is not None or slo.budgeting_method == "Timeslices"
        op, goal = ("gte", obj.target) if ratio_like else (obj.op, obj.value)
        assert op is not None and goal is not None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            verdict, detail = Verdict.INCONCLUSIVE, detail or "no value"
        elif n < need:
            verdict, detail = Verdict.INCONCLUSIVE, f"{n} samples < minimum {need}"
        else:
            verdict = Verdict.PASS if compare(value, op, goal) else Verdict.FAIL
        query = spec.query.text if spec.query else ""
        return Check(
            name=_check_name(slo, obj, index),
            verdict=verdict,
            value=value,
            objective=goal,
            op=op,
            unit="" if ratio_like else spec.display_unit,
            samples=n,
            scope=scope,
            kind="slo",
            detail=detail,
            extra={"query": query, "group": dict(group or {}), "file": slo.source_file, "budgeting": slo.budgeting_method},
        )


def _check_name(slo: SLO, obj: Objective, index: int) -> str:
    if len(slo.objectives) == 1:
        return slo.name
    return f"{slo.name}/{obj.display_name or index}"


register_metric_source("harness", HarnessMetricSource())


def evaluate(slos: Iterable[SLO], samples: pd.DataFrame, *, min_samples: int = DEFAULT_MIN_SAMPLES) -> list[Check]:
    """Judge every sample-based SLO over `samples` (a `read_samples` frame).

    Returns one `Check` per SLO objective and group (default group: revision).
    Measurement SLOs (cold start, failover, memory) yield nothing here; judge
    them with `judge_measurement`.
    """
    checks: list[Check] = []
    for slo in slos:
        plugin = metric_source(slo.indicator.source.type)
        if plugin is None:
            raise SLOFileError(f"metric source {slo.indicator.source.type!r} is not registered", source=slo.source_file)
        checks.extend(plugin.evaluate(slo, samples, min_samples=min_samples))
    return checks


def judge_measurement(
    slo: SLO,
    value: float | None,
    *,
    samples: int = 1,
    scope: str = "all",
    min_samples: int = 1,
    kind: str = "slo",
    detail: str = "",
) -> Check:
    """Judge a value measured elsewhere (cold start s, failover s, peak RSS MiB) against `slo`.

    Uses the SLO's single objective (`op`/`value`, or `target` with gte for a
    ratio). None or NaN, or fewer than `min_samples`, is INCONCLUSIVE.
    """
    obj = slo.objectives[0]
    op, goal = (obj.op, obj.value) if slo.indicator.threshold is not None else ("gte", obj.target)
    assert op is not None and goal is not None
    unit = ""
    if slo.indicator.source.type == "harness":
        unit = _spec(slo.indicator.source).display_unit
    if value is None or math.isnan(value):
        verdict, detail = Verdict.INCONCLUSIVE, detail or "not measured"
    elif samples < min_samples:
        verdict, detail = Verdict.INCONCLUSIVE, detail or f"{samples} samples < minimum {min_samples}"
    else:
        verdict = Verdict.PASS if compare(value, op, goal) else Verdict.FAIL
    return Check(
        name=slo.name, verdict=verdict, value=value, objective=goal, op=op, unit=unit,
        samples=samples, scope=scope, kind=kind, detail=detail, extra={"file": slo.source_file},
    )  # fmt: skip
