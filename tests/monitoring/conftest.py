"""Fixtures for the Cloud Monitoring tests: a real gRPC fake MetricService on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.monitoring import DescriptorCache, FakeMetricService, MonitoringExporter


@pytest.fixture
def fake() -> Iterator[FakeMetricService]:
    with FakeMetricService() as server:
        yield server


@pytest.fixture
def make_exporter(fake: FakeMetricService) -> Iterator[Callable[..., MonitoringExporter]]:
    """Exporters aimed at the fake, each with a fresh descriptor cache unless one is given."""
    made: list[MonitoringExporter] = []

    def build(project: str | None = "test-project", **options: object) -> MonitoringExporter:
        options.setdefault("endpoint", fake.endpoint)
        options.setdefault("descriptors", DescriptorCache())
        options.setdefault("timeout", 10.0)
        options.setdefault("initial_backoff", 0.05)
        options.setdefault("max_backoff", 0.2)
        exporter = MonitoringExporter(project, **options)  # type: ignore[arg-type]
        made.append(exporter)
        return exporter

    yield build
    for exporter in made:
        exporter.close()
