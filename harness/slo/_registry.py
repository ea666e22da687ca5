"""Registries: metric sources by `metricSource.type`, file validators by `kind`.

A metric source is a plugin object with two methods (see `MetricSourcePlugin`);
`harness` (samples-based) is built in, `cloud-monitoring` registers itself
when `harness.monitoring` is imported (done lazily on first use of the type).
File validators let `harness validate` check files other than SLOs, such as
chaos experiments, without this package knowing their format.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from harness._exceptions import SLOFileError
from harness._verdicts import Check

if TYPE_CHECKING:
    import pandas as pd

    from harness.slo._model import SLO

__all__ = [
    "MetricSourcePlugin",
    "FileValidator",
    "register_metric_source",
    "metric_source",
    "metric_source_types",
    "validate_source_spec",
    "register_file_validator",
    "file_validators",
]

Fail = Callable[[str, str], SLOFileError]


class MetricSourcePlugin(Protocol):
    """What a metric source provides to SLO loading and evaluation."""

    def validate(self, spec: Mapping[str, Any], fail: Fail) -> None:
        """Check a `metricSource.spec` at load time; raise `fail(field, problem)` on error."""

    def evaluate(self, slo: SLO, samples: pd.DataFrame, *, min_samples: int) -> list[Check]:
        """Judge `slo` (whose indicator uses this source) into one Check per objective and group."""


_SOURCES: dict[str, MetricSourcePlugin] = {}
#: Types whose plugin registers itself when this module is imported.
_LAZY: dict[str, str] = {"harness": "harness.slo._evaluate", "cloud-monitoring": "harness.monitoring"}


def register_metric_source(type_name: str, plugin: MetricSourcePlugin) -> None:
    """Make `metricSource.type: type_name` usable in SLO files (replaces an earlier one)."""
    _SOURCES[type_name] = plugin


def metric_source(type_name: str) -> MetricSourcePlugin | None:
    """The plugin for a type, importing its lazy module if needed; None if unknown."""
    if type_name not in _SOURCES and type_name in _LAZY:
        try:
            importlib.import_module(_LAZY[type_name])
        except ImportError:
            return None
    return _SOURCES.get(type_name)


def metric_source_types() -> list[str]:
    """Every type known now or importable on demand."""
    return sorted(set(_SOURCES) | set(_LAZY))


def validate_source_spec(type_name: str, spec: Mapping[str, Any], fail: Fail) -> None:
    """Validate a spec with its plugin; an unknown type is an error naming `type`."""
    plugin = metric_source(type_name)
    if plugin is None:
        raise fail("", f"metricSource.type {type_name!r} is not one of {', '.join(metric_source_types())}")
    plugin.validate(spec, fail)


@dataclass(frozen=True)
class FileValidator:
    """Checks one kind of file for `harness validate`; raises a `ConfigError` subclass."""

    kind: str
    validate: Callable[[Path], object]
    detect: Callable[[Mapping[str, Any]], bool] | None = None


_VALIDATORS: dict[str, FileValidator] = {}


def register_file_validator(
    kind: str,
    validate: Callable[[Path], object],
    *,
    detect: Callable[[Mapping[str, Any]], bool] | None = None,
) -> None:
    """Let `harness validate` check files of `kind` (the YAML `kind:` field).

    Files without a `kind:` field (e.g. Chaos Toolkit-style experiments) are
    offered to validators whose `detect(first_document)` returns True.
    """
    _VALIDATORS[kind] = FileValidator(kind, validate, detect)


def file_validators() -> dict[str, FileValidator]:
    """A copy of the registered validators by kind."""
    return dict(_VALIDATORS)
