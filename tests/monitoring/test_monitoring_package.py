from __future__ import annotations

import subprocess
import sys
import types

import harness.monitoring


def test_every_name_in_all_resolves_and_no_other_public_name_is_exported():
    for name in harness.monitoring.__all__:
        assert getattr(harness.monitoring, name) is not None
    public = {
        name
        for name, value in vars(harness.monitoring).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType) and name not in ("annotations", "TYPE_CHECKING", "Any")
    }
    assert public == set(harness.monitoring.__all__)


def test_importing_the_package_registers_the_cloud_monitoring_metric_source():
    from harness.slo import metric_source

    assert isinstance(metric_source("cloud-monitoring"), harness.monitoring.CloudMonitoringSource)


def test_adding_the_flags_loads_neither_grpc_nor_the_client_library_nor_locust():
    code = (
        "import argparse, sys; from harness.monitoring import add_monitoring_arguments; "
        "add_monitoring_arguments(argparse.ArgumentParser()); "
        "print(*(m in sys.modules for m in ('grpc', 'google.cloud.monitoring_v3', 'locust')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["False", "False", "False"]
