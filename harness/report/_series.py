"""Turn raw samples into the compact chart data a result carries.

Per-second latency percentiles per revision, error ratio and throughput over
time, latency distributions (quantiles + histogram on shared edges), and
resource samples per service. Computed once when a stage ends and saved in its
report.json, so charts render from disk.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.report._model import Distribution, Series

__all__ = ["sample_series", "latency_distributions", "resource_series"]


def sample_series(
    samples: pd.DataFrame,
    t0: float,
    *,
    bucket_s: float = 1.0,
    quantiles: Sequence[float] = (0.5, 0.95, 0.99),
    latency_column: str = "latency_ms",
) -> list[Series]:
    """Latency percentiles, error ratio and throughput per time bucket and revision."""
    if samples.empty:
        return []
    frame = samples.assign(_b=np.floor((samples["ts"].astype(float) - t0) / bucket_s) * bucket_s)
    out: list[Series] = []
    for revision, group in frame.groupby("revision", sort=True):
        label = str(revision) or "unknown"
        by_bucket = group.groupby("_b")
        ok = group[group["ok"].astype(bool)]
        lat = ok.groupby("_b")[latency_column]
        for q in quantiles:
            values = lat.quantile(q)
            out.append(Series(f"p{round(q * 100)} {label}", "latency", values.index.tolist(), values.tolist(), "ms"))
        err = 1.0 - by_bucket["ok"].mean()
        out.append(Series(f"errors {label}", "errors", err.index.tolist(), err.astype(float).tolist(), "ratio"))
        rps = by_bucket.size() / bucket_s
        out.append(Series(f"rps {label}", "throughput", rps.index.tolist(), rps.astype(float).tolist(), "req/s"))
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
