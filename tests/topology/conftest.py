"""Fixtures for the topology tests: one real platform shared by the tests that do not disturb it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness.topology import Platform, load_topology, parse_topology


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The shipped topology, up behind the embedded Toxiproxy (or TOXIPROXY_URL)."""
    with Platform.up(load_topology(), run_dir=tmp_path_factory.mktemp("platform"), sample_interval=0.25) as p:
        yield p


@pytest.fixture
def write_topology(tmp_path: Path):
    """Write a topology dict to a file and return its path."""

    def write(data: dict) -> Path:
        parse_topology(data)  # fail early on a broken test topology
        path = tmp_path / f"topology-{uuid.uuid4().hex[:6]}.yaml"
        path.write_text(yaml.safe_dump(data))
        return path

    return write


CONTRACT_INSTANCES = frozenset({
    "edge", "security-governance", "ai-routing-engine", "ai-routing-engine@canary",
    "internal-ai.primary", "internal-ai.backup", "system-runtime",
})
CONTRACT_LINKS = frozenset({
    "client->edge", "edge->ai-routing-engine", "edge->ai-routing-engine@canary", "edge->security-governance",
    "edge->system-runtime", "ai-routing-engine->internal-ai.primary", "ai-routing-engine->internal-ai.backup",
    "ai-routing-engine->redis",
})


@pytest.fixture
def contract_instances() -> frozenset[str]:
    """Instance names docs/architecture.md promises."""
    return CONTRACT_INSTANCES


@pytest.fixture
def contract_links() -> frozenset[str]:
    """Link (proxy) names docs/architecture.md promises."""
    return CONTRACT_LINKS


@pytest.fixture
def one_service() -> dict:
    """The smallest useful topology: one inference service as the entry (a fresh copy)."""
    return {"entry": "internal-ai.primary", "redis": "off",
            "services": {"internal-ai.primary": {"service": "internal-ai-service", "region": "r1"}}}
