"""OpenSLO v1 files as typed, validated models.

Every problem raises `SLOFileError` naming the file and the field, e.g.
`slos/x.yaml: spec.objectives[0].op: 'less' is not one of lt, lte, gt, gte`,
so a bad file is rejected before any load runs. Only what the harness uses
is modelled; unknown fields are errors (typos must not pass silently).
Every problem of every file is reported at once (each document, each
objective and each unknown field on its own line); YAML is read by
`harness._config` (YAML 1.2 booleans, hostile input refused in one line).

Durations here are OpenSLO's own shorthand (`timeWindow[].duration`,
`timeSliceWindow`: a positive integer and one of m, h, d, w, M, Q, Y, so `28d`
and `1M` are valid and `m` means minutes), as the OpenSLO v1 spec requires;
it is deliberately not the harness's flag grammar (`harness._duration`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness._config import Problems, load_yaml_documents, short_repr, yaml_files
from harness._exceptions import SLOFileError
from harness.slo._query import counts_errors, sli_type
from harness.slo._registry import metric_source, metric_source_types

__all__ = [
    "OPS",
    "MetricSource",
    "RatioMetric",
    "SLI",
    "Objective",
    "SLO",
    "load_slos",
    "parse_slo_documents",
]

OPS = ("lt", "lte", "gt", "gte")
BUDGETING_METHODS = ("Occurrences", "Timeslices", "RatioTimeslices")
_DURATION = re.compile(r"^[1-9][0-9]*[mhdwMQY]$")
_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,61}[a-z0-9])?$")
_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2629800, "Q": 7889400, "Y": 31557600}


@dataclass(frozen=True)
class MetricSource:
    """`metricSource`: which plugin computes the value (`type`) and its query (`spec`)."""

    type: str
    spec: Mapping[str, Any]
    ref: str | None = None


@dataclass(frozen=True)
class RatioMetric:
    """`ratioMetric`: value = good/total, or 1 - bad/total."""

    total: MetricSource
    good: MetricSource | None = None
    bad: MetricSource | None = None
    counter: bool = True


@dataclass(frozen=True)
class SLI:
    """An indicator: exactly one of `threshold` (`thresholdMetric`) or `ratio`."""

    name: str
    threshold: MetricSource | None = None
    ratio: RatioMetric | None = None

    @property
    def source(self) -> MetricSource:
        """The metric source that decides how the SLI is computed."""
        if self.threshold is not None:
            return self.threshold
        assert self.ratio is not None
        return self.ratio.total


@dataclass(frozen=True)
class Objective:
    """One objective: `op`/`value` for threshold SLIs, `target` (a fraction) for ratios."""

    display_name: str = ""
    op: str | None = None
    value: float | None = None
    target: float | None = None
    time_slice_target: float | None = None
    time_slice_window_s: float | None = None


@dataclass(frozen=True)
class SLO:
    """One `kind: SLO` document, with its indicator resolved (inline or `indicatorRef`)."""

    name: str
    service: str
    indicator: SLI
    objectives: tuple[Objective, ...]
    budgeting_method: str
    time_window: str
    source_file: str = ""
    display_name: str = ""
    description: str = ""
    labels: Mapping[str, Any] = field(default_factory=dict)

    @property
    def sli_type(self) -> str | None:
        """`latency`, `error_ratio` or None, from the indicator's queries (never the name).

        A threshold SLI is typed by its query; a ratio SLI is an error ratio
        when its good or bad side counts by `ok`, `status` or `error_kind`.
        Producers put it in `Check.extra["sli"]` so exporters need not guess.
        """
        sli = self.indicator
        if sli.threshold is not None:
            return sli_type(str(sli.threshold.spec.get("query", ""))) if sli.threshold.type == "harness" else None
        assert sli.ratio is not None
        side = sli.ratio.good or sli.ratio.bad
        if side is not None and side.type == "harness" and counts_errors(str(side.spec.get("query", ""))):
            return "error_ratio"
        return None


class _Reader:
    """Walks one YAML document, raising errors that name the file and field path."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> SLOFileError:
        return SLOFileError(problem, source=self.source, field=where or None)

    def mapping(self, value: Any, where: str, allowed: Iterable[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(where, f"expected a mapping, got {type(value).__name__}")
        unknown = sorted(set(map(str, value)) - set(allowed))
        if unknown:  # every unknown field at once: a typo must not hide the next one
            raise SLOFileError.combine([self.fail(f"{where}.{u}" if where else u, "unknown field") for u in unknown])
        return value

    def required(self, data: Mapping[str, Any], key: str, where: str) -> Any:
        if key not in data or data[key] is None:
            raise self.fail(_join(where, key), "required field is missing")
        return data[key]

    def text(self, data: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> str:
        if required:
            self.required(data, key, where)
        value = data.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise self.fail(_join(where, key), f"expected a string, got {short_repr(value)}")
        return value

    def number(self, data: Mapping[str, Any], key: str, where: str) -> float | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(_join(where, key), f"expected a number, got {short_repr(value)}")
        if isinstance(value, int) and abs(value) > 2**53:
            raise self.fail(_join(where, key), f"a {len(str(abs(value)))}-digit number is out of range")
        if not math.isfinite(value):
            raise self.fail(_join(where, key), f"expected a finite number, got {short_repr(value)}")
        return float(value)


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _metric_source(r: _Reader, data: Any, where: str) -> MetricSource:
    data = r.mapping(data, where, {"metricSource"})
    ms = r.mapping(r.required(data, "metricSource", where), f"{where}.metricSource", {"type", "spec", "metricSourceRef"})
    ms_where = f"{where}.metricSource"
    source_type = r.text(ms, "type", ms_where, required=True)
    spec = ms.get("spec") or {}
    if not isinstance(spec, Mapping):
        raise r.fail(f"{ms_where}.spec", "expected a mapping")
    ref = r.text(ms, "metricSourceRef", ms_where) or None
    # Validation of the spec belongs to the metric-source plugin (registry).
    plugin = metric_source(source_type)
    if plugin is None:
        raise r.fail(f"{ms_where}.type", f"{short_repr(source_type)} is not one of {', '.join(metric_source_types())}")
    try:
        plugin.validate(spec, lambda f, p: r.fail(f"{ms_where}.spec{'.' + f if f else ''}", p))
    except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a plugin's own bug must not be a traceback
        raise r.fail(f"{ms_where}.spec", f"invalid spec ({type(exc).__name__}: {exc})") from None
    return MetricSource(type=source_type, spec=dict(spec), ref=ref)


def _sli(r: _Reader, data: Any, where: str) -> SLI:
    data = r.mapping(data, where, {"metadata", "spec", "apiVersion", "kind"})
    meta = r.mapping(data.get("metadata") or {}, f"{where}.metadata", {"name", "displayName", "labels", "annotations"})
    spec = r.mapping(r.required(data, "spec", where), f"{where}.spec", {"thresholdMetric", "ratioMetric", "description"})
    sw = f"{where}.spec"
    name = r.text(meta, "name", f"{where}.metadata")
    if ("thresholdMetric" in spec) == ("ratioMetric" in spec):
        raise r.fail(sw, "needs exactly one of thresholdMetric, ratioMetric")
    if "thresholdMetric" in spec:
        return SLI(name=name, threshold=_metric_source(r, spec["thresholdMetric"], f"{sw}.thresholdMetric"))
    rw = f"{sw}.ratioMetric"
    ratio = r.mapping(spec["ratioMetric"], rw, {"counter", "good", "bad", "total", "raw", "rawType"})
    if "raw" in ratio:
        raise r.fail(f"{rw}.raw", "raw ratios are not supported by the harness; use good or bad with total")
    if ("good" in ratio) == ("bad" in ratio):
        raise r.fail(rw, "needs exactly one of good, bad (with total)")
    total = _metric_source(r, r.required(ratio, "total", rw), f"{rw}.total")
    good = _metric_source(r, ratio["good"], f"{rw}.good") if "good" in ratio else None
    bad = _metric_source(r, ratio["bad"], f"{rw}.bad") if "bad" in ratio else None
    for side, src in (("good", good), ("bad", bad), ("total", total)):
        query = src.spec.get("query") if src is not None and src.type == "harness" else None
        if src is not None and src.type == "harness" and not (isinstance(query, str) and query.startswith("count")):
            raise r.fail(f"{rw}.{side}.metricSource.spec.query", "a ratio side counts samples: use count or count(PRED)")
    counter = ratio.get("counter", True)
    if not isinstance(counter, bool):
        raise r.fail(f"{rw}.counter", f"expected true or false, got {short_repr(counter)}")
    return SLI(name=name, ratio=RatioMetric(total=total, good=good, bad=bad, counter=counter))


def _objective(r: _Reader, data: Any, where: str, sli: SLI, method: str) -> Objective:
    allowed = {"displayName", "op", "value", "target", "targetPercent", "timeSliceTarget", "timeSliceWindow"}
    data = r.mapping(data, where, allowed)
    op = data.get("op")
    if op is not None and op not in OPS:
        raise r.fail(f"{where}.op", f"{short_repr(op)} is not one of {', '.join(OPS)}")
    value = r.number(data, "value", where)
    target = r.number(data, "target", where)
    percent = r.number(data, "targetPercent", where)
    if target is not None and percent is not None:
        raise r.fail(where, "give target or targetPercent, not both")
    if target is not None and not 0 <= target < 1:
        raise r.fail(f"{where}.target", f"{target} is not in [0, 1)")
    if percent is not None:
        if not 0 <= percent < 100:
            raise r.fail(f"{where}.targetPercent", f"{percent} is not in [0, 100)")
        target = percent / 100
    if sli.threshold is not None and (op is None or value is None):
        missing = "op" if op is None else "value"
        raise r.fail(f"{where}.{missing}", "required for a thresholdMetric objective")
    if sli.ratio is not None and target is None:
        raise r.fail(f"{where}.target", "required for a ratioMetric objective (or targetPercent)")
    slice_target = r.number(data, "timeSliceTarget", where)
    window = data.get("timeSliceWindow")
    window_s = None
    if window is not None:
        window_s = _openslo_duration(r, window, f"{where}.timeSliceWindow")
    if method == "Timeslices" and (window_s is None or (sli.ratio is not None and slice_target is None)):
        missing = "timeSliceWindow" if window_s is None else "timeSliceTarget"
        raise r.fail(f"{where}.{missing}", "required with budgetingMethod Timeslices")
    if method == "Timeslices" and target is None:
        raise r.fail(f"{where}.target", "required with budgetingMethod Timeslices (fraction of good slices)")
    return Objective(
        display_name=r.text(data, "displayName", where),
        op=op,
        value=value,
        target=target,
        time_slice_target=slice_target,
        time_slice_window_s=window_s,
    )


def _openslo_duration(r: _Reader, value: Any, where: str) -> float:
    """OpenSLO duration shorthand (`5m`, `28d`, `1M`; `m` is minutes) in seconds.

    The OpenSLO v1 spec defines this grammar for `timeWindow` and
    `timeSliceWindow`, so SLO files keep it; flags and harness files use
    `harness._duration` (`500ms`, `30s`, `2m`, `1h`).
    """
    if not isinstance(value, str) or len(value) > 12 or not _DURATION.match(value):
        raise r.fail(where, f"{short_repr(value)} is not a duration (a positive integer and one of m, h, d, w, M, Q, Y)")
    return float(int(value[:-1]) * _SECONDS[value[-1]])


def _slo(r: _Reader, doc: Mapping[str, Any], slis: Mapping[str, SLI]) -> SLO:
    """One SLO document; metadata, indicator, budgeting method, time window and service are checked independently."""
    problems = Problems(SLOFileError)
    meta = problems.attempt(_slo_metadata, r, doc) or {}
    allowed = {
        "description", "service", "indicator", "indicatorRef", "timeWindow",
        "budgetingMethod", "objectives", "alertPolicies",
    }  # fmt: skip
    spec = problems.attempt(lambda: r.mapping(r.required(doc, "spec", ""), "spec", allowed))
    if spec is None:
        problems.raise_if_any()
    assert spec is not None
    parsed: list[Objective | None] = []
    sli = problems.attempt(_slo_indicator, r, spec, slis)
    method = problems.attempt(_slo_method, r, spec)
    duration = problems.attempt(_slo_window, r, spec)
    service = problems.attempt(r.text, spec, "service", "spec", required=True)
    description = problems.attempt(r.text, spec, "description", "spec")
    if sli is not None and method is not None:
        objectives = spec.get("objectives")
        if not isinstance(objectives, list) or not objectives:
            problems.add(r.fail("spec.objectives", "required: a non-empty list of objectives"))
        elif sli.threshold is not None and len(objectives) > 1:
            problems.add(r.fail("spec.objectives", "a thresholdMetric SLO takes exactly one objective"))
        else:
            parsed = [problems.attempt(_objective, r, o, f"spec.objectives[{i}]", sli, method) for i, o in enumerate(objectives)]
    problems.raise_if_any()
    assert sli is not None and method is not None and service is not None
    return SLO(
        name=str(meta["name"]),
        service=service,
        indicator=sli,
        objectives=tuple(o for o in parsed if o is not None),
        budgeting_method=method,
        time_window=str(duration),
        source_file=r.source,
        display_name=str(meta["displayName"]),
        description=description or "",
        labels=dict(meta["labels"]),
    )


def _slo_metadata(r: _Reader, doc: Mapping[str, Any]) -> dict[str, Any]:
    meta = r.mapping(r.required(doc, "metadata", ""), "metadata", {"name", "displayName", "labels", "annotations"})
    name = r.text(meta, "name", "metadata", required=True)
    if not _NAME.match(name):
        raise r.fail("metadata.name", f"{short_repr(name)} is not an RFC 1123 name (lower case, digits, '-', ≤ 63 chars)")
    labels = meta.get("labels") or {}
    if not isinstance(labels, Mapping):
        raise r.fail("metadata.labels", f"expected a mapping, got {type(labels).__name__}")
    return {"name": name, "displayName": r.text(meta, "displayName", "metadata"), "labels": labels}


def _slo_indicator(r: _Reader, spec: Mapping[str, Any], slis: Mapping[str, SLI]) -> SLI:
    if ("indicator" in spec) == ("indicatorRef" in spec):
        raise r.fail("spec.indicator", "required: exactly one of indicator, indicatorRef")
    if "indicator" in spec:
        return _sli(r, spec["indicator"], "spec.indicator")
    ref = r.text(spec, "indicatorRef", "spec")
    if ref not in slis:
        raise r.fail("spec.indicatorRef", f"no SLI named {short_repr(ref)} in the loaded files")
    return slis[ref]


def _slo_method(r: _Reader, spec: Mapping[str, Any]) -> str:
    method = r.text(spec, "budgetingMethod", "spec", required=True)
    if method not in BUDGETING_METHODS:
        raise r.fail("spec.budgetingMethod", f"{short_repr(method)} is not one of {', '.join(BUDGETING_METHODS)}")
    if method == "RatioTimeslices":
        raise r.fail("spec.budgetingMethod", "RatioTimeslices is not supported by the harness")
    return method


def _slo_window(r: _Reader, spec: Mapping[str, Any]) -> str:
    windows = r.required(spec, "timeWindow", "spec")
    if not isinstance(windows, list) or len(windows) != 1:
        raise r.fail("spec.timeWindow", "expected a list with exactly one item")
    tw = r.mapping(windows[0], "spec.timeWindow[0]", {"duration", "isRolling", "calendar"})
    duration = r.required(tw, "duration", "spec.timeWindow[0]")
    _openslo_duration(r, duration, "spec.timeWindow[0].duration")
    return str(duration)


def _documents(path: Path) -> list[tuple[_Reader, Mapping[str, Any]]]:
    r = _Reader(str(path))
    docs = load_yaml_documents(path, error=SLOFileError)
    out = []
    problems = Problems(SLOFileError)
    for i, doc in enumerate(docs):
        where = "" if len(docs) == 1 else f"document[{i}]"
        if not isinstance(doc, Mapping):
            problems.add(r.fail(where, "expected a mapping (an OpenSLO document)"))
            continue
        out.append((r, doc))
    problems.raise_if_any()
    return out


def parse_slo_documents(docs: Iterable[tuple[str, Mapping[str, Any]]]) -> list[SLO]:
    """Validate (source, document) pairs: SLIs first, then SLOs that may reference them.

    Every document is checked even when an earlier one failed; all problems
    are raised together as one `SLOFileError` (one line each).
    """
    pairs = [(_Reader(src), doc) for src, doc in docs]
    problems = Problems(SLOFileError)
    slis: dict[str, SLI] = {}
    good: list[tuple[_Reader, Mapping[str, Any]]] = []
    for r, doc in pairs:
        sli = problems.attempt(_header, r, doc)
        if sli is None:  # its problem is recorded; nothing else to check in it
            continue
        good.append((r, doc))
        if isinstance(sli, SLI):
            slis[sli.name] = sli
    parsed = [problems.attempt(_slo, r, doc, slis) for r, doc in good if doc.get("kind") == "SLO"]
    slos = [slo for slo in parsed if slo is not None]
    seen: dict[str, str] = {}
    for slo in slos:
        if slo.name in seen:
            problems.add(SLOFileError(f"duplicate SLO name {short_repr(slo.name)} (also in {seen[slo.name]})",
                                      source=slo.source_file, field="metadata.name"))
        seen.setdefault(slo.name, slo.source_file)
    problems.raise_if_any()
    return slos


def _header(r: _Reader, doc: Mapping[str, Any]) -> SLI | bool:
    """Check apiVersion and kind; parse an SLI document (True for an SLO document)."""
    if doc.get("apiVersion") != "openslo/v1":
        raise r.fail("apiVersion", f"{short_repr(doc.get('apiVersion'))} is not openslo/v1")
    kind = doc.get("kind")
    if kind not in ("SLO", "SLI"):
        raise r.fail("kind", f"{short_repr(kind)} is not one of SLO, SLI (the harness reads no other OpenSLO kinds)")
    if kind == "SLO":
        return True
    sli = _sli(r, {k: v for k, v in doc.items() if k not in ("apiVersion", "kind")}, "")
    if not sli.name:
        raise r.fail("metadata.name", "required field is missing")
    return sli


def _expand(paths: str | Path | Iterable[str | Path]) -> list[Path]:
    items = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files: list[Path] = []
    for item in map(Path, items):
        if item.is_dir():
            files.extend(yaml_files(item))
        elif item.exists():
            files.append(item)
        else:
            raise SLOFileError("no such file or directory", source=str(item))
    return files


RUNS_LABEL = "runs"
"""An SLO's `metadata.labels.runs`: the kinds of run that judge it (comma-separated); absent: every kind."""


def judged_in(slos: Iterable[SLO], run_kind: str) -> list[SLO]:
    """The SLOs a kind of run (`locust`, `rollout`, `soak`, `ctk`, …) judges, by their `runs` label.

    The CO-corrected latency SLO, for one, is for plain Locust runs: a rollout
    compares revisions that share one load generator, so the generator's own
    lateness must not become an absolute verdict on the canary.
    """
    kept = []
    for slo in slos:
        runs = slo.labels.get(RUNS_LABEL)
        if runs is None or run_kind in {k.strip() for k in str(runs).split(",")}:
            kept.append(slo)
    return kept


def load_slos(paths: str | Path | Iterable[str | Path]) -> list[SLO]:
    """Load and validate every SLO in the given files and/or directories (`*.yaml`, `*.yml`).

    Raises one `SLOFileError` naming file and field of every problem found.
    """
    docs: list[tuple[str, Mapping[str, Any]]] = []
    problems = Problems(SLOFileError)
    for path in _expand(paths):
        docs.extend((r.source, doc) for r, doc in problems.attempt(_documents, path) or [])
    slos: list[SLO] = []
    try:
        slos = parse_slo_documents(docs)
    except SLOFileError as exc:
        problems.add(exc)
    problems.raise_if_any()
    return slos
