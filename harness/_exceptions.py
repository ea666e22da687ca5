"""Every error the harness raises, under one root.

A breached SLO is a *result* (a verdict), never an exception: exceptions are
for things that stop the harness from producing an honest result.

    HarnessError                  exit code 2 unless stated
    ├── ConfigError               bad input: a file, field or flag (names it);
    │   │                         `problems` holds every problem found at once
    │   ├── TopologyError         topology file invalid
    │   ├── SLOFileError          SLO file invalid
    │   ├── ExperimentError       chaos experiment file invalid
    │   └── ScenarioError         locustfile missing or unusable
    ├── FaultInjectionError       Toxiproxy or a process action failed
    │   ├── ToxiproxyUnreachable  no server at TOXIPROXY_URL
    │   └── ToxiproxyAPIError     the server answered with an error status
    │       ├── ProxyNotFound     404
    │       ├── ProxyExists       409
    │       └── InvalidToxic      400
    ├── ProcessError              a child process could not be run as asked
    │   ├── PortInUse             a configured port is taken (names port, service)
    │   └── ServiceStartError     a service exited or never became ready
    ├── ServiceUnreachable        a running service stopped answering
    ├── LoadError                 the load generator failed to run
    ├── ReportError               a report is missing, incomplete or invalid
    └── ExportError               exporting results (Cloud Monitoring) failed

`cli.main` turns any of these into one line on stderr and `exit_code`.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "HarnessError",
    "ConfigError",
    "TopologyError",
    "SLOFileError",
    "ExperimentError",
    "ScenarioError",
    "FaultInjectionError",
    "ToxiproxyUnreachable",
    "ToxiproxyAPIError",
    "ProxyNotFound",
    "ProxyExists",
    "InvalidToxic",
    "ProcessError",
    "PortInUse",
    "ServiceStartError",
    "ServiceUnreachable",
    "LoadError",
    "ReportError",
    "ExportError",
]


class HarnessError(Exception):
    """Root of every harness error; carries the process exit code to use."""

    exit_code: int = 2


class ConfigError(HarnessError):
    """Bad user input. The message names the file/field/flag and the problem.

    A loader that finds several problems raises one error whose `problems`
    lists each (one line each: `FILE: FIELD: PROBLEM`); a single problem is
    its own only entry, so `for p in exc.problems` always works.
    """

    def __init__(self, message: str, *, source: str | None = None, field: str | None = None) -> None:
        where = ": ".join(part for part in (source, field) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.source = source
        self.field = field
        self.problem = message
        self.problems: tuple[ConfigError, ...] = (self,)

    @classmethod
    def combine(cls, errors: Sequence[ConfigError]) -> ConfigError:
        """One error for many: each problem on its own line, in the order found.

        A single problem comes back unchanged when it already is a `cls`.
        """
        flat = [p for e in errors for p in e.problems]
        if not flat:
            raise ValueError("combine() needs at least one error")
        if len(flat) == 1 and isinstance(flat[0], cls):
            return flat[0]
        sources = {p.source for p in flat}
        combined = cls("\n".join(str(p) for p in flat))
        combined.source = sources.pop() if len(sources) == 1 else None
        combined.problems = tuple(flat)
        return combined


class TopologyError(ConfigError):
    """The topology file cannot be used."""


class SLOFileError(ConfigError):
    """An SLO file is not valid OpenSLO v1 or uses an unknown harness query."""


class ExperimentError(ConfigError):
    """A chaos experiment file is invalid (raised before any fault is injected)."""


class ScenarioError(ConfigError):
    """A locustfile is missing or unusable."""


class FaultInjectionError(HarnessError):
    """A fault could not be injected or rolled back."""


class ToxiproxyUnreachable(FaultInjectionError):
    """Nothing answers at the configured Toxiproxy URL."""


class ToxiproxyAPIError(FaultInjectionError):
    """The Toxiproxy server rejected a request; `status` is the HTTP status."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


class ProxyNotFound(ToxiproxyAPIError):
    """404 from Toxiproxy: no such proxy or toxic."""


class ProxyExists(ToxiproxyAPIError):
    """409 from Toxiproxy: a proxy or toxic of that name exists."""


class InvalidToxic(ToxiproxyAPIError):
    """400 from Toxiproxy: bad toxic type, stream or attributes."""


class ProcessError(HarnessError):
    """A child process could not be started, signalled or stopped."""


class PortInUse(ProcessError):
    """A port the topology asks for is already taken."""


class ServiceStartError(ProcessError):
    """A service exited during start-up or never became ready."""


class ServiceUnreachable(HarnessError):
    """A service that was up stopped answering."""


class LoadError(HarnessError):
    """Locust could not be run or produced no usable samples."""


class ReportError(HarnessError):
    """A report is missing, incomplete or invalid (the gate's exit code 2)."""


class ExportError(HarnessError):
    """Exporting results failed (fatal only with --require-export)."""
