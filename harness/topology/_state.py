"""The state file of a platform left running (`harness up --detach`), and cleaning up after it.

The file holds the API key, so it is written 0600 and atomically (a reader
never sees half a file); `.harness/` is git-ignored.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import psutil

from harness._exceptions import ConfigError
from harness.topology._process import pid_alive

__all__ = ["DEFAULT_STATE_FILE", "STATE_VERSION", "read_state", "remove_state", "stop_recorded", "write_state"]

DEFAULT_STATE_FILE = Path(".harness/state.json")
STATE_VERSION = 1
_REQUIRED = ("supervisor", "control_url", "api_key", "edge_url", "toxiproxy_url", "instances", "links")


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Write `state` (plus the format version) atomically with mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump({"version": STATE_VERSION, **state}, fh, indent=2, sort_keys=True)
    os.replace(tmp, path)


def read_state(path: Path) -> dict[str, Any]:
    """Load a state file; `ConfigError` naming the file when it is missing or unusable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError("no platform is up (state file not found; start one with `harness up --detach`)",
                          source=str(path)) from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"unreadable state file: {exc}", source=str(path)) from None
    if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
        raise ConfigError(f"not a state file of this harness (version {STATE_VERSION})", source=str(path))
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise ConfigError("missing from state file", source=str(path), field=missing[0])
    return data


def remove_state(path: Path, *, owner_pid: int | None = None) -> None:
    """Delete the state file (only if it still belongs to `owner_pid`, when given)."""
    try:
        if owner_pid is not None and json.loads(path.read_text()).get("supervisor", {}).get("pid") != owner_pid:
            return
        path.unlink()
    except (OSError, ValueError):
        pass


def recorded_pids(state: dict[str, Any]) -> list[tuple[str, int, float | None]]:
    """(name, pid, create_time) of the supervisor and every child the state file records."""
    sup = state["supervisor"]
    out = [("supervisor", int(sup["pid"]), sup.get("create_time"))]
    for name, inst in state["instances"].items():
        if inst.get("pid"):
            out.append((name, int(inst["pid"]), inst.get("create_time")))
    return out


def stop_recorded(state: dict[str, Any], *, timeout: float = 20.0) -> list[str]:
    """SIGTERM the supervisor (it tears the platform down), wait, then SIGKILL leftovers.

    Returns the names of the processes that had to be killed. The create time
    recorded beside each pid guards against signalling a recycled pid.
    """
    sup_pid, sup_ct = int(state["supervisor"]["pid"]), state["supervisor"].get("create_time")
    if pid_alive(sup_pid, sup_ct):
        os.kill(sup_pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while pid_alive(sup_pid, sup_ct) and time.monotonic() < deadline:
            time.sleep(0.05)
    killed = []
    for name, pid, ct in recorded_pids(state):
        if pid_alive(pid, ct):
            try:
                psutil.Process(pid).kill()
                killed.append(name)
            except psutil.Error:
                pass
    return killed
