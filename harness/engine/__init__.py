"""The run engine: one platform seam, one event registry, one way to run load and faults.

Rollout (`harness.canary`) and game day (`harness.chaos`) are two ways of
driving it; see docs/architecture.md ("The engine").
"""

from __future__ import annotations

from harness.engine._events import (
    CheckJudged,
    EventHook,
    Events,
    FaultInjected,
    FaultRemoved,
    PlatformAction,
    RunFinished,
    RunStarted,
    SamplesFlushed,
    StageFinished,
    StageStarted,
    WeightSet,
)
from harness.engine._engine import Engine, LoadOutcome, Look
from harness.engine._load import DEFAULT_LOCUSTFILE, LoadSettings, integrity_check
from harness.engine._platform import PlatformHandle
from harness.topology._process import Stopped

__all__ = [
    "DEFAULT_LOCUSTFILE",
    "CheckJudged",
    "Engine",
    "EventHook",
    "Events",
    "FaultInjected",
    "FaultRemoved",
    "LoadOutcome",
    "LoadSettings",
    "Look",
    "PlatformAction",
    "PlatformHandle",
    "RunFinished",
    "RunStarted",
    "SamplesFlushed",
    "StageFinished",
    "StageStarted",
    "Stopped",
    "WeightSet",
    "integrity_check",
]
