"""Judging SLOs: over samples (the built-in `harness` source) or a measured value.

Each objective of each SLO becomes one `Check` per group (default: per
revision). Quantile and ratio objectives are judged on an anytime-valid
confidence sequence (`harness.stats`): FAIL only when the whole interval is
beyond the objective, PASS only when it is wholly within it (and the group
has at least the minimum sample count, since too little data must never
pass), INCONCLUSIVE otherwise, with the sample count that would likely decide.
The α of one `evaluate` call is split (Bonferroni) across its checks, and the
load generator's health is judged alongside: when it could not keep its
schedule, an absolute latency FAIL becomes INCONCLUSIVE.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Iterator, Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from harness._exceptions import SLOFileError
from harness._verdicts import Check, Verdict
from harness.samples import COLUMNS
from harness.slo._model import SLO, MetricSource, Objective
from harness.slo._query import HarnessSpec, apply_filter, filter_rows, parse_harness_spec
from harness.slo._registry import Fail, metric_source, register_metric_source
from harness.stats import (
    SLO_ALPHA,
    decide,
    downgrade_if_saturated,
    generator_health,
    prior,
    proportion_cs,
    quantile_cs,
    samples_to_exclude,
)
from harness.slo._defaults import DEFAULT_MIN_SAMPLES

__all__ = ["DEFAULT_MIN_SAMPLES", "HarnessMetricSource", "evaluate", "judge_measurement", "compare", "needed_columns",
           "Uncertainty"]

_OPS = {"lt": float.__lt__, "lte": float.__le__, "gt": float.__gt__, "gte": float.__ge__}


def compare(value: float, op: str, objective: float) -> bool:
    """`value op objective` for the OpenSLO operators lt, lte, gt, gte."""
    return bool(_OPS[op](float(value), float(objective)))


@dataclass(frozen=True)
class Uncertainty:
    """The confidence sequence around one SLI value, and the n that would likely decide."""

    low: float
    high: float
    confidence: float
    samples_needed: int | None
    method: str


def _quantile_uncertainty(values: np.ndarray, q: float, op: str, goal: float, alpha: float) -> Uncertainty:
    low, high = quantile_cs(values, q, alpha)
    below = float(np.mean(values < goal)) if op in ("lt", "lte") else float(np.mean(values <= goal))
    need = samples_to_exclude(below, q, alpha, *prior(q), len(values))
    return Uncertainty(low, high, 1 - alpha, need, "order-statistic confidence sequence (beta-binomial mixture)")


def _ratio_uncertainty(hits: float, n: int, goal: float, alpha: float) -> Uncertainty:
    a, b = prior(goal)
    low, high = (float(v[0]) for v in proportion_cs(hits, n, alpha, a, b))
    need = samples_to_exclude(hits / n, goal, alpha, a, b, n) if n else None
    return Uncertainty(low, high, 1 - alpha, need, "beta-binomial mixture confidence sequence")


def _spec(source: MetricSource) -> HarnessSpec:
    def fail(f: str, p: str) -> SLOFileError:
        return SLOFileError(p, field=f"metricSource.spec.{f}")

    return parse_harness_spec(source.spec, fail)


def _groups(
    frame: pd.DataFrame, by: tuple[str, ...], rows: np.ndarray | None
) -> list[tuple[dict[str, str], np.ndarray | None]]:
    """Each group's key and row positions in `frame` (only `rows`; None: all rows), in sorted key order.

    Groups are found on the group columns alone (Categorical codes when the
    samples were read `categorical`); no frame is built here (`_take` builds
    one group's at a time).
    """
    if not by:
        return [({}, rows)]
    columns = [_codes(frame[name]) for name in by]
    uniques = [values for _, values in columns]
    radix = int(np.prod([max(1, len(v)) for v in uniques], dtype=np.float64))
    kind = np.int16 if radix <= 1 << 15 else np.int32 if radix < 1 << 31 else np.int64
    code = np.zeros(len(frame) if rows is None else len(rows), dtype=kind)
    for column_codes, values in columns:  # one integer per row for the combination: mixed radix
        np.multiply(code, len(values), out=code)
        np.add(code, column_codes if rows is None else column_codes[rows], out=code, casting="same_kind")
    del columns
    if radix <= 1 << 20:
        counts = np.bincount(code, minlength=1)
        observed = np.flatnonzero(counts)
        sizes = counts[observed]
    else:
        observed, sizes = np.unique(code, return_counts=True)
    # a stable sort keeps each group's rows in file order; on 16-bit codes numpy's is a radix sort
    order = np.argsort(code, kind="stable")
    del code
    if len(order) < 1 << 31:  # half the memory while the grouping is kept for the next SLO
        order = order.astype(np.int32)
    parts = np.split(order, np.cumsum(sizes)[:-1])
    out: list[tuple[dict[str, str], np.ndarray | None]] = []
    for k, where in zip(observed.tolist(), parts, strict=True):
        key: list[str] = []
        for values in reversed(uniques):
            k, i = divmod(k, len(values))
            key.append(str(values[i]))
        out.append((dict(zip(by, reversed(key), strict=True)), where if rows is None else rows[where]))
    return out


def _codes(column: pd.Series) -> tuple[np.ndarray, Any]:
    """Integer codes of a column and the values they stand for, in sorted order (as groupby sorts)."""
    if isinstance(column.dtype, pd.CategoricalDtype) and column.cat.categories.is_monotonic_increasing:
        if not column.hasnans:
            return column.cat.codes.to_numpy(), column.cat.categories
    codes, values = pd.factorize(column, sort=True, use_na_sentinel=False)
    return codes, values


def _take(frame: pd.DataFrame, rows: np.ndarray | None, columns: list[str]) -> pd.DataFrame:
    """`columns` of `frame` at `rows`: the only copy a check makes, one group at a time.

    A group that is every row (rows are sorted and unique) is the frame itself.
    Columns are taken with numpy (a Categorical by its codes), which costs a
    fraction of `DataFrame.iloc`; the result has a fresh RangeIndex.
    """
    if rows is None or len(rows) == len(frame):
        return frame
    data: dict[str, Any] = {}
    for name in columns:
        column = frame[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            data[name] = pd.Categorical.from_codes(column.cat.codes.to_numpy()[rows], dtype=column.dtype)
        else:
            data[name] = column.to_numpy()[rows]
    return pd.DataFrame(data, copy=False)


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


def _grouping(spec: HarnessSpec) -> tuple[Any, ...]:
    """What decides an SLO's groups of rows: its filter and groupBy."""
    return (spec.group_by, tuple(sorted(spec.filter.items())))


def _check_columns(slo: SLO) -> list[str]:
    """The columns one group's checks read: the queries', the good/bad sides' filters, `ts` for time slices.

    Group-by columns are not among them (a group's key says their value), nor
    the SLO's own filter (already applied). Never empty: a frame without
    columns has no length either.
    """
    texts = [str(src.spec.get("query", "")) for src in _sources(slo)]
    used = {c for c in COLUMNS if any(re.search(rf"\b{c}\b", t) for t in texts)}
    if slo.indicator.ratio is not None:
        for side in (slo.indicator.ratio.good, slo.indicator.ratio.bad):
            if side is not None:
                used |= set(side.spec.get("filter") or {})
    if slo.budgeting_method == "Timeslices" or not used:
        used.add("ts")
    return [c for c in COLUMNS if c in used]


#: What the load generator's health reads (`harness.stats.generator_health`).
GENERATOR_COLUMNS = ("ts", "intended_ts", "latency_ms")


def needed_columns(slos: Iterable[SLO], *, generator_check: bool = True, health_check: bool = False) -> list[str]:
    """The sample columns `evaluate(slos, ...)` reads with these options, in file order.

    Read only these (`read_samples(path, columns=needed_columns(slos), categorical=True)`)
    and the verdicts are the same as over every column: 10 M samples fit in a
    fraction of the memory (bench/bench_samples.py part 3). A plugin other than
    the built-in `harness` source may read any column: then all are needed.
    """
    used: set[str] = set()
    own = False
    for slo in slos:
        if slo.indicator.source.type != "harness":
            return list(COLUMNS)
        spec = _spec(slo.indicator.source)
        if spec.measurement is None:
            own = True
            used |= set(_needed_columns(slo, spec))
    if own and generator_check:
        used |= set(GENERATOR_COLUMNS) | ({"revision"} if health_check else set())
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

    def evaluate(
        self, slo: SLO, samples: pd.DataFrame, *, min_samples: int, alpha: float = SLO_ALPHA,
        groups_cache: dict[Any, Any] | None = None,
    ) -> list[Check]:  # fmt: skip
        """One Check per objective and group; measurement SLOs yield none here.

        `alpha` is this SLO's error budget, split evenly across its objectives and groups.
        `groups_cache` (a dict the caller keeps while `samples` stays unchanged)
        lets SLOs with the same filter and groupBy share one grouping of the rows.
        """
        sli = slo.indicator
        spec = _spec(sli.source)
        if spec.measurement is not None:
            return []
        columns = _needed_columns(slo, spec)
        missing = [c for c in columns if c not in samples.columns]
        if missing:
            raise KeyError(f"SLO {slo.name!r} reads sample column(s) {', '.join(missing)}, which were not read")
        key = _grouping(spec)
        cache = groups_cache if groups_cache is not None else {}
        if key not in cache:
            rows = filter_rows(samples, spec.filter)
            empty = (len(samples) if rows is None else len(rows)) == 0
            cache[key] = [] if empty else _groups(samples, spec.group_by, rows)
        groups: list[tuple[dict[str, str], np.ndarray | None]] = cache[key]
        if cache.get(("uses", key), 1) <= 1:  # no later SLO groups this way: free the positions
            cache.pop(key)
        else:
            cache["uses", key] -= 1
        need = spec.min_samples or min_samples
        if not groups:
            if spec.if_no_data == "skip":
                return []
            return [self._check(slo, obj, i, None, 0, "all", spec, need, "no samples matched") for i, obj in enumerate(slo.objectives)]
        checks = []
        each = alpha / max(1, len(groups) * len(slo.objectives))
        reads = _check_columns(slo)
        for group, where in groups:
            sub = _take(samples, where, reads)  # one group's columns at a time
            for i, obj in enumerate(slo.objectives):
                value = self._value(slo, obj, sub)
                unc = self._uncertainty(slo, obj, sub, each) if value is not None else None
                checks.append(self._check(slo, obj, i, value, len(sub), _scope(group), spec, need, "", group, unc))
        return checks

    def _uncertainty(self, slo: SLO, obj: Objective, sub: pd.DataFrame, alpha: float) -> Uncertainty | None:
        """Confidence sequence for quantile, median and ratio SLIs over Occurrences; None for the rest."""
        if slo.budgeting_method != "Occurrences" or sub.empty:
            return None
        sli = slo.indicator
        if sli.threshold is not None:
            query = _spec(sli.threshold).query
            if query is None or obj.op is None or obj.value is None:
                return None
            if query.kind in ("quantile", "median"):
                assert query.column is not None
                values = sub[query.column].to_numpy(dtype=float)
                values = values[np.isfinite(values)]
                if not len(values):
                    return None
                q = (query.quantile or 50.0) / 100.0
                return _quantile_uncertainty(values, min(q, 1 - 1e-9), obj.op, float(obj.value), alpha)
            if query.kind == "ratio":
                value = query.compute(sub)
                if value is None:
                    return None
                return _ratio_uncertainty(round(value * len(sub)), len(sub), float(obj.value), alpha)
            return None
        assert sli.ratio is not None
        if obj.target is None:
            return None
        side = sli.ratio.good or sli.ratio.bad
        assert side is not None
        side_spec = _spec(side)
        assert side_spec.query is not None
        count = side_spec.query.compute(apply_filter(sub, side_spec.filter)) or 0.0
        good = count if sli.ratio.good is not None else len(sub) - count
        return _ratio_uncertainty(float(good), len(sub), float(obj.target), alpha)

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
        unc: Uncertainty | None = None,
    ) -> Check:  # fmt: skip
        ratio_like = slo.indicator.ratio is not None or slo.budgeting_method == "Timeslices"
        op, goal = ("gte", obj.target) if ratio_like else (obj.op, obj.value)
        assert op is not None and goal is not None
        needed: int | None = None
        if value is None or (isinstance(value, float) and math.isnan(value)):
            verdict, detail = Verdict.INCONCLUSIVE, detail or "no value"
        elif unc is not None:
            verdict = decide(unc.low, unc.high, op, goal)
            interval = f"{unc.confidence:.1%} interval [{_fmt(unc.low)}, {_fmt(unc.high)}]"
            if verdict is not Verdict.FAIL and n < need:
                verdict, detail = Verdict.INCONCLUSIVE, f"{n} samples < minimum {need} ({interval})"
                needed = need
            elif verdict is Verdict.INCONCLUSIVE:
                needed = unc.samples_needed
                more = f"~{needed} samples would likely decide" if needed else "the value sits on the objective"
                detail = f"needs more data: {interval} straddles the objective; {more}"
            else:
                detail = f"{interval} lies {'within' if verdict is Verdict.PASS else 'beyond'} the objective"
        elif n < need:
            verdict, detail = Verdict.INCONCLUSIVE, f"{n} samples < minimum {need}"
            needed = need
        else:
            verdict = Verdict.PASS if compare(value, op, goal) else Verdict.FAIL
        query = spec.query.text if spec.query else ""
        extra: dict[str, Any] = {"query": query, "group": dict(group or {}), "file": slo.source_file,
                                 "budgeting": slo.budgeting_method}
        if slo.sli_type is not None:  # what the exporter maps to a metric type (never the name)
            extra["sli"] = slo.sli_type
        if unc is not None:
            extra["interval_method"] = unc.method
        if n < need:
            extra["thin"] = True
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
            extra=extra,
            interval=(unc.low, unc.high) if unc is not None else None,
            confidence=unc.confidence if unc is not None else None,
            samples_needed=needed,
        )


def _fmt(x: float) -> str:
    return f"{x:.4g}" if math.isfinite(x) else ("+inf" if x > 0 else "-inf")


def _check_name(slo: SLO, obj: Objective, index: int) -> str:
    if len(slo.objectives) == 1:
        return slo.name
    return f"{slo.name}/{obj.display_name or index}"


register_metric_source("harness", HarnessMetricSource())


def evaluate(
    slos: Iterable[SLO],
    samples: pd.DataFrame,
    *,
    min_samples: int = DEFAULT_MIN_SAMPLES,
    alpha: float = SLO_ALPHA,
    generator_check: bool = True,
    health_check: bool = False,
    target_rps: float | None = None,
    cpu_percent: Sequence[float] | None = None,
    cpu_pressure: float | None = None,
) -> list[Check]:
    """Judge every sample-based SLO over `samples` (a `read_samples` frame).

    Returns one `Check` per SLO objective and group (default group: revision).
    Measurement SLOs (cold start, failover, memory) yield nothing here; judge
    them with `judge_measurement`. `alpha` is the false-FAIL budget of the
    whole call, split evenly across the sample-based SLOs (and within each,
    across objectives and groups). With `generator_check` (default) the load
    generator's health is measured over the samples (pacer lateness, and
    `target_rps` / host `cpu_percent` / `cpu_pressure` when given) and a
    saturated generator or contended host turns absolute latency FAILs into
    INCONCLUSIVE; `health_check` also
    appends the `generator/health` check itself (the plugin's end-of-run
    verdict and the stage judge ask for it).
    """
    slos = list(slos)
    checks: list[Check] = []
    own = [s for s in slos if s.indicator.source.type == "harness" and _spec(s.indicator.source).measurement is None]
    each = alpha / max(1, len(own))
    groups: dict[Any, Any] = {}  # SLOs with the same filter and groupBy group the rows once
    for slo in own:
        uses = ("uses", _grouping(_spec(slo.indicator.source)))
        groups[uses] = groups.get(uses, 0) + 1
    for slo in slos:
        plugin = metric_source(slo.indicator.source.type)
        if plugin is None:
            raise SLOFileError(f"metric source {slo.indicator.source.type!r} is not registered", source=slo.source_file)
        if isinstance(plugin, HarnessMetricSource):
            checks.extend(plugin.evaluate(slo, samples, min_samples=min_samples, alpha=each, groups_cache=groups))
        else:
            checks.extend(plugin.evaluate(slo, samples, min_samples=min_samples))
    if generator_check and own and len(samples):
        health = generator_health(samples, target_rps=target_rps, cpu_percent=cpu_percent, cpu_pressure=cpu_pressure)
        checks = downgrade_if_saturated(checks, health)
        if not health_check:
            return checks
        revisions = [str(r) for r in pd.unique(samples["revision"])] if "revision" in samples else []
        scope = f"revision={revisions[0]}" if len(revisions) == 1 and revisions[0] != "all" else "all"
        downgraded = any("verdict_before_generator_check" in c.extra for c in checks)
        checks.append(health.to_check(scope, downgraded=downgraded))
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
    single_margin: float = 2.0,
) -> Check:
    """Judge a value measured elsewhere (cold start s, failover s, peak RSS MiB) against `slo`.

    Uses the SLO's single objective (`op`/`value`, or `target` with gte for a
    ratio). None or NaN, or fewer than `min_samples`, is INCONCLUSIVE.

    A value from a single observation (`samples` ≤ 1, e.g. one cold start)
    has no interval, and one start on a busy host can be slow for reasons
    that are not the revision's (the issue's healthy 3.3 s start against a
    2 s objective). It is labelled "1 observation" and FAILs only when it
    misses the objective by more than `single_margin` times (a 2 s objective:
    over 4 s, as a revision that sleeps 5 s at start-up does); a smaller miss
    is INCONCLUSIVE.
    """
    obj = slo.objectives[0]
    op, goal = (obj.op, obj.value) if slo.indicator.threshold is not None else ("gte", obj.target)
    assert op is not None and goal is not None
    unit = ""
    if slo.indicator.source.type == "harness":
        unit = _spec(slo.indicator.source).display_unit
    extra: dict[str, Any] = {"file": slo.source_file}
    if value is None or math.isnan(value):
        verdict, detail = Verdict.INCONCLUSIVE, detail or "not measured"
    elif samples < min_samples:
        verdict, detail = Verdict.INCONCLUSIVE, detail or f"{samples} samples < minimum {min_samples}"
    elif compare(value, op, goal):
        verdict = Verdict.PASS
        if samples <= 1:
            detail = "1 observation" + (f"; {detail}" if detail else "")
    elif samples <= 1:
        far = goal * single_margin if op in ("lt", "lte") else goal / single_margin
        extra["single_observation_limit"] = far
        if compare(value, op, far):  # beyond the objective but within the margin
            verdict = Verdict.INCONCLUSIVE
            detail = (f"1 observation, beyond the objective by less than {single_margin:g}x: one measurement cannot "
                      f"tell a slow revision from a busy host" + (f"; {detail}" if detail else ""))
        else:
            verdict = Verdict.FAIL
            detail = f"1 observation, beyond {single_margin:g}x the objective" + (f"; {detail}" if detail else "")
    else:
        verdict = Verdict.FAIL
    return Check(
        name=slo.name, verdict=verdict, value=value, objective=goal, op=op, unit=unit,
        samples=samples, scope=scope, kind=kind, detail=detail, extra=extra,
    )  # fmt: skip
