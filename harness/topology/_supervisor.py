"""Owning a running platform: serve it, record it in the state file, and detach it.

`harness up` runs the platform in its own process; `harness up --detach`
starts a *supervisor* process (its own session, not tied to the short-lived
CLI) that does the same, and whose children die with it. `harness down`
SIGTERMs that supervisor, which tears everything down.

    python -m harness.topology._supervisor --state S [--topology F] [--canary-defect P] [--run-dir D]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

from harness._exceptions import ConfigError, HarnessError, ServiceStartError
from harness.topology._control import ControlServer
from harness.topology._platform import Platform
from harness.topology._state import read_state, remove_state, write_state
from harness.topology._process import pid_alive

__all__ = ["detach", "refuse_if_running", "serving", "wait_for_stop"]


@contextlib.contextmanager
def serving(platform: Platform, state_path: Path) -> Iterator[ControlServer]:
    """Serve `platform`'s control endpoint and keep the state file current while inside."""
    me = psutil.Process()
    control = ControlServer(platform)

    def save() -> None:
        write_state(state_path, {**platform.describe(), "api_key": platform.api_key, "control_url": control.url,
                                 "supervisor": {"pid": me.pid, "create_time": me.create_time()}})

    control.on_change = save
    try:
        save()
        yield control
    finally:
        control.close()
        remove_state(state_path, owner_pid=me.pid)


def wait_for_stop() -> None:
    """Block until Ctrl-C or SIGTERM (which `Platform.up` turns into KeyboardInterrupt)."""
    while True:
        signal.pause()


def refuse_if_running(state_path: Path) -> None:
    """One platform per state file: refuse when its supervisor is still alive."""
    try:
        state = read_state(state_path)
    except ConfigError:
        return
    sup = state["supervisor"]
    if pid_alive(int(sup["pid"]), sup.get("create_time")):
        raise ConfigError(f"a platform is already up (supervisor pid {sup['pid']}); run `harness down` first",
                          source=str(state_path))
    remove_state(state_path)  # stale: its owner died without cleaning up


def detach(state_path: Path, *, topology: str | None, canary_defect: str | None, run_dir: Path,
           timeout: float = 120.0) -> dict[str, Any]:
    """Start a supervisor in its own session; return the state once it is up, or raise its error."""
    run_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "harness.topology._supervisor", "--state", str(state_path), "--run-dir", str(run_dir)]
    if topology:
        argv += ["--topology", topology]
    if canary_defect:
        argv += ["--canary-defect", canary_defect]
    log_path = run_dir / "supervisor.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, close_fds=True)
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise ServiceStartError(_supervisor_error(log_path, proc.returncode))
            with contextlib.suppress(ConfigError):
                state = read_state(state_path)
                if state["supervisor"]["pid"] == proc.pid:
                    return state
            time.sleep(0.05)
        raise ServiceStartError(f"the platform was not up within {timeout:g} s; see {log_path}")
    except BaseException:  # timed out, or Ctrl-C while waiting: the supervisor tears down what it started
        if proc.poll() is None:
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=30)
        raise


def _supervisor_error(log_path: Path, code: int) -> str:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    marker = "harness: error: "
    if marker in text:
        return text[text.rindex(marker) + len(marker):].rstrip()
    tail = "\n".join(text.rstrip().splitlines()[-12:])
    return f"the platform supervisor exited with code {code}; last lines of {log_path}:\n{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="harness-supervisor")
    parser.add_argument("--state", required=True)
    parser.add_argument("--topology")
    parser.add_argument("--canary-defect")
    parser.add_argument("--run-dir", required=True)
    args = parser.parse_args(argv)
    try:
        with Platform.up(args.topology, args.canary_defect, run_dir=args.run_dir) as platform:
            with serving(platform, Path(args.state)):
                print(f"supervisor {os.getpid()}: platform up; edge {platform.edge_url}", flush=True)
                wait_for_stop()
    except HarnessError as exc:
        print(f"harness: error: {exc}", file=sys.stderr, flush=True)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"supervisor {os.getpid()}: stopped; platform torn down", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
