"""Google Cloud Monitoring: export run results, and read SLIs from a real deployment.

    exporter = exporter_from_args(args)                 # disabled without a project
    result = exporter.export_checks(checks, run_id=..., stage="10", scenario="platform",
                                    kind="rollout", end_time=time.time())
    print(result.message)                               # never raises unless require_export

The `cloud-monitoring` metric source for SLO files registers itself with
`harness.slo` when this package is imported. `FakeMetricService` is a local
MetricService (real gRPC, in-memory) for tests and dry runs; see
docs/cloud-monitoring.md for metric names, labels and example filters.
"""

from __future__ import annotations

from harness.monitoring._args import (
    MonitoringConfig,
    add_monitoring_arguments,
    exporter_from_args,
    monitoring_config_from_args,
)
from harness.monitoring._export import MAX_SERIES_PER_CALL, DescriptorCache, ExportResult, MonitoringExporter
from harness.monitoring._fake import FakeMetricService
from harness.monitoring._live import LiveExport, samples_snapshot
from harness.monitoring._saved import export_saved_run
from harness.monitoring._source import (
    CloudMonitoringSource,
    CloudMonitoringSpec,
    Reading,
    monitoring_window,
    parse_cloud_monitoring_spec,
    read_sli,
)
from harness.monitoring._metrics import CATALOGUE, METRIC_PREFIX, MetricSpec, Point, RunLabels, checks_to_points

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
