"""What every run checks before anything starts, and how it names a stop.

One validation path for every kind of run: numbers are checked here, an
experiment against the topology *in use* (the state file's links and
instances when attached, the topology file otherwise) by the very function
`harness validate` calls, so a bad file fails with exit 2 before any load.
"""

from __future__ import annotations

import contextlib
import math
import signal
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from harness._exceptions import ConfigError
from harness.engine._platform import PlatformHandle
from harness.topology._process import Stopped

if TYPE_CHECKING:
    from harness.revisions import RevisionBuild
    from harness.topology._platform import StartProgress

__all__ = ["check_positive", "names_in_use", "platform_for", "stop_reason"]


def check_positive(*flags: tuple[str, float], zero_ok: bool = False) -> None:
    """Every (flag, value) finite and positive (or zero when `zero_ok`); the error names the flag."""
    for flag, value in flags:
        if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
            raise ConfigError(f"{value:g} must be {'zero or ' if zero_ok else ''}positive", field=flag)


def names_in_use(topology: str | Path | None, attach: str | Path | None) -> tuple[list[str], list[str]]:
    """(link names, process names) of the platform a run will drive: the state file's when attached."""
    if attach is not None:
        from harness.topology import read_state

        state = read_state(Path(attach))
        return list(state["links"]), list(state["instances"])
    from harness.topology import load_topology

    topo = load_topology(topology)
    processes = [inst.name for inst in topo.instances()]
    if topo.redis.mode in ("auto", "spawn"):
        processes.append("redis")
    return [link.name for link in topo.links()], processes


def platform_for(topology: str | Path | None, attach: str | Path | None, canary_defect: str | None,
                 run_dir: Path | None = None, revisions: Mapping[str, RevisionBuild] | None = None,
                 progress: Callable[[StartProgress], None] | None = None,
                 ) -> contextlib.AbstractContextManager[PlatformHandle]:
    """The platform a run drives: attached through its state file, or brought up (telling `progress`)."""
    from harness.topology import Platform, load_topology

    if attach is not None:
        return Platform.attach(attach)
    topo = load_topology(topology)  # bad input fails here, before anything starts
    return Platform.up(topo, canary_defect, run_dir=run_dir, revisions=revisions, progress=progress)


def stop_reason(error: BaseException) -> str:
    """One line for a report's `incomplete_reason`: which signal, or which error."""
    if isinstance(error, Stopped):
        return f"interrupted by {signal.Signals(error.signum).name}; faults rolled back, load stopped"
    if isinstance(error, KeyboardInterrupt):
        return "interrupted (Ctrl-C); faults rolled back, load stopped"
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
