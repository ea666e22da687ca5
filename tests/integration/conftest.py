"""Fixtures for the cross-subsystem tests: the shipped SLOs (cold start relaxed) and a fake MetricService."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.monitoring import FakeMetricService

ROOT = Path(__file__).resolve().parents[2]
LOCUSTFILE = str(ROOT / "tests" / "canary" / "route_locustfile.py")


@pytest.fixture(scope="module")
def slo_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The shipped SLOs with the cold-start objective relaxed: these tests are about wiring,
    and a busy CI machine starting every service at once is slow to cold-start."""
    out = tmp_path_factory.mktemp("slos")
    for file in (ROOT / "slos").glob("*.yaml"):
        doc = yaml.safe_load(file.read_text())
        if doc["metadata"]["name"] == "cold-start":
            doc["spec"]["objectives"][0]["value"] = 20
        (out / file.name).write_text(yaml.safe_dump(doc))
    return str(out)


@pytest.fixture(scope="module")
def fake_monitoring() -> Iterator[FakeMetricService]:
    """A real gRPC MetricService on 127.0.0.1 (in-memory), for the real client to talk to."""
    with FakeMetricService() as server:
        yield server
