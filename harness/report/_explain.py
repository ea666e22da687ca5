"""Explaining a verdict: a check in words, its driver, its chart, and how to rerun it.

The diagnosis card on a failing page and the per-check small multiples are
built from these helpers, only from the saved result (a `Check` and the
`ResultBase` that holds it). Relative changes are written as changes
("+108 % over baseline"), never as a bare value that reads like the metric.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup

from harness._verdicts import Check, Verdict, op_symbol
from harness.report._markdown import display_unit, format_value
from harness.report._model import ResultBase, Series, Window
from harness.report._svg import Mark, Rule, bar_chart, interval_chart, line_chart

__all__ = [
    "anchor",
    "check_chart",
    "check_card_chart",
    "drivers",
    "explain",
    "judged_window",
    "key_failures",
    "reproduce_command",
    "fault_marks",
]



def anchor(check: Check) -> str:
    """A stable fragment id for deep links: `check-compare-latency-canary-vs-baseline`."""
    slug = re.sub(r"[^a-z0-9]+", "-", f"{check.name} {check.scope}".lower()).strip("-")
    return f"check-{slug}"


def key_failures(result: ResultBase, limit: int = 3) -> list[Check]:
    """The checks a diagnosis card explains: failures first, then inconclusive ones."""
    bad = sorted(result.failed_checks(), key=lambda c: c.verdict is not Verdict.FAIL)
    return bad[:limit]


def _pct(x: float) -> str:
    return f"{x * 100:+.0f} %" if abs(x) >= 0.1 else f"{x * 100:+.1f} %"


def _pp(x: float) -> str:
    return f"{x * 100:+.2f} pp"


def explain(check: Check) -> str:
    """One sentence: what was measured against what was allowed, changes as changes."""
    check = display_unit(check)
    x, v, o = check.extra, check.value, check.objective
    if check.verdict is Verdict.INCONCLUSIVE and v is None:
        need = f"; about {check.samples_needed} samples would decide it" if check.samples_needed else ""
        return f"{check.name} ({check.scope}) could not be decided: {check.detail or 'no value'}{need}"
    if check.kind == "cost" and v is not None:
        allowed = f", allowed {_pct(o)}" if o is not None else ""
        return f"canary cost per request {_pct(v)} over baseline{allowed}"
    if check.kind == "comparison" and v is not None:
        if check.unit == "ratio":
            sides = (f" ({format_value(x.get('baseline_error_ratio'), 'ratio')} → "
                     f"{format_value(x.get('canary_error_ratio'), 'ratio')})") if "canary_error_ratio" in x else ""
            allowed = f", allowed {_pp(o)}" if o is not None else ""
            return f"canary error ratio {_pp(v)} over baseline{sides}{allowed}"
        what = "median latency" if check.name == "compare/latency" else check.name.removeprefix("compare/").replace("latency-", "") + " latency"
        rel = x.get("effect_relative")
        rel_text = f" ({_pct(rel)})" if isinstance(rel, (int, float)) and math.isfinite(rel) else ""
        allowed = f", allowed +{o:.1f} {check.unit}" if o is not None else ""
        return f"canary {what} {v:+.1f} {check.unit}{rel_text} over baseline{allowed}"
    scope = "" if check.scope in ("all", "") else f" ({check.scope})"
    must = f", objective {op_symbol(check.op)} {format_value(o, check.unit)}" if o is not None else ""
    value = "never happened" if v is None else format_value(v, check.unit)
    return f"{check.name}{scope}: {value}{must}"


def describe_checks(checks: Sequence[Check], limit: int = 4) -> str:
    """`failover/kill-primary (us-central1): never happened, objective < 30.00 s (fail); …` — words, never raw operators."""
    bad = [c for c in checks if c.verdict is not Verdict.PASS]
    more = f" (+{len(bad) - limit} more)" if len(bad) > limit else ""
    return "; ".join(f"{explain(c)} ({c.verdict.value})" for c in bad[:limit]) + more


def _endpoint_moves(result: ResultBase, metric: str) -> list[str]:
    """Request names whose canary moved most from baseline on `metric` (p50_ms, p95_ms or error ratio)."""
    rows: dict[str, dict[str, dict[str, Any]]] = {}
    for e in result.endpoints:
        method, name = str(e.get("method", "")), str(e["name"])
        key = name if not method or name.startswith(method + " ") else f"{method} {name}"
        rows.setdefault(key, {})[str(e.get("revision", ""))] = e
    moves: list[tuple[float, str]] = []
    for key, by_rev in rows.items():
        b, c = by_rev.get("baseline"), by_rev.get("canary")
        if not b or not c:
            continue
        if metric == "errors":
            rb, rc = b["failures"] / max(b["requests"], 1), c["failures"] / max(c["requests"], 1)
            msgs = ", ".join(f"{m} ×{n}" for m, n in c.get("errors", {}).items())
            moves.append((rc - rb, f"{key}: {format_value(rb, 'ratio')} → {format_value(rc, 'ratio')}"
                                   f" ({c['failures']} of {c['requests']} failed{': ' + msgs if msgs else ''})"))
        elif b.get(metric) is not None and c.get(metric) is not None:
            d = c[metric] - b[metric]
            moves.append((d, f"{key}: {metric[:3]} {b[metric]:.1f} → {c[metric]:.1f} ms ({d:+.1f} ms)"))
    moves.sort(key=lambda m: -m[0])
    return [text for delta, text in moves[:3] if delta > 0]


def _cost_drivers(x: dict[str, Any]) -> list[str]:
    base, can = x.get("baseline") or {}, x.get("canary") or {}
    if not base or not can:
        return []
    out = []
    nb, nc = max(float(base.get("requests") or 0), 1.0), max(float(can.get("requests") or 0), 1.0)
    calls_b, calls_c = base.get("model_calls") or {}, can.get("model_calls") or {}
    moved = []
    for tier in sorted(set(calls_b) | set(calls_c)):
        b, c = float(calls_b.get(tier, 0)), float(calls_c.get(tier, 0))
        rb, rc = b / nb * 1000, c / nc * 1000
        moved.append((rc - rb, f"{tier}-tier model calls {b:.0f} → {c:.0f} ({rb:.1f} → {rc:.1f} per 1000 requests)"))
    out += [text for _, text in sorted(moved, key=lambda m: -m[0])[:3]]  # the tiers that grew most first
    hb, hc = base.get("cache_hit_ratio"), can.get("cache_hit_ratio")
    if hb is not None or hc is not None:
        out.append(f"cache hit ratio {format_value(hb, 'ratio')} → {format_value(hc, 'ratio')}")
    return out


def drivers(check: Check, result: ResultBase) -> list[str]:
    """What moved underneath a check: tier mix and cache for cost, request names for latency and errors."""
    check = display_unit(check)
    if check.kind == "cost":
        return _cost_drivers(check.extra) or ["no per-tier usage was recorded for this stage"]
    if check.unit == "ratio":
        metric = "errors"
    elif check.unit == "ms":
        metric = "p50_ms" if check.name == "compare/latency" else "p99_ms" if "99" in check.name else "p95_ms"
    else:
        return _fault_drivers(check, result)
    if not result.endpoints:
        return ["per-request figures were not recorded in this result"]
    if check.kind == "comparison" or "canary" in check.scope:
        moved = _endpoint_moves(result, metric)
        if moved:
            return moved
    revision = check.scope.split("=", 1)[1] if "revision=" in check.scope else None
    return _worst(result, metric, revision) or ["no per-request figures for this scope"]


def _worst(result: ResultBase, metric: str, revision: str | None) -> list[str]:
    """The request names with the highest `metric` (p95_ms … or the error ratio) in `revision` (all when None)."""
    ranked: list[tuple[float, str]] = []
    for e in result.endpoints:
        if revision is not None and e.get("revision") != revision:
            continue
        method, name = str(e.get("method", "")), str(e["name"])
        key = name if not method or name.startswith(method + " ") else f"{method} {name}"
        who = f"{key} ({e.get('revision')})"
        if metric == "errors":
            if e["failures"]:
                msgs = ", ".join(f"{m} ×{n}" for m, n in e.get("errors", {}).items())
                ranked.append((e["failures"] / max(e["requests"], 1),
                               f"{who}: {e['failures']} of {e['requests']} failed{': ' + msgs if msgs else ''}"))
        elif e.get(metric) is not None:
            ranked.append((float(e[metric]), f"{who}: {metric[:3]} {e[metric]:.1f} ms over {e['requests']} requests"))
    ranked.sort(key=lambda r: -r[0])
    return [text for _, text in ranked[:3]]


def _fault_drivers(check: Check, result: ResultBase) -> list[str]:
    faults: list[dict[str, Any]] = getattr(result, "faults", [])
    out = []
    for f in faults:
        if check.kind == "failover" and not check.name.endswith(str(f.get("action"))):
            continue
        out.append(f"{f.get('action')} on {f.get('target')}: first error {format_value(f.get('first_error_s'), 's')}, "
                   f"failover {format_value(f.get('failover_s'), 's') if f.get('failover_s') is not None else 'never'}, "
                   f"{f.get('failed', 0)} of {f.get('requests', 0)} requests failed")
    return out


def judged_window(result: ResultBase) -> Window | None:
    """The part of a stage the verdict covers: after the warm-up, before load stopped."""
    if not result.duration_s or not any(w.kind in ("warmup", "cooldown") for w in result.windows):
        return None  # the whole run was judged: nothing to point out
    start = max((w.end for w in result.windows if w.kind == "warmup"), default=0.0)
    end = min((w.start for w in result.windows if w.kind == "cooldown"), default=result.duration_s)
    return Window(start, end, "judged window", kind="judged") if end > start else None


def fault_marks(result: ResultBase) -> list[Mark]:
    """Fault start, failover and recovery of each fault (game days), seconds from the start."""
    marks: list[Mark] = []
    for f in getattr(result, "faults", []):
        start = float(f.get("injected_at") or 0.0) - result.started_at
        marks.append(Mark(start, f"{f.get('action')} starts", "fault"))
        if f.get("failover_s") is not None:
            marks.append(Mark(start + float(f["failover_s"]), f"failover {float(f['failover_s']):.1f} s", "failover"))
        if f.get("removed_at") is not None and f.get("recovery_s") is not None:
            removed = float(f["removed_at"]) - result.started_at
            marks.append(Mark(removed + float(f["recovery_s"]), f"recovered {float(f['recovery_s']):.1f} s", "recovery"))
    return marks


def _by(result: ResultBase, chart: str, prefix: str = "") -> list[Series]:
    return [s for s in result.series if s.chart == chart and s.name.startswith(prefix)]


def _limit(check: Check, base: float | None) -> Rule | None:
    """The objective on the metric's own scale: absolute, or baseline + floor for a comparison."""
    o = check.objective
    if o is None:
        return None
    if check.kind == "cost":
        return Rule(base * (1 + o), "allowed") if base is not None else None
    if check.kind == "comparison":
        return Rule(base + o, "baseline + floor") if base is not None else None
    return Rule(o, "objective")


def _sides(check: Check) -> tuple[float | None, float | None, str]:
    x = check.extra
    for key, unit in (("median_ms", "ms"), ("quantile_ms", "ms"), ("error_ratio", "ratio")):
        if f"baseline_{key}" in x:
            return x.get(f"baseline_{key}"), x.get(f"canary_{key}"), unit
    if check.kind == "cost":
        b, c = x.get("baseline") or {}, x.get("canary") or {}
        return b.get("cost_per_million"), c.get("cost_per_million"), f"{c.get('currency') or b.get('currency') or ''}/M req".strip()
    return None, None, check.unit


def check_card_chart(check: Check) -> Markup:
    """The small multiple for one check: baseline vs canary (or the value), interval whiskers, objective, n."""
    check = display_unit(check)
    base, can, unit = _sides(check)
    x = check.extra
    iv = check.interval
    if base is not None or can is not None:
        shift_iv = None
        if iv is not None and base is not None and check.kind == "comparison":
            shift_iv = (base + iv[0], base + iv[1])
        elif iv is not None and base is not None and check.kind == "cost":
            shift_iv = (base * (1 + iv[0]), base * (1 + iv[1]))
        elif x.get("effect_ci") and base is not None and check.unit == "ms":
            lo, hi = x["effect_ci"]
            shift_iv = (base + lo, base + hi)
        rows = [("baseline", base, None, x.get("baseline_samples") or (x.get("baseline") or {}).get("requests")),
                ("canary", can, shift_iv, x.get("canary_samples") or (x.get("canary") or {}).get("requests"))]
        rows = [(label, v, i, int(n) if isinstance(n, (int, float)) else None) for label, v, i, n in rows]
        return interval_chart(rows, title=check.name, unit=unit, objective=_limit(check, base))
    label = check.scope.split("=")[-1] if check.scope not in ("all", "") else "value"
    return interval_chart([(label, check.value, iv, check.samples)], title=check.name, unit=check.unit,
                          objective=_limit(check, None))


def check_chart(check: Check, result: ResultBase, *, width: int = 760, height: int = 240) -> Markup:
    """The failing metric over time (objective line, judged window), or the figure that drives it."""
    check = display_unit(check)
    windows = [w for w in (judged_window(result),) if w is not None] + [w for w in result.windows if w.kind == "fault"]
    base, _, _ = _sides(check)
    if check.kind == "cost":
        cost = _by(result, "cost")
        if cost:
            return line_chart(cost, title="Cost over time", windows=windows, width=width, height=height)
        items = []
        for side in ("baseline", "canary"):
            d = check.extra.get(side) or {}
            n = max(float(d.get("requests") or 0), 1.0)
            items += [(f"{tier} {side}", float(c) / n * 1000) for tier, c in sorted((d.get("model_calls") or {}).items())]
        return bar_chart(items, title="Model calls per 1000 requests, by tier", unit="calls", width=width)
    if check.kind == "coldstart" or check.unit == "s" and check.kind != "failover":
        items = [(str(c.get("instance")), float(c["seconds"])) for c in result.cold_starts if c.get("seconds") is not None]
        return bar_chart(items, title="Cold start (spawn → first ready)", unit="s", width=width,
                         objective=Rule(check.objective, "objective") if check.objective is not None else None)
    rule = _limit(check, base)
    objectives = [rule] if rule is not None else []
    wanted = {"ratio": "errors", "ms": "latency"}.get(check.unit, "rss" if check.kind == "resource" else "errors")
    if not _by(result, wanted):
        return Markup("")  # nothing over time to show (e.g. a steady state that failed before any fault)
    if check.unit == "ratio":
        return line_chart(_by(result, "errors"), title="Error ratio per revision", windows=windows,
                          objectives=objectives, marks=fault_marks(result), width=width, height=height)
    if check.unit == "ms":
        q = "p50" if check.name == "compare/latency" else "p99" if "99" in check.name else "p95"
        return line_chart(_by(result, "latency", q), title=f"{q} latency per revision", windows=windows,
                          objectives=objectives, marks=fault_marks(result), width=width, height=height)
    if check.kind == "failover":
        return line_chart(_by(result, "errors"), title="Error ratio around the fault", windows=windows,
                          marks=fault_marks(result), width=width, height=height)
    if check.kind == "resource":
        return line_chart(_by(result, "rss"), title="Resident memory per service", windows=windows, width=width, height=height)
    return Markup("")


_FLAGS = {  # config key → flag, for configs that did not record their command line
    "rollout": ("topology", "attach", "stages", "stage_duration_s", "warmup_s", "rps", "users", "canary_defect",
                "experiment", "locustfile", "slo_dir", "prices", "workers", "out"),
    "gameday": ("rps", "duration_s", "topology", "canary_defect", "canary_weight", "users", "workers"),
}
_RENAME = {"stage_duration_s": "--stage-duration", "warmup_s": "--warmup", "duration_s": "--duration"}


def reproduce_command(kind: str, config: dict[str, Any], *, source: str | None = None) -> str:
    """The command that reruns this run: its recorded command line, else one built from its config."""
    for key in ("command", "argv", "command_line"):
        recorded = config.get(key)
        if isinstance(recorded, str) and recorded:
            return recorded
        if isinstance(recorded, Sequence) and recorded and not isinstance(recorded, str):
            return shlex.join(str(a) for a in recorded)
    words = ["harness", kind]
    if kind == "gameday" and source:
        words.append(source)
    for key in _FLAGS.get(kind, ()):
        value = config.get(key)
        if value in (None, "", False, 0) or (key == "topology" and value == "default") or (key == "out" and value == "reports"):
            continue
        flag = _RENAME.get(key, "--" + key.replace("_", "-"))
        if key in _RENAME and isinstance(value, (int, float)):
            value = f"{value:g}s"
        elif isinstance(value, float):
            value = f"{value:g}"
        words += [flag, str(value)]
    return shlex.join(words)
