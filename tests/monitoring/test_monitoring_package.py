from __future__ import annotations

import types

import harness.monitoring


def test_the_public_names_are_exactly_all():
    public = {
        name
        for name, value in vars(harness.monitoring).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name != "annotations"
    }
    assert public == set(harness.monitoring.__all__)


def test_importing_the_package_registers_the_cloud_monitoring_metric_source():
    from harness.slo import metric_source

    assert isinstance(metric_source("cloud-monitoring"), harness.monitoring.CloudMonitoringSource)
