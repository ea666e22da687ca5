"""Turn raw samples into the compact chart data a result carries.

Per-second latency percentiles per revision, error ratio and throughput over
time, latency distributions (quantiles + histogram on shared edges), and
resource samples per service. Computed once when a stage ends and saved in its
report.json, so charts render from disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from harness.report._model import Distribution, Series

if TYPE_CHECKING:
    from harness.canary._cost import PriceTable

__all__ = ["cost_series", "sample_series", "latency_distributions", "resource_series", "endpoint_stats"]

COST_BUCKET_S = 5.0
"""Cost and model calls are summed over 5 s: per second, a few large-tier calls make the line unreadable."""


def cost_series(samples: pd.DataFrame, t0: float, prices: PriceTable, *, bucket_s: float = COST_BUCKET_S,
                t1: float | None = None) -> list[Series]:
    """Cost over time per revision and model calls by tier per revision, from the per-request `tier`/`cache` columns.

    `cost <revision>` (chart `cost`): the actual cost per million requests
    in each bucket, priced by `harness.canary._cost.price_samples` (the
    judge's own pricing). `<tier>` (chart `calls-<revision>`): model calls per
    second by tier — a request routed to a tier and not served from the cache.
    Every revision's chart lists every tier of the stage, in one order, so a
    tier keeps its colour across the charts. Empty when the samples carry no
    tiers (an older load plugin). Only whole buckets are kept.
    """
    from harness.canary._cost import _SERVED_FROM_CACHE, has_cost_columns, price_samples

    if samples.empty or not has_cost_columns(samples):
        return []
    actual, _ = price_samples(samples, prices)
    ts = samples["ts"].astype(float).to_numpy()
    bucket = np.floor((ts - t0) / bucket_s) * bucket_s
    end = (t1 - t0) if t1 is not None else float(bucket.max())
    tier = samples["tier"].astype(str).to_numpy()
    called = (tier != "") & ~np.isin(samples["cache"].astype(str).to_numpy() if "cache" in samples else
                                     np.full(len(samples), ""), _SERVED_FROM_CACHE)
    frame = pd.DataFrame({"_b": np.round(bucket, 6), "revision": samples["revision"].astype(str).to_numpy(),
                          "cost": actual, "tier": tier, "called": called})
    frame = frame[frame["_b"] + bucket_s <= end + 1e-9]
    tiers = sorted(t for t in frame.loc[frame["called"], "tier"].unique() if t)
    unit = f"{prices.currency}/M req".strip()
    out: list[Series] = []
    for revision, group in frame.groupby("revision", sort=True):
        label = str(revision) or "unknown"
        first, last = float(group["_b"].min()), float(group["_b"].max())
        grid = pd.Index(np.round(np.arange(first, last + bucket_s / 2, bucket_s), 6))
        per_million = (group.groupby("_b")["cost"].mean() * 1e6).reindex(grid)
        out.append(Series(f"cost {label}", "cost", grid.tolist(), _nullable(per_million), unit))
        calls = group[group["called"]].groupby(["tier", "_b"]).size()
        for name in tiers:
            per = (calls[name] if name in calls.index.get_level_values(0) else pd.Series(dtype=float))
            rate = (per / bucket_s).reindex(grid, fill_value=0.0)
            out.append(Series(name, f"calls-{label}", grid.tolist(), rate.astype(float).tolist(), "calls/s"))
    return out


def sample_series(
    samples: pd.DataFrame,
    t0: float,
    *,
    bucket_s: float = 1.0,
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    latency_column: str = "latency_ms",
    t1: float | None = None,
) -> list[Series]:
    """Latency percentiles, error ratio and throughput per time bucket and revision.

    Only whole buckets are kept: the last, partial second of a stage would
    otherwise read as a throughput dip. `t1` (epoch seconds) is where the
    data ends; without it the bucket holding the last sample is dropped.
    Every bucket between a revision's first and last is present: an empty
    second has throughput 0 and no latency or error ratio (None: a gap).
    """
    if samples.empty:
        return []
    ts = samples["ts"].astype(float)
    frame = samples.assign(_b=np.floor((ts - t0) / bucket_s) * bucket_s)
    end = (t1 - t0) if t1 is not None else float(frame["_b"].max())
    frame = frame[frame["_b"] + bucket_s <= end + 1e-9]
    out: list[Series] = []
    for revision, group in frame.groupby("revision", sort=True):
        label = str(revision) or "unknown"
        first, last = float(group["_b"].min()), float(group["_b"].max())
        grid = pd.Index(np.round(np.arange(first, last + bucket_s / 2, bucket_s), 6))
        group = group.assign(_b=np.round(group["_b"].to_numpy(dtype=float), 6))
        by_bucket = group.groupby("_b")
        ok = group[group["ok"].astype(bool)]
        lat = ok.groupby("_b")[latency_column]
        for q in quantiles:
            values = lat.quantile(q).reindex(grid)
            out.append(Series(f"p{round(q * 100)} {label}", "latency", grid.tolist(), _nullable(values), "ms"))
        err = (1.0 - by_bucket["ok"].mean()).reindex(grid)
        out.append(Series(f"errors {label}", "errors", grid.tolist(), _nullable(err), "ratio"))
        rps = (by_bucket.size() / bucket_s).reindex(grid, fill_value=0.0)
        out.append(Series(f"rps {label}", "throughput", grid.tolist(), rps.astype(float).tolist(), "req/s"))
    return out


def _nullable(values: pd.Series) -> list[float | None]:
    return [None if pd.isna(v) else float(v) for v in values.tolist()]


def endpoint_stats(samples: pd.DataFrame, *, latency_column: str = "latency_ms", top_errors: int = 5) -> list[dict[str, Any]]:
    """Locust's per-request table from the samples: one row per (name, method, revision).

    `requests`, `failures`, p50/p95/p99 of successful requests in ms, and the
    most frequent failure messages (`"503 http"` from status and error kind)
    with their counts. Rows are sorted by name then revision, so the canary's
    row sits under the baseline's and a moved request name is easy to spot.
    """
    if samples.empty:
        return []
    method = samples["method"].astype(str) if "method" in samples else pd.Series("", index=samples.index)
    revision = samples["revision"].astype(str) if "revision" in samples else pd.Series("", index=samples.index)
    frame = samples.assign(_m=method, _r=revision)
    out: list[dict[str, Any]] = []
    for (name, meth, rev), group in frame.groupby([frame["name"].astype(str), "_m", "_r"], sort=True):
        ok = group["ok"].astype(bool)
        lat = group.loc[ok, latency_column].astype(float)
        bad = group[~ok]
        messages: dict[str, int] = {}
        if len(bad):
            status = bad["status"].astype(int).astype(str) if "status" in bad else pd.Series("", index=bad.index)
            kind = bad["error_kind"].astype(str) if "error_kind" in bad else pd.Series("", index=bad.index)
            text = (status.where(status != "0", "no response") + " " + kind).str.strip()
            messages = {str(k): int(v) for k, v in text.value_counts().head(top_errors).items()}
        q = lat.quantile([0.5, 0.95, 0.99]).tolist() if len(lat) else [None, None, None]
        out.append({"name": str(name), "method": str(meth), "revision": str(rev), "requests": int(len(group)),
                    "failures": int((~ok).sum()), "p50_ms": q[0], "p95_ms": q[1], "p99_ms": q[2], "errors": messages})
    return out


def latency_distributions(
    samples: pd.DataFrame, *, latency_column: str = "latency_ms", bins: int = 40, revisions: Sequence[str] | None = None
) -> list[Distribution]:
    """Quantiles (0..100 %) and a log-spaced histogram per revision, successful requests only."""
    ok = samples[samples["ok"].astype(bool)] if not samples.empty else samples
    if ok.empty:
        return []
    labels = list(revisions) if revisions is not None else sorted(str(r) for r in ok["revision"].unique())
    all_lat = ok[latency_column].astype(float).to_numpy()
    all_lat = all_lat[np.isfinite(all_lat)]
    if all_lat.size == 0:
        return []
    low = max(float(np.quantile(all_lat, 0.001)), 0.01)
    high = max(float(np.quantile(all_lat, 0.999)), low * 1.01)
    edges = np.geomspace(low, high, bins + 1)
    out = []
    for label in labels:
        values = ok.loc[ok["revision"] == label, latency_column].astype(float).to_numpy()
        values = values[np.isfinite(values)]
        if values.size == 0:
            continue
        counts, _ = np.histogram(np.clip(values, low, high), bins=edges)
        quants = np.quantile(values, np.linspace(0, 1, 101))
        out.append(Distribution(label, int(values.size), quants.tolist(), edges.tolist(), counts.astype(int).tolist()))
    return out


def resource_series(resources: pd.DataFrame, t0: float, t1: float | None = None) -> list[Series]:
    """RSS (MiB) and CPU (%) per instance from `Platform.resource_samples()`.

    Accepts `instance` or `name` for the process, `rss_bytes` or `rss_mb`, and
    `cpu_percent`; missing columns simply yield no series.
    """
    if resources is None or resources.empty or "ts" not in resources:
        return []
    frame = resources[resources["ts"] >= t0]
    if t1 is not None:
        frame = frame[frame["ts"] <= t1]
    who = "instance" if "instance" in frame else "name" if "name" in frame else None
    if who is None:
        return []
    out: list[Series] = []
    for instance, group in frame.groupby(who, sort=True):
        t = (group["ts"].astype(float) - t0).round(3).tolist()
        if "rss_bytes" in group:
            out.append(Series(str(instance), "rss", t, (group["rss_bytes"].astype(float) / 2**20).tolist(), "MiB"))
        elif "rss_mb" in group:
            out.append(Series(str(instance), "rss", t, group["rss_mb"].astype(float).tolist(), "MiB"))
        if "cpu_percent" in group:
            out.append(Series(str(instance), "cpu", t, group["cpu_percent"].astype(float).tolist(), "%"))
    return out
