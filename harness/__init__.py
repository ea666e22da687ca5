"""xynergy-harness: load tests and chaos experiments that gate Xynergy rollouts on SLOs.

Importing this package has no side effects: it never imports Locust (which
monkey-patches the process with gevent); only locustfiles and
`harness.locust` do.
"""

from __future__ import annotations

from harness._exceptions import (
    ConfigError,
    ExperimentError,
    ExportError,
    FaultInjectionError,
    HarnessError,
    InvalidToxic,
    LoadError,
    PortInUse,
    ProcessError,
    ProxyExists,
    ProxyNotFound,
    ReportError,
    ScenarioError,
    ServiceStartError,
    ServiceUnreachable,
    SLOFileError,
    TopologyError,
    ToxiproxyAPIError,
    ToxiproxyUnreachable,
)

from harness._verdicts import Check, Verdict, combine_verdicts

__version__ = "0.1.0"

# Public names from subpackages that pull in pandas, scipy or gRPC. They are
# resolved on first access (PEP 562) so `import harness` stays cheap and
# side-effect free for the CLI and for locustfiles.
_LAZY: dict[str, str] = {
    # fault injection
    "ToxiproxyClient": "harness.toxiproxy",
    "ProxySpec": "harness.toxiproxy",
    "ProxyInfo": "harness.toxiproxy",
    "ToxicInfo": "harness.toxiproxy",
    # the platform
    "Platform": "harness.topology",
    "AttachedPlatform": "harness.topology",
    "Topology": "harness.topology",
    "load_topology": "harness.topology",
    # load, samples and SLOs
    "LocustConfig": "harness.load",
    "LocustRun": "harness.load",
    "run_locust": "harness.load",
    "SampleWriter": "harness.samples",
    "read_samples": "harness.samples",
    "SLO": "harness.slo",
    "load_slos": "harness.slo",
    "evaluate": "harness.slo",
    "judge_measurement": "harness.slo",
    "register_metric_source": "harness.slo",
    "register_file_validator": "harness.slo",
    # the run engine
    "Engine": "harness.engine",
    "Events": "harness.engine",
    "LoadSettings": "harness.engine",
    "PlatformHandle": "harness.engine",
    "Stopped": "harness.engine",
    "TrafficRouter": "harness.routers",
    "TrafficSplit": "harness.routers",
    # rollouts, reports, game days, export
    "RolloutConfig": "harness.canary",
    "JudgeConfig": "harness.canary",
    "run_rollout": "harness.canary",
    "RunResult": "harness.report",
    "StageResult": "harness.report",
    "load_run": "harness.report",
    "gate": "harness.report",
    "Experiment": "harness.chaos",
    "GameDayConfig": "harness.chaos",
    "load_experiment": "harness.chaos",
    "run_gameday": "harness.chaos",
    "MonitoringExporter": "harness.monitoring",
}


def __getattr__(name: str) -> object:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'harness' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "__version__",
    "Check",
    "Verdict",
    "combine_verdicts",
    *_LAZY,
    "ConfigError",
    "ExperimentError",
    "ExportError",
    "FaultInjectionError",
    "HarnessError",
    "InvalidToxic",
    "LoadError",
    "PortInUse",
    "ProcessError",
    "ProxyExists",
    "ProxyNotFound",
    "ReportError",
    "ScenarioError",
    "ServiceStartError",
    "ServiceUnreachable",
    "SLOFileError",
    "TopologyError",
    "ToxiproxyAPIError",
    "ToxiproxyUnreachable",
]
