"""SLOs as OpenSLO v1 files: load and validate, then judge samples or measured values.

    slos = load_slos("slos/")                      # SLOFileError names file + field
    checks = evaluate(slos, read_samples(path))    # one Check per objective and group
    check = judge_measurement(slo, 1.4, scope="instance=edge")   # cold start seconds

Metric sources are pluggable by `metricSource.type`. A plugin is any object
with two methods (`MetricSourcePlugin`):

    validate(spec, fail) -> None
        check `metricSource.spec` at load time; on a problem
        `raise fail("field.path", "what is wrong")` (the error then names the
        file and `...metricSource.spec.field.path`).
    evaluate(slo, samples, *, min_samples) -> list[Check]
        judge an SLO whose indicator uses this source; `samples` is the run's
        samples frame (a source that queries elsewhere may ignore it).

Register it with `register_metric_source("cloud-monitoring", plugin)` when its
module is imported; `harness.monitoring` is imported on demand the first time
a file names `cloud-monitoring`. The built-in `harness` source and its query
language are described in `harness.slo._query` and slos/README.md.

`register_file_validator(kind, validate, detect=...)` lets `harness validate`
check other files (e.g. chaos experiments) next to SLO files.
"""

from __future__ import annotations

import typing as _typing

from harness._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
    from harness.slo._evaluate import DEFAULT_MIN_SAMPLES, HarnessMetricSource, compare, evaluate, judge_measurement
    from harness.slo._model import (
        OPS,
        SLI,
        SLO,
        MetricSource,
        Objective,
        RatioMetric,
        judged_in,
        load_slos,
        parse_slo_documents,
    )
    from harness.slo._query import HarnessSpec, Query, parse_query
    from harness.slo._registry import (
        Fail,
        FileValidator,
        MetricSourcePlugin,
        file_validators,
        metric_source,
        metric_source_types,
        register_file_validator,
        register_metric_source,
    )

__all__ = [
    "DEFAULT_MIN_SAMPLES",
    "OPS",
    "SLI",
    "SLO",
    "Fail",
    "FileValidator",
    "HarnessMetricSource",
    "HarnessSpec",
    "MetricSource",
    "MetricSourcePlugin",
    "Objective",
    "Query",
    "RatioMetric",
    "compare",
    "evaluate",
    "file_validators",
    "judge_measurement",
    "judged_in",
    "load_slos",
    "metric_source",
    "metric_source_types",
    "parse_query",
    "parse_slo_documents",
    "register_file_validator",
    "register_metric_source",
]

__getattr__, __dir__ = _lazy_exports(__name__, {
    "DEFAULT_MIN_SAMPLES": "harness.slo._defaults",
    "HarnessMetricSource": "harness.slo._evaluate",
    "compare": "harness.slo._evaluate",
    "evaluate": "harness.slo._evaluate",
    "judge_measurement": "harness.slo._evaluate",
    "OPS": "harness.slo._model",
    "SLI": "harness.slo._model",
    "SLO": "harness.slo._model",
    "MetricSource": "harness.slo._model",
    "Objective": "harness.slo._model",
    "RatioMetric": "harness.slo._model",
    "judged_in": "harness.slo._model",
    "load_slos": "harness.slo._model",
    "parse_slo_documents": "harness.slo._model",
    "HarnessSpec": "harness.slo._query",
    "Query": "harness.slo._query",
    "parse_query": "harness.slo._query",
    "Fail": "harness.slo._registry",
    "FileValidator": "harness.slo._registry",
    "MetricSourcePlugin": "harness.slo._registry",
    "file_validators": "harness.slo._registry",
    "metric_source": "harness.slo._registry",
    "metric_source_types": "harness.slo._registry",
    "register_file_validator": "harness.slo._registry",
    "register_metric_source": "harness.slo._registry",
}, globals())
