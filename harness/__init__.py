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

__version__ = "0.1.0"

__all__ = [
    "__version__",
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
