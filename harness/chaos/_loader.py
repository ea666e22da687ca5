"""Reading experiment files: strict validation that names file, field and problem.

Every problem is an `ExperimentError` raised before anything runs, so a bad
file never injects a single fault (Chaos Toolkit's `ensure_experiment_is_valid`
gets the order right; here the result is also typed). Unknown fields are
errors: a typo must not silently drop a fault or a check.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

from harness._config import Problems, load_yaml, short_repr
from harness._duration import parse_duration
from harness._exceptions import ConfigError, ExperimentError
from harness.chaos._experiment import (
    CHECK_METRICS,
    CHECK_WINDOWS,
    JUDGEMENTS,
    LINK_ACTIONS,
    PROCESS_ACTIONS,
    ROLLBACK_LINK_ACTIONS,
    ROLLBACK_PROCESS_ACTIONS,
    TOXIC_ATTRIBUTES,
    Action,
    Experiment,
    HealthyRule,
    SteadyState,
    Toxic,
    WindowCheck,
)

__all__ = ["load_experiment", "parse_experiment"]

_OPS = frozenset({"lt", "lte", "gt", "gte"})


class _Reader:
    """Walks a parsed YAML mapping and raises ExperimentError naming the field."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> ExperimentError:
        return ExperimentError(problem, source=self.source, field=where)

    def mapping(self, value: object, where: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        return value

    def only(self, data: Mapping[str, Any], where: str, allowed: Collection[str]) -> None:
        """Every unknown field at once (a typo must not hide the next one)."""
        unknown = sorted(set(map(str, data)) - set(allowed))
        problem = f"unknown field (allowed: {', '.join(sorted(allowed))})"
        if unknown:
            raise ExperimentError.combine([self.fail(f"{where}.{u}" if where else u, problem) for u in unknown])

    def text(self, data: Mapping[str, Any], key: str, where: str, *, required: bool = True) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                raise self.fail(f"{where}{key}", "required field is missing")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(f"{where}{key}", "expected a non-empty string")
        return value

    def number(self, data: Mapping[str, Any], key: str, where: str, default: float, *, lo: float, hi: float) -> float:
        value = data.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            raise self.fail(f"{where}{key}", f"expected a number, got {short_repr(value)}")
        if not lo <= value <= hi or math.isinf(value) or (isinstance(value, int) and abs(value) > 2**53):
            raise self.fail(f"{where}{key}", f"must be between {lo:g} and {hi:g}, got {short_repr(value)}")
        return float(value)

    def duration(self, data: Mapping[str, Any], key: str, where: str) -> float | None:
        if data.get(key) is None:
            return None
        try:
            return parse_duration(data[key], source=self.source, field=f"{where}{key}")
        except ConfigError as exc:
            raise self.fail(f"{where}{key}", exc.problem) from None


def parse_experiment(
    data: object,
    source: str = "<experiment>",
    *,
    links: Collection[str] | None = None,
    processes: Collection[str] | None = None,
    slos: Collection[str] | None = None,
) -> Experiment:
    """Validate a parsed YAML document into an `Experiment`.

    When `links` / `processes` are given (from a topology), every target name
    is checked against them; when `slos` is given (SLO names from the SLO
    files), every SLO the experiment names is checked too.
    """
    r = _Reader(source)
    doc = r.mapping(data, "(top level)")
    problems = Problems(ExperimentError)
    top_fields = {
        "title", "description", "tags", "steady-state-hypothesis", "healthy-window", "failover-slo",
        "method", "checks", "rollbacks", "load", "primary-region",
    }  # fmt: skip
    problems.attempt(r.only, doc, "", top_fields)
    title = problems.attempt(r.text, doc, "title", "")
    description = problems.attempt(r.text, doc, "description", "")
    tags_raw = doc.get("tags", [])
    if not isinstance(tags_raw, list) or not all(isinstance(t, str) for t in tags_raw):
        problems.add(r.fail("tags", "expected a list of strings"))
        tags_raw = []
    method_raw = doc.get("method")
    if not isinstance(method_raw, list) or not method_raw:
        problems.add(r.fail("method", "required: a non-empty list of actions"))
        method_raw = []
    parsed = [
        problems.attempt(_action, r, item, f"method[{i}]", links, processes, rollback=False)
        for i, item in enumerate(method_raw)
    ]
    method = tuple(a for a in parsed if a is not None)
    names = [a.name for a in method]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate is not None:
        problems.add(r.fail("method", f"action name {short_repr(duplicate)} is used twice; names identify actions in the journal"))
    rollbacks_raw = doc.get("rollbacks", [])
    if not isinstance(rollbacks_raw, list):
        problems.add(r.fail("rollbacks", "expected a list of actions"))
        rollbacks_raw = []
    parsed_rollbacks = [
        problems.attempt(_action, r, item, f"rollbacks[{i}]", links, processes, rollback=True)
        for i, item in enumerate(rollbacks_raw)
    ]
    load = problems.attempt(r.mapping, doc.get("load", {}), "load") or {}
    problems.attempt(r.only, load, "load", {"duration", "rps"})
    rps = None if load.get("rps") is None else problems.attempt(r.number, load, "rps", "load.", 0, lo=0.1, hi=100_000)
    steady_state = problems.attempt(_steady_state, r, doc.get("steady-state-hypothesis"))
    healthy = problems.attempt(_healthy, r, doc.get("healthy-window", {}))
    failover_slo = problems.attempt(r.text, doc, "failover-slo", "", required=False)
    checks = problems.attempt(_checks, r, doc.get("checks", []), problems)
    duration = problems.attempt(r.duration, load, "duration", "load.")
    primary_region = problems.attempt(r.text, doc, "primary-region", "", required=False)
    problems.raise_if_any()  # what follows relates fields to each other: only on a valid file
    assert healthy is not None and checks is not None
    experiment = Experiment(
        title=str(title),
        description=str(description),
        tags=tuple(tags_raw),
        method=method,
        steady_state=steady_state,
        healthy=healthy,
        failover_slo=failover_slo or "failover",
        checks=checks,
        rollbacks=tuple(a for a in parsed_rollbacks if a is not None),
        duration=duration,
        rps=rps,
        primary_region=primary_region,
        source=source,
    )
    if slos is not None:
        _check_slo_names(r, experiment, slos, problems)
    if experiment.duration is not None and experiment.method_end > experiment.duration:
        problems.add(r.fail(
            "load.duration",
            f"{experiment.duration:g}s is shorter than the method, which ends at {experiment.method_end:g}s",
        ))  # fmt: skip
    sustained = experiment.healthy.consecutive * experiment.healthy.window
    for i, action in enumerate(experiment.method):
        if "failover" in action.judge and action.duration is not None and action.duration < sustained:
            problems.add(r.fail(
                f"method[{i}].for",
                f"{action.duration:g}s is too short to judge failover: the healthy-window rule needs {sustained:g}s",
            ))  # fmt: skip
    if experiment.duration is not None and experiment.duration < experiment.recovery_needs:
        problems.add(r.fail(
            "load.duration",
            f"{experiment.duration:g}s leaves no room to judge recovery: it needs at least {experiment.recovery_needs:g}s",
        ))  # fmt: skip
    problems.raise_if_any()
    return experiment


def _check_slo_names(r: _Reader, experiment: Experiment, slos: Collection[str], problems: Problems) -> None:
    known = ", ".join(sorted(slos)) or "none"
    if experiment.steady_state is not None:
        for i, name in enumerate(experiment.steady_state.slos):
            if name not in slos:
                problems.add(r.fail(f"steady-state-hypothesis.slos[{i}]", f"no SLO named {short_repr(name)} (known: {known})"))
    if any(a.judge for a in experiment.method) and experiment.failover_slo not in slos:
        problems.add(r.fail("failover-slo", f"no SLO named {short_repr(experiment.failover_slo)} (known: {known})"))
    for i, check in enumerate(experiment.checks):
        if check.slo is not None and check.slo not in slos:
            problems.add(r.fail(f"checks[{i}].slo", f"no SLO named {short_repr(check.slo)} (known: {known})"))


def _action(
    r: _Reader,
    value: object,
    where: str,
    links: Collection[str] | None,
    processes: Collection[str] | None,
    *,
    rollback: bool,
) -> Action:
    """One action; its independent fields (target, `at`, `for`, toxic, judge) are all checked."""
    data = r.mapping(value, where)
    problems = Problems(ExperimentError)
    common = {"name", "action", "link", "process"}
    problems.attempt(r.only, data, where, common if rollback else common | {"at", "for", "toxic", "judge"})
    w = f"{where}."
    kind = problems.attempt(_action_kind, r, data, where, rollback)
    link, process = data.get("link"), data.get("process")
    with problems.part():
        _target(r, data, w, links, processes)
    at = problems.attempt(r.duration, data, "at", w)
    if not rollback and at is None and data.get("at") is None:
        problems.add(r.fail(f"{w}at", "required field is missing (offset from the start of load, e.g. '20s')"))
    duration = problems.attempt(r.duration, data, "for", w)
    if duration is not None and duration <= 0:
        problems.add(r.fail(f"{w}for", "must be longer than zero"))
    if duration is not None and kind in {"restart", "thaw"}:
        problems.add(r.fail(f"{w}for", f"{short_repr(kind)} is instantaneous; `for` applies to faults (toxic, down, kill, freeze)"))
    toxic = None
    if kind == "toxic":
        toxic = problems.attempt(_toxic, r, data.get("toxic"), f"{w}toxic")
    elif "toxic" in data and kind is not None:
        problems.add(r.fail(f"{w}toxic", f"only allowed with `action: toxic`, not {short_repr(kind)}"))
    judge = problems.attempt(_judge, r, data.get("judge", []), w, kind, duration, data.get("for") is not None)
    name = problems.attempt(r.text, data, "name", w, required=False)
    problems.raise_if_any()
    assert kind is not None and judge is not None
    name = name or f"{kind} {link or process}" + (f" @{at:g}s" if at else "")
    return Action(
        name=name, action=kind, at=at or 0.0, duration=duration, link=link, process=process, toxic=toxic,
        judge=judge,
    )


def _action_kind(r: _Reader, data: Mapping[str, Any], where: str, rollback: bool) -> str:
    """`action`, checked against what the target (`link` or `process`) allows."""
    w = f"{where}."
    kind = str(r.text(data, "action", w))
    link, process = data.get("link"), data.get("process")
    if (link is None) == (process is None):
        raise r.fail(where, "give exactly one target: `link` (a Toxiproxy link) or `process` (an instance)")
    allowed = (
        (ROLLBACK_LINK_ACTIONS if link is not None else ROLLBACK_PROCESS_ACTIONS)
        if rollback
        else (LINK_ACTIONS if link is not None else PROCESS_ACTIONS)
    )
    if kind not in allowed:
        target = "a link" if link is not None else "a process"
        raise r.fail(f"{w}action", f"{short_repr(kind)} is not an action on {target} here (use one of: {', '.join(sorted(allowed))})")
    return kind


def _target(
    r: _Reader, data: Mapping[str, Any], w: str, links: Collection[str] | None, processes: Collection[str] | None
) -> None:
    """The link or process is a name the topology has (when one is given)."""
    link, process = data.get("link"), data.get("process")
    if link is not None:
        r.text(data, "link", w)
        if links is not None and link not in links:
            raise r.fail(f"{w}link", f"no link {short_repr(link)} in the topology (links: {', '.join(sorted(links))})")
    elif process is not None:
        r.text(data, "process", w)
        if processes is not None and process not in processes:
            raise r.fail(f"{w}process", f"no instance {short_repr(process)} in the topology (instances: {', '.join(sorted(processes))})")


def _judge(
    r: _Reader, value: object, w: str, kind: str | None, duration: float | None, has_for: bool
) -> tuple[str, ...]:
    judge_raw = [value] if isinstance(value, str) else value
    if not isinstance(judge_raw, list) or any(not isinstance(j, str) or j not in JUDGEMENTS for j in judge_raw):
        raise r.fail(f"{w}judge", f"expected a list of: {', '.join(sorted(JUDGEMENTS))}")
    if judge_raw and kind is not None and kind not in {"toxic", "down", "kill", "freeze"}:
        raise r.fail(f"{w}judge", f"{short_repr(kind)} is not a fault; only faults can be judged")
    if "recovery" in judge_raw and duration is None and not has_for:  # (a bad `for` is reported already)
        raise r.fail(f"{w}judge", "judging recovery needs `for` (recovery is measured after the fault is removed)")
    return tuple(judge_raw)


def _toxic(r: _Reader, value: object, where: str) -> Toxic:
    if value is None:
        raise r.fail(where, "required with `action: toxic` (type, stream, toxicity, attributes)")
    data = r.mapping(value, where)
    r.only(data, where, {"type", "stream", "toxicity", "attributes"})
    kind = str(r.text(data, "type", f"{where}."))
    if kind not in TOXIC_ATTRIBUTES:
        raise r.fail(f"{where}.type", f"unknown toxic {short_repr(kind)} (known: {', '.join(sorted(TOXIC_ATTRIBUTES))})")
    stream = data.get("stream", "downstream")
    if not isinstance(stream, str) or stream not in {"upstream", "downstream"}:
        raise r.fail(f"{where}.stream", f"expected 'upstream' or 'downstream', got {short_repr(stream)}")
    toxicity = r.number(data, "toxicity", f"{where}.", 1.0, lo=0.0, hi=1.0)
    attrs = r.mapping(data.get("attributes", {}), f"{where}.attributes")
    r.only(attrs, f"{where}.attributes", TOXIC_ATTRIBUTES[kind])
    clean: dict[str, int] = {}
    for key, val in attrs.items():
        if isinstance(val, bool) or not isinstance(val, int) or val < 0:
            raise r.fail(f"{where}.attributes.{key}", f"expected a non-negative integer, got {short_repr(val)}")
        clean[str(key)] = val
    if kind == "slicer" and clean.get("average_size", 0) < 1:
        # average_size 0 crashes a real toxiproxy-server (stack overflow): refuse it here.
        raise r.fail(f"{where}.attributes.average_size", "must be at least 1 (0 crashes toxiproxy-server)")
    return Toxic(type=kind, stream=stream, toxicity=toxicity, attributes=clean)


def _steady_state(r: _Reader, value: object) -> SteadyState | None:
    if value is None:
        return None
    where = "steady-state-hypothesis"
    data = r.mapping(value, where)
    r.only(data, where, {"title", "slos", "duration", "after"})
    slos = data.get("slos")
    if not isinstance(slos, list) or not slos or not all(isinstance(s, str) and s for s in slos):
        raise r.fail(f"{where}.slos", "required: a non-empty list of SLO names (metadata.name in the SLO files)")
    before = r.duration(data, "duration", f"{where}.")
    after = r.duration(data, "after", f"{where}.")
    for key, val in (("duration", before), ("after", after)):
        if val is not None and val < 1:
            raise r.fail(f"{where}.{key}", "must be at least 1s to hold enough samples")
    return SteadyState(
        title=r.text(data, "title", f"{where}.", required=False) or "the platform meets its SLOs",
        slos=tuple(slos),
        duration=before if before is not None else 10.0,
        after=after if after is not None else (before if before is not None else 10.0),
    )


def _healthy(r: _Reader, value: object) -> HealthyRule:
    where = "healthy-window"
    data = r.mapping(value, where)
    r.only(data, where, {"window", "consecutive", "max-error-ratio", "max-p95-ms", "min-requests"})
    default = HealthyRule()
    window = r.duration(data, "window", f"{where}.")
    if window is not None and window <= 0:
        raise r.fail(f"{where}.window", "must be longer than zero")
    return HealthyRule(
        window=window if window is not None else default.window,
        consecutive=int(r.number(data, "consecutive", f"{where}.", default.consecutive, lo=1, hi=600)),
        max_error_ratio=r.number(data, "max-error-ratio", f"{where}.", default.max_error_ratio, lo=0, hi=1),
        max_p95_ms=r.number(data, "max-p95-ms", f"{where}.", default.max_p95_ms, lo=0.001, hi=3_600_000),
        min_requests=int(r.number(data, "min-requests", f"{where}.", default.min_requests, lo=1, hi=1_000_000)),
    )


def _checks(r: _Reader, value: object, problems: Problems) -> tuple[WindowCheck, ...]:
    if not isinstance(value, list):
        raise r.fail("checks", "expected a list of checks")
    out = [problems.attempt(_check, r, item, f"checks[{i}]") for i, item in enumerate(value)]
    return tuple(c for c in out if c is not None)


def _check(r: _Reader, item: object, where: str) -> WindowCheck:
    """One window check; its first problem (each check is judged on its own)."""
    data = r.mapping(item, where)
    r.only(data, where, {"name", "metric", "op", "value", "window", "requests", "slo"})
    slo = r.text(data, "slo", f"{where}.", required=False)
    if slo is not None:
        extra = sorted({"metric", "op", "value"} & set(data))
        if extra:
            raise r.fail(f"{where}.{extra[0]}", "give either `slo` or `metric`/`op`/`value`, not both")
        metric, op, objective = None, "lte", 0.0
    else:
        metric = str(r.text(data, "metric", f"{where}."))
        if metric not in CHECK_METRICS:
            raise r.fail(f"{where}.metric", f"unknown metric {short_repr(metric)} (known: {', '.join(sorted(CHECK_METRICS))})")
        op = str(r.text(data, "op", f"{where}."))
        if op not in _OPS:
            raise r.fail(f"{where}.op", f"expected one of lt, lte, gt, gte, got {short_repr(op)}")
        if "value" not in data:
            raise r.fail(f"{where}.value", "required field is missing")
        objective = r.number(data, "value", f"{where}.", 0, lo=0, hi=float("inf"))
    window = data.get("window", "fault")
    if not isinstance(window, str) or window not in CHECK_WINDOWS:
        raise r.fail(f"{where}.window", f"expected one of {', '.join(sorted(CHECK_WINDOWS))}, got {short_repr(window)}")
    pattern = r.text(data, "requests", f"{where}.", required=False)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise r.fail(f"{where}.requests", f"not a valid regular expression: {exc}") from None
    default = slo if slo is not None else f"{metric} {op} {objective:g}"
    name = r.text(data, "name", f"{where}.", required=False) or f"{default} ({window})"
    return WindowCheck(name=name, metric=metric, op=op, value=objective, window=window, requests=pattern, slo=slo)


def load_experiment(
    path: str | Path,
    *,
    links: Collection[str] | None = None,
    processes: Collection[str] | None = None,
    slos: Collection[str] | None = None,
) -> Experiment:
    """Read and validate an experiment file; raises `ExperimentError` naming file and field."""
    data = load_yaml(path, error=ExperimentError)
    return parse_experiment(data, str(path), links=links, processes=processes, slos=slos)
