"""The `harness` metric source's query language, computed exactly over samples.

A `metricSource` of `type: harness` has a `spec` such as

    query: p95(latency_ms)                 # what to compute per group
    filter: {name: "POST /v1/route"}       # optional: which samples (value, list, or glob)
    groupBy: [revision]                    # optional: default [revision]
    minSamples: 50                         # optional: overrides the run's minimum
    ifNoData: skip                         # optional: no matching samples -> no check
    unit: ms                               # optional: shown with the value

Queries: `pNN(col)` (nearest-rank percentile, no interpolation), `median(col)`,
`mean(col)`, `min(col)`, `max(col)`, `count`, `count(PRED)`, `ratio(PRED)`.
PRED is a pandas expression over the sample columns (`not ok`,
`status >= 500`, `latency_ms <= 100 and ok`). A measurement SLO (judged from
a value measured elsewhere, e.g. cold start) has `measurement: NAME` instead
of `query`. See slos/README.md for examples.
"""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from harness._config import short_repr
from harness._exceptions import SLOFileError
from harness.samples import empty_samples

__all__ = ["Query", "HarnessSpec", "parse_query", "parse_harness_spec", "apply_filter", "filter_mask", "filter_rows", "sli_type", "statistic_of", "counts_errors"]

NUMERIC_COLUMNS = ("latency_ms", "co_latency_ms", "bytes", "status", "ts", "intended_ts")
GROUP_COLUMNS = ("name", "method", "revision", "region", "worker", "status", "error_kind", "cache", "tier")
FILTER_COLUMNS = GROUP_COLUMNS
SPEC_FIELDS = ("query", "measurement", "filter", "groupBy", "minSamples", "ifNoData", "unit")

_AGG = re.compile(r"^(?:p(?P<q>\d+(?:\.\d+)?)|(?P<fn>median|mean|min|max))\(\s*(?P<col>\w+)\s*\)$")
_PRED = re.compile(r"^(?P<fn>count|ratio)\((?P<pred>.+)\)$", re.S)

Fail = Callable[[str, str], SLOFileError]


@dataclass(frozen=True)
class Query:
    """A parsed query: an aggregate of a column, a count, or a ratio of a predicate."""

    text: str
    kind: str  # quantile | median | mean | min | max | count | ratio
    column: str | None = None
    quantile: float | None = None
    predicate: str | None = None

    @property
    def unit(self) -> str:
        """`ms` for latency columns, `bytes`, or '' (counts, ratios)."""
        if self.column and self.column.endswith("_ms"):
            return "ms"
        return "bytes" if self.column == "bytes" else ""

    def compute(self, frame: pd.DataFrame) -> float | None:
        """The query's value over `frame`; None when there is nothing to measure."""
        if self.kind == "count":
            return float(len(frame) if self.predicate is None else int(_mask(frame, self.predicate).sum()))
        if frame.empty:
            return None
        if self.kind == "ratio":
            assert self.predicate is not None
            return float(_mask(frame, self.predicate).mean())
        assert self.column is not None
        values = frame[self.column].to_numpy(dtype=float)
        if self.kind == "quantile":
            assert self.quantile is not None
            return float(np.percentile(values, self.quantile, method="inverted_cdf"))
        if self.kind == "median":
            return float(np.percentile(values, 50, method="inverted_cdf"))
        return float(getattr(np, self.kind)(values))


def _mask(frame: pd.DataFrame, predicate: str) -> pd.Series:
    # only the columns the predicate names: `DataFrame.eval` also offers the index as a variable,
    # which turns a RangeIndex into a Series of one int per row on every call (most of a
    # predicate's cost on millions of rows)
    columns = {str(c): frame[c] for c in frame.columns if re.search(rf"\b{re.escape(str(c))}\b", predicate)}
    result = pd.eval(predicate, engine="python", parser="pandas", resolvers=(columns,))
    if not isinstance(result, pd.Series):  # a constant expression
        return pd.Series(bool(result), index=frame.index)
    return result.astype(bool)


def parse_query(text: str) -> Query:
    """Parse a query string; raises ValueError with a readable reason."""
    return _parse_query(" ".join(text.split()))


@lru_cache(maxsize=1024)
def _parse_query(text: str) -> Query:
    """`parse_query` of normalised text, once per text: a predicate is checked by evaluating it on an
    empty frame, which costs ~10 ms, and the judge parses each SLO's spec again for every check."""
    if text == "count":
        return Query(text, "count")
    if m := _AGG.match(text):
        col = m["col"]
        if col not in NUMERIC_COLUMNS:
            raise ValueError(f"{short_repr(col)} is not a numeric sample column ({', '.join(NUMERIC_COLUMNS)})")
        if m["q"] is not None:
            q = float(m["q"])
            if not 0 < q <= 100:
                raise ValueError(f"percentile p{m['q']} is not in (0, 100]")
            return Query(text, "quantile", col, quantile=q)
        return Query(text, m["fn"], col)
    if m := _PRED.match(text):
        pred = m["pred"].strip()
        try:
            mask = empty_samples().eval(pred, engine="python")
        except Exception as exc:  # pandas raises many types for a bad expression
            raise ValueError(f"bad predicate {short_repr(pred)}: {exc}") from exc
        if isinstance(mask, pd.DataFrame):
            raise ValueError(f"bad predicate {short_repr(pred)}: an assignment, not a condition")
        return Query(text, m["fn"], predicate=pred)
    raise ValueError(
        f"{short_repr(text)} is not a query: use pNN(col), median|mean|min|max(col), count, count(PRED) or ratio(PRED)"
    )


#: Sample columns that say whether a request failed: a ratio over them is an error ratio.
_ERROR_COLUMNS = re.compile(r"\b(?:ok|status|error_kind)\b")


def sli_type(query: str | None) -> str | None:
    """What a query measures, by its form: `latency`, `error_ratio`, or None.

    `latency`: an aggregate (pNN, median, mean, min, max) of a `*_ms` column;
    `error_ratio`: `ratio(PRED)` whose predicate reads `ok`, `status` or
    `error_kind` (a `count(PRED)` is a count, not a ratio: None). Exporters use this instead of guessing from SLO
    names. Syntax only (no evaluation), so it is cheap to call per check.
    """
    text = " ".join(query.split()) if isinstance(query, str) else ""
    if (m := _AGG.match(text)) and m["col"].endswith("_ms"):
        return "latency"
    if (m := _PRED.match(text)) and m["fn"] == "ratio" and _ERROR_COLUMNS.search(m["pred"]):
        return "error_ratio"
    return None


def counts_errors(query: str | None) -> bool:
    """True for `count(PRED)` over `ok`, `status` or `error_kind` (a ratio SLI's good or bad side)."""
    m = _PRED.match(" ".join(query.split())) if isinstance(query, str) else None
    return bool(m and m["fn"] == "count" and _ERROR_COLUMNS.search(m["pred"]))


def statistic_of(query: str | None) -> str | None:
    """`p95`, `median`, `mean`, `min` or `max` for an aggregate query; None otherwise."""
    m = _AGG.match(" ".join(query.split())) if isinstance(query, str) else None
    if m is None:
        return None
    return f"p{float(m['q']):g}" if m["q"] is not None else str(m["fn"])


@dataclass(frozen=True)
class HarnessSpec:
    """A validated `harness` metric-source spec."""

    query: Query | None
    measurement: str | None = None
    filter: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    group_by: tuple[str, ...] = ("revision",)
    min_samples: int | None = None
    if_no_data: str = "inconclusive"
    unit: str = ""

    @property
    def display_unit(self) -> str:
        """The unit to print: the spec's, else the query's."""
        return self.unit or (self.query.unit if self.query else "")


def parse_harness_spec(spec: Mapping[str, Any], fail: Fail) -> HarnessSpec:
    """Validate a `harness` spec; `fail(field, problem)` builds the error to raise."""
    unknown = sorted(set(map(str, spec)) - set(SPEC_FIELDS))
    if unknown:
        raise fail(unknown[0], f"unknown field (expected {', '.join(SPEC_FIELDS)})")
    if ("query" in spec) == ("measurement" in spec):
        raise fail("query", "required: exactly one of query, measurement")
    query = None
    if "query" in spec:
        if not isinstance(spec["query"], str):
            raise fail("query", f"expected a string, got {short_repr(spec['query'])}")
        try:
            query = parse_query(spec["query"])
        except ValueError as exc:
            raise fail("query", str(exc)) from None
    measurement = spec.get("measurement")
    if measurement is not None and (not isinstance(measurement, str) or not measurement):
        raise fail("measurement", f"expected a name, got {short_repr(measurement)}")
    filters: dict[str, tuple[str, ...]] = {}
    raw_filter = spec.get("filter") or {}
    if not isinstance(raw_filter, Mapping):
        raise fail("filter", "expected a mapping of column to value(s)")
    for key, value in raw_filter.items():
        if key not in FILTER_COLUMNS:
            raise fail(f"filter.{key}", f"not a filterable column ({', '.join(FILTER_COLUMNS)})")
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in values):
            raise fail(f"filter.{key}", f"expected a value or a list of values, got {short_repr(value)}")
        filters[key] = tuple(str(v) for v in values)
    group_by = spec.get("groupBy", ["revision"])
    if not isinstance(group_by, list) or not all(g in GROUP_COLUMNS for g in group_by):
        raise fail("groupBy", f"{short_repr(group_by)} is not a list of columns from {', '.join(GROUP_COLUMNS)}")
    min_samples = spec.get("minSamples")
    if min_samples is not None and (isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1):
        raise fail("minSamples", f"{short_repr(min_samples)} is not a positive integer")
    if_no_data = spec.get("ifNoData", "inconclusive")
    if if_no_data not in ("inconclusive", "skip"):
        raise fail("ifNoData", f"{short_repr(if_no_data)} is not one of inconclusive, skip")
    unit = spec.get("unit", "")
    if not isinstance(unit, str):
        raise fail("unit", f"expected a string, got {short_repr(unit)}")
    return HarnessSpec(query, measurement, filters, tuple(group_by), min_samples, if_no_data, unit)


def apply_filter(frame: pd.DataFrame, filters: Mapping[str, tuple[str, ...]]) -> pd.DataFrame:
    """Rows whose columns match every filter (exact values or globs with * ? [)."""
    if not filters:
        return frame
    return frame[filter_mask(frame, filters)]


def filter_mask(frame: pd.DataFrame, filters: Mapping[str, tuple[str, ...]]) -> np.ndarray:
    """A boolean array: which rows match every filter.

    On a Categorical column the values and globs are matched against its few
    categories, then spread over the rows by code (no string per row).
    """
    keep = np.ones(len(frame), dtype=bool)
    for column, values in filters.items():
        keep &= _matches(frame[column], values, as_text=column == "status")
    return keep


def filter_rows(frame: pd.DataFrame, filters: Mapping[str, tuple[str, ...]]) -> np.ndarray | None:
    """Positions of the rows that match every filter; None when there is no filter (all rows)."""
    if not filters:
        return None
    return np.flatnonzero(filter_mask(frame, filters))


def _matches(col: pd.Series, values: tuple[str, ...], *, as_text: bool) -> np.ndarray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        categories = pd.Series(col.cat.categories)
        hit = _matches(categories.astype(str) if as_text else categories, values, as_text=False)
        codes = col.cat.codes.to_numpy()
        return np.where(codes >= 0, hit[np.maximum(codes, 0)], False)
    col = col.astype(str) if as_text else col
    exact = [v for v in values if not any(c in v for c in "*?[")]
    globs = [v for v in values if v not in exact]
    match = np.array(col.isin(exact), dtype=bool)  # a copy of its own: `|=` below writes into it
    for pattern in globs:
        match |= col.str.match(fnmatch.translate(pattern)).to_numpy(dtype=bool, na_value=False)
    return match


