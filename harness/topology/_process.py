"""Child processes that cannot outlive the harness, and free loopback ports.

Every child runs in its own process group (so a stop reaches its own children
too) and carries `PR_SET_PDEATHSIG`: when the thread that spawned it dies, the
kernel SIGKILLs it. That signal is tied to the spawning *thread*, so all spawns
of one owner go through `Spawner`, a single long-lived thread.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from harness._exceptions import PortInUse, ProcessError

__all__ = [
    "Child", "Spawner", "StopState", "Stopped", "check_port_free", "free_port", "pid_alive", "signals_ignored",
    "sigterm_as_interrupt", "stop_signals", "stop_together",
]

_PR_SET_PDEATHSIG = 1
_libc: ctypes.CDLL | None = None


def _child_setup(tie_to_parent: bool, parent_pid: int) -> Callable[[], None]:
    """The preexec_fn: own process group, and die with the parent when tied."""
    libc = _load_libc() if tie_to_parent else None

    def setup() -> None:
        os.setpgid(0, 0)
        if libc is not None:
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
            if os.getppid() != parent_pid:  # the parent died before prctl took effect
                os._exit(1)

    return setup


def _load_libc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None and sys.platform.startswith("linux"):
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc


@dataclass
class Child:
    """A spawned process: its log file, spawn time, and a graceful stop."""

    name: str
    argv: list[str]
    popen: subprocess.Popen[bytes]
    log_path: Path
    spawned_at: float  # time.time() just before the spawn
    spawned_mono: float  # time.monotonic() just before the spawn
    stopped: bool = field(default=False)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def returncode(self) -> int | None:
        return self.popen.poll()

    def last_lines(self, n: int = 15) -> list[str]:
        """The last `n` lines of the child's combined stdout/stderr."""
        try:
            with self.log_path.open("r", encoding="utf-8", errors="replace") as fh:
                return [line.rstrip("\n") for line in deque(fh, maxlen=n)]
        except OSError:
            return []

    def signal(self, sig: int) -> None:
        """Send `sig` to the child's whole process group (ignored once it has exited)."""
        if self.popen.poll() is not None:
            return
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:  # group vanished and pid reused: fall back to the pid itself
            self.popen.send_signal(sig)

    def stop(self, grace: float = 5.0) -> int | None:
        """SIGTERM (after SIGCONT, in case it is frozen), then SIGKILL after `grace` seconds."""
        self.stopped = True
        if self.popen.poll() is None:
            self.signal(signal.SIGCONT)
            self.signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.popen.wait(timeout=5)
        try:  # reap anything left in the group (a service's own helpers)
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return self.popen.returncode


class Spawner:
    """Spawns children from one long-lived thread, so PDEATHSIG fires only when the owner dies.

    `tie_to_parent=False` (a detached supervisor's launcher) spawns without it.
    """

    def __init__(self, log_dir: Path, *, tie_to_parent: bool = True) -> None:
        self.log_dir = log_dir
        self.tie_to_parent = tie_to_parent
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="harness-spawner")

    def spawn(self, name: str, argv: Sequence[str], *, env: Mapping[str, str] | None = None) -> Child:
        """Start `argv` with output appended to `<log_dir>/<name>.log`."""
        return self._thread.submit(self._spawn, name, list(argv), dict(env or os.environ)).result()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Child:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = self.log_dir / f"{name.replace('/', '_')}.log"
        with log_path.open("ab") as log:
            t_wall, t_mono = time.time(), time.monotonic()
            try:
                popen = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    preexec_fn=_child_setup(self.tie_to_parent, os.getpid()),  # noqa: PLW1509
                    close_fds=True,
                )
            except OSError as exc:
                raise ProcessError(f"{name}: cannot run {argv[0]}: {exc.strerror or exc}") from None
        return Child(name, argv, popen, log_path, t_wall, t_mono)

    def close(self) -> None:
        """End the spawner thread (call only after every child is stopped)."""
        self._thread.shutdown(wait=True)


def free_port(taken: set[int] | None = None) -> int:
    """A currently free loopback TCP port, not in `taken` (which it is added to)."""
    taken = taken if taken is not None else set()
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        if port not in taken:
            taken.add(port)
            return port
    raise ProcessError("no free loopback port found")


def check_port_free(port: int, owner: str) -> None:
    """Raise `PortInUse` naming `port` and `owner` when something listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            raise PortInUse(f"port {port} (for {owner}) is already in use on 127.0.0.1") from None


def pid_alive(pid: int, create_time: float | None = None) -> bool:
    """Whether `pid` runs and (when given) is the process created at `create_time`."""
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 1.0
    except psutil.Error:
        return False


def stop_together(children: list[Child], grace: float) -> None:
    """SIGTERM a wave at once, then give each the rest of the shared grace period."""
    for child in children:
        child.signal(signal.SIGCONT)
        child.signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for child in children:
        child.stop(max(0.1, deadline - time.monotonic()))


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Stopped(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) as an exception, so every rollback on the way out runs.

    A `KeyboardInterrupt`, so code written for Ctrl-C handles all three alike;
    `exit_code` is the shell's 128 + signal number (130, 143, 129).
    """

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"stopped by {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


@dataclass
class StopState:
    """What the run-wide handler has seen: whether it raised, and signals held back since."""

    raised: bool = False
    held: list[int] = field(default_factory=list)
    shield_depth: int = 0

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.raised or self.shield_depth:
            self.held.append(signum)  # a second signal never cuts a rollback short
            return
        self.raised = True
        raise Stopped(signum)

    @contextlib.contextmanager
    def shielded(self) -> Iterator[None]:
        """Hold every stop signal while inside (cleanup runs to the end); they stay in `held`."""
        self.shield_depth += 1
        try:
            yield
        finally:
            self.shield_depth -= 1


@contextlib.contextmanager
def stop_signals() -> Iterator[StopState]:
    """While inside, the first SIGINT/SIGTERM/SIGHUP raises `Stopped`; later ones are held, not raised.

    Nested use shares the outer state. Main thread only (elsewhere the state
    is inert). A signal already ignored (SIGHUP under nohup) stays ignored.
    """
    current = signal.getsignal(signal.SIGTERM)
    owner = getattr(current, "__self__", None)
    if isinstance(owner, StopState):
        yield owner
        return
    state = StopState()
    if threading.current_thread() is not threading.main_thread():
        yield state
        return
    sigs = [s for s in _STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, state.handle) for sig in sigs}
    try:
        yield state
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


sigterm_as_interrupt = stop_signals
"""The name `Platform.up` used before SIGINT and SIGHUP were handled alike."""


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ignore stop signals during teardown so a second press cannot cut it short.

    Under a run-wide `stop_signals` the signals are held (and stay visible to
    it) instead of dropped. (`pthread_sigmask` would not do: Python runs
    handlers in the main thread whichever thread the kernel delivered the signal to.)
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    owner = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if isinstance(owner, StopState):
        with owner.shielded():
            yield
        return
    sigs = [s for s in _STOP_SIGNALS if signal.getsignal(s) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in sigs}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
