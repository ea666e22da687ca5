"""Judging at scale reads only the columns the SLOs need, strings as Categoricals: same verdicts, same figures.

The lean path (`read_samples(path, columns=needed_columns(slos), categorical=True)`)
is how 10 M samples fit in 1 GiB (bench/bench_samples.py part 3); it is only
worth having if every check it gives equals the full path's (every column,
strings as Python objects) on any samples, checked here on random ones.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness._exceptions import LoadError
from harness._verdicts import Check
from harness.samples import COLUMNS, SampleWriter, read_samples
from harness.slo import SLO, evaluate, load_slos, parse_slo_documents
from harness.slo._evaluate import needed_columns

SHIPPED = load_slos(Path(__file__).resolve().parents[2] / "slos")
NAMES = ["POST /v1/route", "GET /healthz", "security: no key", "security: cors", "WS /v1/runtime/ws"]


def _slo(name: str, spec: dict[str, Any], objective: dict[str, Any], method: str = "Occurrences") -> SLO:
    doc = {
        "apiVersion": "openslo/v1", "kind": "SLO", "metadata": {"name": name},
        "spec": {"service": "s", "budgetingMethod": method, "timeWindow": [{"duration": "5m"}],
                 "indicator": {"spec": {"thresholdMetric": {"metricSource": {"type": "harness", "spec": spec}}}},
                 "objectives": [objective]},
    }  # fmt: skip
    [slo] = parse_slo_documents([(f"{name}.yaml", doc)])
    return slo


#: The shipped SLOs, the same per revision and name, and the query forms they do not use.
SLOS = [
    *SHIPPED,
    _slo("p95-per-name", {"query": "p95(latency_ms)", "groupBy": ["revision", "name"]}, {"op": "lt", "value": 100}),
    _slo("errors-per-name", {"query": "ratio(not ok)", "groupBy": ["revision", "name"]}, {"op": "lt", "value": 0.01}),
    _slo("route-p99", {"query": "p99(co_latency_ms)", "filter": {"name": ["POST /v1/*", "WS *"]}},
         {"op": "lt", "value": 200}),
    _slo("per-status", {"query": "count", "groupBy": ["status", "cache"], "filter": {"status": "5*"}},
         {"op": "lte", "value": 3}),
    _slo("mean-bytes", {"query": "mean(bytes)", "groupBy": []}, {"op": "lt", "value": 500}),
    _slo("sliced", {"query": "median(latency_ms)", "groupBy": ["tier"]},
         {"op": "lt", "value": 50, "target": 0.5, "timeSliceWindow": "1m"}, method="Timeslices"),
]

row = st.tuples(
    st.floats(0, 300),  # start offset, s
    st.floats(0, 0.05),  # pacer lateness, s
    st.sampled_from(NAMES),
    st.booleans(),  # ok
    st.floats(0.5, 400, allow_nan=False),  # latency ms
    st.sampled_from(["baseline", "canary", "c2"]),
    st.sampled_from(["", "hit", "miss"]),
    st.sampled_from(["", "small", "large"]),
    st.integers(0, 900),  # bytes
)


def _write(rows: list[tuple[Any, ...]], path: Path, batch: int) -> None:
    with SampleWriter(path, flush_interval=3600) as writer:
        for i, (start, late, name, ok, lat, rev, cache, tier, size) in enumerate(rows, 1):
            security = name.startswith("security") and not ok
            writer.add((1000.0 + start, 1000.0 + start - late, name, "GET", 200 if ok else 503, ok,
                        "" if ok else ("security" if security else "http_503"), lat, lat + late * 1000, size,
                        rev, "r1", "w0", cache, tier))  # fmt: skip
            if i % batch == 0:  # one dictionary per batch: the read must unify them
                writer.flush()


def _figures(checks: list[Check]) -> list[dict[str, Any]]:
    """Checks as comparable data (NaN equals NaN)."""
    out = []
    for c in checks:
        data = c.to_dict()
        out.append({k: ("nan" if isinstance(v, float) and math.isnan(v) else v) for k, v in data.items()})
    return out


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(row, min_size=0, max_size=300), batch=st.integers(1, 120), health=st.booleans())
def test_the_lean_read_gives_the_same_checks_as_the_full_read(
    tmp_path: Path, rows: list[tuple[Any, ...]], batch: int, health: bool
) -> None:
    path = tmp_path / f"s-{len(rows)}-{batch}.arrow"
    _write(rows, path, batch)
    full = read_samples(path)
    lean = read_samples(path, columns=needed_columns(SLOS, health_check=health), categorical=True)
    assert len(lean) == len(full) == len(rows)
    expected = evaluate(SLOS, full, min_samples=5, health_check=health, target_rps=5.0)
    got = evaluate(SLOS, lean, min_samples=5, health_check=health, target_rps=5.0)
    assert _figures(got) == _figures(expected)


def test_needed_columns_are_what_the_slos_and_the_generator_check_read() -> None:
    columns = ["ts", "name", "ok", "error_kind", "latency_ms", "co_latency_ms", "revision"]  # co: latency-co.yaml
    assert needed_columns(SHIPPED, generator_check=False) == columns
    assert needed_columns(SHIPPED) == ["ts", "intended_ts", *columns[1:]]
    service_time_only = [s for s in SHIPPED if s.name != "latency-p95-co"]
    assert "co_latency_ms" not in needed_columns(service_time_only)
    measurements_only = [s for s in SHIPPED if s.name in ("cold-start", "failover", "memory")]
    assert needed_columns(measurements_only) == []


def test_a_frame_without_a_column_an_slo_reads_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    _write([(1.0, 0.0, "GET /healthz", True, 5.0, "baseline", "", "", 10)] * 40, path, 10)
    frame = read_samples(path, columns=["ts", "latency_ms"], categorical=True)
    with pytest.raises(KeyError, match="revision"):
        evaluate([s for s in SHIPPED if s.name == "latency-p95"], frame)


def test_categorical_strings_keep_the_values_and_sort_their_categories(tmp_path: Path) -> None:
    path = tmp_path / "s.arrow"
    _write([(float(i), 0.0, NAMES[i % 5], True, 5.0, ["c2", "baseline"][i % 2], "", "", 10) for i in range(50)], path, 7)
    full, lean = read_samples(path), read_samples(path, categorical=True)
    assert tuple(lean.columns) == COLUMNS
    assert isinstance(lean["name"].dtype, pd.CategoricalDtype)
    assert list(lean["revision"].cat.categories) == ["baseline", "c2"]
    assert lean["name"].astype(str).tolist() == full["name"].tolist()
    assert lean["latency_ms"].tolist() == full["latency_ms"].tolist()
    empty = tmp_path / "empty.arrow"
    SampleWriter(empty).close()
    assert len(read_samples(empty, columns=["name"], categorical=True)) == 0
    with pytest.raises(LoadError, match="no such samples column: nope"):
        read_samples(path, columns=["nope"], categorical=True)
