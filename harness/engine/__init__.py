"""The run engine: one platform seam, one event registry, one way to run load and faults.

Rollout (`harness.canary`) and game day (`harness.chaos`) are two ways of
driving it; see docs/architecture.md ("The engine").
"""

from __future__ import annotations

import typing as _typing

from harness._lazy import lazy_exports as _lazy_exports

if _typing.TYPE_CHECKING:
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

__getattr__, __dir__ = _lazy_exports(__name__, {
    "CheckJudged": "harness.engine._events",
    "EventHook": "harness.engine._events",
    "Events": "harness.engine._events",
    "FaultInjected": "harness.engine._events",
    "FaultRemoved": "harness.engine._events",
    "PlatformAction": "harness.engine._events",
    "RunFinished": "harness.engine._events",
    "RunStarted": "harness.engine._events",
    "SamplesFlushed": "harness.engine._events",
    "StageFinished": "harness.engine._events",
    "StageStarted": "harness.engine._events",
    "WeightSet": "harness.engine._events",
    "Engine": "harness.engine._engine",
    "LoadOutcome": "harness.engine._engine",
    "Look": "harness.engine._engine",
    "DEFAULT_LOCUSTFILE": "harness.engine._load",
    "LoadSettings": "harness.engine._load",
    "integrity_check": "harness.engine._load",
    "PlatformHandle": "harness.engine._platform",
    "Stopped": "harness.topology._process",
}, globals())
