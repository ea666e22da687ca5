"""Property tests: every YAML loader raises only its ConfigError subclass, whatever the input.

Inputs are arbitrary text, arbitrary bytes, and the shipped files with a few
random edits (values of every type, deleted and added keys). Bounded: a few
hundred examples in total, no deadline (the machine is shared).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness._exceptions import ConfigError, ExperimentError, SLOFileError, TopologyError
from harness.chaos._loader import load_experiment
from harness.commands.validate import validate_files
from harness.topology import load_topology
from harness.slo import load_slos
from tests.config.mutations import mutated

ROOT = Path(__file__).resolve().parents[2]
BOUNDED = settings(max_examples=int(__import__("os").environ.get("HARNESS_PROPERTY_EXAMPLES", "40")), deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

SEEDS: dict[str, Any] = {
    "experiment": yaml.safe_load((ROOT / "chaos" / "region-outage.yaml").read_text()),
    "topology": yaml.safe_load((ROOT / "harness" / "topologies" / "xynergy.yaml").read_text()),
    "slo": yaml.safe_load((ROOT / "slos" / "latency.yaml").read_text()),
}
LOADERS: dict[str, tuple[Callable[[Path], object], type[ConfigError]]] = {
    "experiment": (load_experiment, ExperimentError),
    "topology": (load_topology, TopologyError),
    "slo": (load_slos, SLOFileError),
}


def _load(kind: str, raw: bytes) -> None:
    loader, error = LOADERS[kind]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.yaml"
        path.write_bytes(raw)
        try:
            loader(path)
        except error as exc:
            assert str(exc).startswith(str(path)) or all(str(p).startswith(str(path)) for p in exc.problems)
        if kind == "experiment":  # the topology-checked path (gameday, validate --topology) too
            try:
                load_experiment(path, links=["client->edge"], processes=["edge"], slos=["latency-p95", "failover"])
            except ExperimentError:
                pass
        try:
            validate_files([path])
        except ConfigError:
            pass


def _dump(data: Any) -> bytes:
    return yaml.safe_dump(data, allow_unicode=True).encode("utf-8")


@pytest.mark.parametrize("kind", sorted(LOADERS))
@BOUNDED
@given(data=st.data())
def test_a_mutated_shipped_file_is_loaded_or_refused_with_a_config_error(kind: str, data: st.DataObject) -> None:
    _load(kind, _dump(data.draw(mutated(SEEDS[kind]))))


@pytest.mark.parametrize("kind", sorted(LOADERS))
@BOUNDED
@given(raw=st.binary(max_size=200) | st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_arbitrary_bytes_are_loaded_or_refused_with_a_config_error(kind: str, raw: bytes) -> None:
    _load(kind, raw)
