"""The end-of-run SLO verdict over a samples file: judge, print, save.

Shared by the Locust plugin (at the end of a plain `locust` run) and by the
orchestrator (which can re-judge any saved samples file); no locust import.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from harness._exceptions import SLOFileError
from harness._verdicts import Check, Verdict, combine_verdicts, json_safe, op_symbol
from harness.samples import COLUMNS, read_samples
from harness.slo import DEFAULT_MIN_SAMPLES, SLO, evaluate, load_slos, parse_slo_documents
from harness.slo._evaluate import needed_columns
from harness.slo._defaults import DEFAULT_SLO_DOCUMENTS
from harness.slo._query import Query, apply_filter, parse_harness_spec, parse_query
from harness.stats._generator import is_latency_check

__all__ = [
    "CO_KEY",
    "GENERATOR_PREFIX",
    "LOAD_MODEL_LABEL",
    "co_corrected",
    "open_model_only",
    "RunVerdict",
    "combine_runs",
    "judge_samples",
    "print_verdict",
    "resolve_slos",
    "write_verdict",
]

#: Checks about the load generator itself (`generator/health` from the SLO
#: evaluation, `generator/locust-cpu` from Locust's own CPU warning). One that is
#: INCONCLUSIVE means the generator could not keep its schedule: the run's
#: timings are not evidence, so a breach becomes "inconclusive" (exit 2, not 1).
GENERATOR_PREFIX = "generator/"

#: An SLO labelled `load-model: open` is judged only on open-model (`--rps`) runs: in a closed
#: model no request has a schedule, so there is no intended start to correct from.
LOAD_MODEL_LABEL = "load-model"
#: `Check.extra` key of the CO-corrected value beside a service-time latency quantile.
CO_KEY = "co_corrected_ms"

_STYLE = {Verdict.PASS: "bold green", Verdict.FAIL: "bold red", Verdict.INCONCLUSIVE: "bold yellow"}


@dataclass(frozen=True)
class RunVerdict:
    """The judged run: overall verdict, its checks and where the data came from."""

    verdict: Verdict
    checks: tuple[Check, ...]
    samples: int
    samples_files: tuple[str, ...]
    slo_source: str
    extra: dict[str, Any] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """0 pass, 1 breach, 2 inconclusive (a saturated generator included)."""
        return self.verdict.exit_code

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (the verdict file)."""
        return {
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "samples": self.samples,
            "samples_files": list(self.samples_files),
            "slo_source": self.slo_source,
            "checks": [c.to_dict() for c in self.checks],
            "warnings": list(self.warnings),
            **self.extra,
        }


def resolve_slos(slo_dir: str | os.PathLike[str] | None) -> tuple[list[SLO], str]:
    """SLOs from `slo_dir`; with None, `./slos` if present, else the built-in defaults.

    The defaults are the shipped latency (p95 < 100 ms) and error-ratio (< 1 %)
    SLOs, so any locustfile that imports the plugin is gated without SLO files.
    """
    if slo_dir is not None and str(slo_dir) != "":
        path = Path(slo_dir)
        if not path.exists():
            raise SLOFileError("no such file or directory", source=str(path), field="--slo-dir")
        return load_slos(path), str(path)
    if Path("slos").is_dir():
        return load_slos(Path("slos")), "slos"
    return parse_slo_documents(DEFAULT_SLO_DOCUMENTS), "built-in defaults"


def judge_samples(
    samples_files: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
    slos: Iterable[SLO],
    *,
    slo_source: str = "",
    min_samples: int = DEFAULT_MIN_SAMPLES,
    extra_checks: Iterable[Check] = (),
    target_rps: float | None = None,
    cpu_pressure: float | None = None,
) -> RunVerdict:
    """Read samples, evaluate every SLO, combine into one verdict (no data → INCONCLUSIVE).

    The load generator's own health (`generator/health`: pacer lateness,
    achieved vs `target_rps`, the host's `cpu_pressure` over the run) is
    judged too: a starved generator or a contended host makes an absolute
    latency FAIL inconclusive, never the service's fault.
    """
    paths = [samples_files] if isinstance(samples_files, (str, os.PathLike)) else list(samples_files)
    open_model = bool(target_rps)
    judged, not_applicable = open_model_only(list(slos), open_model=open_model)
    # only the columns they read, strings as Categoricals: an hour-long soak's samples fit
    columns = needed_columns(judged, health_check=True) or ["ts"]  # measurement SLOs only: still count the rows
    if open_model and "co_latency_ms" not in columns:  # the CO-corrected figure shown beside each latency
        columns = [c for c in COLUMNS if c in {*columns, "co_latency_ms"}]
    frame = read_samples(paths, columns=columns, categorical=True)
    checks = tuple(evaluate(judged, frame, min_samples=min_samples, health_check=True, target_rps=target_rps,
                            cpu_pressure=cpu_pressure))
    checks = tuple(co_corrected(checks, judged, frame, open_model=open_model))
    checks += tuple(extra_checks)
    verdict, warnings = _with_generator_health(checks)
    return RunVerdict(
        verdict=verdict,
        checks=checks,
        samples=len(frame),
        samples_files=tuple(map(str, paths)),
        slo_source=slo_source,
        extra={"judged_at": time.time(), "load_model": "open" if open_model else "closed",
               "not_applicable": not_applicable},
        warnings=warnings,
    )


def open_model_only(slos: Sequence[SLO], *, open_model: bool) -> tuple[list[SLO], list[str]]:
    """The SLOs this run can be judged on, and one line for each left out (stated, never silently absent)."""
    if open_model:
        return list(slos), []
    kept, skipped = [], []
    for slo in slos:
        if str(slo.labels.get(LOAD_MODEL_LABEL, "")).lower() == "open":
            skipped.append(f"{slo.name}: not applicable: closed-model run (no --rps): no request had an intended "
                           "start, so the CO-corrected latency is the service time")
        else:
            kept.append(slo)
    return kept, skipped


def _latency_quantile(check: Check) -> Query | None:
    """The query of a service-time latency quantile check (`p95(latency_ms)`), else None."""
    text = check.extra.get("query")
    if not isinstance(text, str):
        return None
    try:
        query = parse_query(text)
    except Exception:
        return None
    return query if query.kind in ("quantile", "median") and query.column == "latency_ms" else None


def co_corrected(checks: Sequence[Check], slos: Sequence[SLO], frame: pd.DataFrame, *,
                 open_model: bool) -> list[Check]:
    """Each service-time latency quantile check with the same quantile of `co_latency_ms` beside it.

    Same requests (the SLO's filter and the check's group), same estimator;
    stored in `extra[CO_KEY]` (None on a closed-model run, where it would only
    repeat the service time). Wait for a response before sending the next and
    a slow server slows the load too, hiding its own latency: the corrected
    figure counts from when each request was due.
    """
    by_name = {s.name: s for s in slos}
    out = []
    for check in checks:
        query, slo = _latency_quantile(check), by_name.get(check.name)
        if query is None or slo is None:
            out.append(check)
            continue
        value = None
        if open_model and "co_latency_ms" in frame.columns:
            spec = parse_harness_spec(slo.indicator.source.spec, lambda f, p: SLOFileError(p, field=f))
            sub = apply_filter(frame, spec.filter)
            for column, wanted in (check.extra.get("group") or {}).items():
                if column in sub.columns:
                    sub = sub[sub[column].astype(str) == str(wanted)]
            corrected = Query(f"{query.text} (co)", query.kind, "co_latency_ms", quantile=query.quantile)
            value = corrected.compute(sub)
        out.append(replace(check, extra={**check.extra, CO_KEY: value}))
    return out


def _with_generator_health(checks: Sequence[Check]) -> tuple[Verdict, tuple[str, ...]]:
    """The overall verdict, and one warning per generator check that was INCONCLUSIVE.

    A saturated generator turns a latency FAIL into INCONCLUSIVE: the breach
    may be the generator's own lateness, not the service's. A FAIL it cannot
    have caused (a security failure, a CORS grant) stands.
    """
    verdict = combine_verdicts(c.verdict for c in checks)
    starved = [c for c in checks if c.name.startswith(GENERATOR_PREFIX) and c.verdict is Verdict.INCONCLUSIVE]
    warnings = tuple(f"load generator saturated: {c.detail or c.name}" for c in starved)
    failed = [c for c in checks if c.verdict is Verdict.FAIL]
    if starved and failed and all(is_latency_check(c) for c in failed):
        verdict = Verdict.INCONCLUSIVE
    return verdict, warnings



def combine_runs(results: Iterable[RunVerdict]) -> int:
    """The process exit code over every test run of one Locust process (web UI: several).

    A breach in any run is 1; else anything not passing is 2; no run at all is 2.
    """
    verdicts = [r.verdict for r in results]
    return combine_verdicts(verdicts).exit_code


def _fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:.4g}" if abs(value) < 1e6 else f"{value:.3e}"
    return f"{text} {unit}".strip()


def print_verdict(result: RunVerdict, console: Console | None = None) -> None:
    """The verdict table: one row per check, then the overall verdict and exit code."""
    console = console or Console(highlight=False, width=None if sys.stdout.isatty() else 140)
    model = result.extra.get("load_model", "")
    table = Table(title=f"SLO verdict ({result.samples} samples, SLOs from {result.slo_source}"
                        + (f", {model} model" if model else "") + ")")
    for col in ("SLO", "scope", "value", "CO-corrected", "objective", "samples", "verdict", "detail"):
        table.add_column(col, overflow="fold")
    for c in result.checks:
        co = "" if CO_KEY not in c.extra else (
            _fmt(c.extra[CO_KEY], c.unit) if c.extra[CO_KEY] is not None else "n/a (closed model)")
        table.add_row(
            c.name, c.scope, _fmt(c.value, c.unit), co, f"{op_symbol(c.op)} {_fmt(c.objective, c.unit)}",
            str(c.samples), f"[{_STYLE[c.verdict]}]{c.verdict.value.upper()}[/]", c.detail,
        )  # fmt: skip
    console.print(table)
    for line in result.extra.get("not_applicable") or []:
        console.print(line, style="dim", markup=False, soft_wrap=True)
    for warning in result.warnings:
        console.print(warning, style="bold yellow", markup=False, soft_wrap=True)
    console.print(f"verdict: [{_STYLE[result.verdict]}]{result.verdict.value.upper()}[/] (exit code {result.exit_code})")


def write_verdict(result: RunVerdict, path: str | os.PathLike[str]) -> Path:
    """Write the verdict JSON atomically (a reader never sees half a file)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(json_safe(result.to_dict()), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    tmp.replace(target)
    return target
