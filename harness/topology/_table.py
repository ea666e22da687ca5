"""Rich tables of a platform (what `harness up`, `status` and `coldstart` print)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # annotations only: `harness status` must not import pandas and scipy
    import pandas as pd

    from harness._verdicts import Check
    from harness.topology._coldstart import ColdStartSummary
    from harness.topology._resources import MemoryGrowth

MiB = 1024 * 1024

__all__ = ["coldstart_table", "platform_table", "print_table", "resources_table"]


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def platform_table(state: Mapping[str, Any], health: Mapping[str, str] | None = None) -> Table:
    """One row per instance: service, revision, region, pid, url, proxy, cold start (and health)."""
    table = Table(title=f"xynergy platform ({state.get('topology', '')})", title_justify="left")
    for col in ("instance", "service", "revision", "region", "pid", "url", "proxy", "cold start (ready / first ok)"):
        table.add_column(col)
    if health is not None:
        table.add_column("health")
    for name, inst in state["instances"].items():
        cs = inst.get("cold_start") or {}
        cold = f"{_secs(cs.get('ready_s'))} / {_secs(cs.get('first_ok_s'))}" if cs else "-"
        row = [name, inst["kind"], inst["revision"], inst.get("region") or "-", str(inst.get("pid") or "-"),
               inst["url"], ", ".join(inst.get("proxies") or []) or "-", cold]
        if health is not None:
            row.append(health.get(name, "?"))
        table.add_row(*row)
    return table


def coldstart_table(summaries: Iterable[ColdStartSummary], checks: Mapping[str, Check],
                    idle_rss: Mapping[str, float]) -> Table:
    """min/median/max of both cold-start measures per instance, the SLO verdict, idle RSS."""
    table = Table(title="cold start (spawn → first 200 on /readyz | → first successful request)",
                  title_justify="left")
    for col in ("instance", "n", "ready min", "ready median", "ready max",
                "first ok min", "first ok median", "first ok max", "SLO", "idle RSS"):
        table.add_column(col, justify="left" if col == "instance" else "right")
    for s in summaries:
        check = checks.get(s.instance)
        verdict = "-" if check is None else check.verdict.value.upper()
        rss = idle_rss.get(s.instance)
        table.add_row(s.instance, str(s.n), _secs(s.ready_min_s), _secs(s.ready_median_s), _secs(s.ready_max_s),
                      _secs(s.first_ok_min_s), _secs(s.first_ok_median_s), _secs(s.first_ok_max_s), verdict,
                      "-" if rss is None else f"{rss:.0f} MiB")
    return table


def resources_table(growth: Iterable[MemoryGrowth], frame: pd.DataFrame) -> Table:
    """Peak RSS, mean CPU and the memory trend per process over the whole run."""
    table = Table(title="resources while up (RSS sampled every second; budget 512 MiB)", title_justify="left")
    for col in ("instance", "samples", "peak RSS", "last RSS", "mean CPU", "RSS slope", "leak?"):
        table.add_column(col, justify="left" if col == "instance" else "right")
    stats = frame.groupby("instance").agg(peak=("rss_bytes", "max"), cpu=("cpu_percent", "mean"), n=("ts", "count"))
    for g in growth:
        row = stats.loc[g.instance] if g.instance in stats.index else None
        table.add_row(
            g.instance, "-" if row is None else str(int(row["n"])),
            "-" if row is None else f"{row['peak'] / MiB:.0f} MiB", f"{g.rss_last_bytes / MiB:.0f} MiB",
            "-" if row is None else f"{row['cpu']:.1f} %", f"{g.slope_bytes_per_s * 60 / MiB:+.2f} MiB/min",
            "YES" if g.leak_suspected else "no",
        )
    return table


def print_table(table: Table) -> None:
    Console(width=200).print(table)
