"""Google Cloud Monitoring: export run results, and read SLIs from a real deployment.

    exporter = exporter_from_args(args)                 # disabled without a project
    result = exporter.export_checks(checks, run_id=..., stage="10", scenario="platform",
                                    kind="rollout", end_time=time.time())
    print(result.message)                               # never raises unless require_export

Importing this package registers the `cloud-monitoring` metric source with
`harness.slo` and makes the CLI flags available, without loading gRPC or the
client library. Those are loaded the first time an exporter, the fake or a
query needs them, so `harness --help` stays fast. `FakeMetricService` is a
local MetricService (real gRPC, in-memory) for tests and dry runs. See
docs/cloud-monitoring.md for metric names, labels and example filters.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from harness.monitoring._args import (
    MonitoringConfig,
    add_monitoring_arguments,
    exporter_from_args,
    monitoring_config_from_args,
)
from harness.monitoring._source import (
    CloudMonitoringSource,
    CloudMonitoringSpec,
    Reading,
    monitoring_window,
    parse_cloud_monitoring_spec,
    read_sli,
)

if TYPE_CHECKING:
    from harness.monitoring._export import MAX_SERIES_PER_CALL, DescriptorCache, ExportResult, MonitoringExporter
    from harness.monitoring._fake import FakeMetricService
    from harness.monitoring._live import LiveExport, samples_snapshot
    from harness.monitoring._metrics import CATALOGUE, METRIC_PREFIX, MetricSpec, Point, RunLabels, checks_to_points
    from harness.monitoring._saved import export_saved_run

__all__ = [
    "CATALOGUE",
    "CloudMonitoringSource",
    "CloudMonitoringSpec",
    "Reading",
    "monitoring_window",
    "parse_cloud_monitoring_spec",
    "read_sli",
    "samples_snapshot",
    "MAX_SERIES_PER_CALL",
    "METRIC_PREFIX",
    "DescriptorCache",
    "ExportResult",
    "FakeMetricService",
    "LiveExport",
    "MetricSpec",
    "MonitoringConfig",
    "MonitoringExporter",
    "Point",
    "RunLabels",
    "add_monitoring_arguments",
    "checks_to_points",
    "export_saved_run",
    "exporter_from_args",
    "monitoring_config_from_args",
]

_LAZY = {
    "MAX_SERIES_PER_CALL": "_export",
    "DescriptorCache": "_export",
    "ExportResult": "_export",
    "MonitoringExporter": "_export",
    "FakeMetricService": "_fake",
    "LiveExport": "_live",
    "samples_snapshot": "_live",
    "CATALOGUE": "_metrics",
    "METRIC_PREFIX": "_metrics",
    "MetricSpec": "_metrics",
    "Point": "_metrics",
    "RunLabels": "_metrics",
    "checks_to_points": "_metrics",
    "export_saved_run": "_saved",
}


def __getattr__(name: str) -> Any:
    """Load the gRPC-backed parts on first use (PEP 562)."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
