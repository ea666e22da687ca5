"""Chaos game days: experiment files, the fault timeline, failover measurement.

    from harness.chaos import GameDayConfig, run_gameday
    result = run_gameday(GameDayConfig(Path("chaos/region-outage.yaml"), rps=20))

    # inside another run (e.g. a rollout stage): faults beside your own load
    experiment = load_experiment("chaos/region-outage.yaml")
    with FaultTimeline(experiment.method, toxiproxy=platform.toxiproxy, platform=platform,
                       rollbacks=experiment.rollbacks) as timeline:
        run_your_load()
    measurements, checks = judge_faults(experiment, timeline.fault_windows(), samples, slos_by_name,
                                        run_start=t0, run_end=t1)

Importing this package registers the experiment validator with
`harness validate` (`harness.slo.register_file_validator`, kind
`ChaosExperiment`, detected by a top-level `method` list and no `kind`).
See chaos/README.md for the file format and docs/gameday.md for game days.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from harness.chaos._checks import evaluate_window_checks, window_mask
from harness.chaos._experiment import (
    LINK_ACTIONS,
    PROCESS_ACTIONS,
    TOXIC_ATTRIBUTES,
    Action,
    Experiment,
    HealthyRule,
    SteadyState,
    Toxic,
    WindowCheck,
    parse_duration,
)
from harness.chaos._failover import (
    FaultMeasurement,
    FaultWindow,
    failover_checks,
    first_sustained_healthy,
    measure_fault,
    measure_faults,
    primary_region_of,
    window_stats,
)
from harness.chaos._loader import load_experiment, parse_experiment
from harness.chaos._gameday import GameDayConfig, judge_faults, load_for_topology, region_series, run_gameday
from harness.chaos._timeline import FaultTimeline, JournalEntry, PlatformActions, ToxicActions
from harness.slo import register_file_validator

__all__ = [
    "LINK_ACTIONS",
    "PROCESS_ACTIONS",
    "TOXIC_ATTRIBUTES",
    "Action",
    "Experiment",
    "FaultMeasurement",
    "FaultTimeline",
    "FaultWindow",
    "GameDayConfig",
    "HealthyRule",
    "JournalEntry",
    "PlatformActions",
    "SteadyState",
    "Toxic",
    "ToxicActions",
    "WindowCheck",
    "evaluate_window_checks",
    "failover_checks",
    "first_sustained_healthy",
    "is_experiment_document",
    "judge_faults",
    "load_experiment",
    "load_for_topology",
    "measure_fault",
    "measure_faults",
    "parse_duration",
    "parse_experiment",
    "primary_region_of",
    "region_series",
    "run_gameday",
    "validate_experiment_file",
    "window_mask",
    "window_stats",
]

EXPERIMENT_KIND = "ChaosExperiment"


def is_experiment_document(doc: Mapping[str, Any]) -> bool:
    """A Chaos Toolkit-shaped document: a `method` list and no OpenSLO `kind`."""
    return "kind" not in doc and isinstance(doc.get("method"), list)


def validate_experiment_file(path: Path) -> object:
    """`harness validate` hook: the experiment checked against the default topology's names."""
    from harness.chaos._ctk_gameday import is_ctk_file, validate_ctk_file
    from harness.slo import load_slos

    if is_ctk_file(path):  # a Chaos Toolkit file: what `harness gameday` checks before it starts
        return validate_ctk_file(path)
    slo_dir = Path("slos")
    names = [s.name for s in load_slos(slo_dir)] if slo_dir.is_dir() else None
    if names is None:
        return load_experiment(path)
    return load_for_topology(path, None, names)


register_file_validator(EXPERIMENT_KIND, validate_experiment_file, detect=is_experiment_document)
