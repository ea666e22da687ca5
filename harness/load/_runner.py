"""Run Locust as subprocesses: one process, or a master and N local workers.

The orchestrator never imports locust (gevent patches whatever imports it),
so a run is `python -m locust -f FILE --headless ...` with the harness plugin
loaded by the locustfile. The run is bounded twice: Locust's own `-t`, and a
hard deadline after which every process is killed; processes are stopped on
every exit path, Ctrl-C included.
"""

from __future__ import annotations

import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import pandas as pd

from harness._exceptions import ConfigError, LoadError, ScenarioError
from harness.samples import read_samples

__all__ = ["LocustConfig", "LocustRun", "run_locust", "LOOPBACK_HOSTS"]

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class LocustConfig:
    """What to run and where to put the results.

    Files written into `out_dir`: `samples.arrow`, `verdict.json`,
    `locust.log` (and `locust-worker-N.log` with workers).
    """

    locustfile: Path
    host: str
    out_dir: Path
    users: int = 10
    spawn_rate: float | None = None
    """Users started per second (default: all at once)."""
    run_time_s: float = 30.0
    rps: float | None = None
    """Total target arrival rate for PacedUser classes (open model)."""
    slo_dir: Path | None = None
    min_samples: int | None = None
    api_key: str | None = None
    """Passed to the locustfile as env XYNERGY_API_KEY."""
    workers: int = 0
    """0: one Locust process; N: a master and N local worker processes."""
    stop_timeout_s: float = 5.0
    kill_after_s: float = 45.0
    """Grace beyond run time (start-up, stop, verdict) before Locust is told to stop."""
    term_grace_s: float = 10.0
    """After that SIGTERM (Locust still judges what it has), seconds before SIGKILL."""
    capture: bool = True
    extra_args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    python: str = sys.executable

    @property
    def samples_file(self) -> Path:
        return self.out_dir / "samples.arrow"

    @property
    def verdict_file(self) -> Path:
        return self.out_dir / "verdict.json"

    @property
    def log_file(self) -> Path:
        return self.out_dir / "locust.log"


@dataclass(frozen=True)
class LocustRun:
    """A finished run: Locust's exit code (0 pass, 1 breach, 2 invalid/inconclusive) and its files."""

    exit_code: int
    samples_file: Path
    verdict_file: Path
    log_file: Path
    started: float
    finished: float
    killed: bool = False
    worker_exit_codes: tuple[int, ...] = ()
    master_exit_code: int | None = None
    """The master's own exit code (`exit_code` folds anything but 0/1 into 2)."""
    stopped_early: bool = False
    """`poll` asked to stop before Locust's own run time ended (a decided stage)."""

    @property
    def duration_s(self) -> float:
        return self.finished - self.started

    def samples(self) -> pd.DataFrame:
        """The run's samples (readable even when Locust was killed)."""
        return read_samples(self.samples_file)

    def verdict(self) -> dict[str, Any] | None:
        """The plugin's verdict JSON, or None when Locust died before writing it."""
        try:
            data: dict[str, Any] = json.loads(self.verdict_file.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        return data


def _check(config: LocustConfig) -> None:
    if not config.locustfile.is_file():
        raise ScenarioError("locustfile not found", source=str(config.locustfile))
    host = urlsplit(config.host).hostname
    if host not in LOOPBACK_HOSTS:
        raise ConfigError(f"{config.host!r}: load targets must be on 127.0.0.1", field="host")
    for name in ("users", "workers"):
        if getattr(config, name) < (1 if name == "users" else 0):
            raise ConfigError(f"{getattr(config, name)} is out of range", field=name)
    if config.run_time_s <= 0:
        raise ConfigError(f"{config.run_time_s} must be positive", field="run_time_s")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(config: LocustConfig) -> dict[str, str]:
    env = {**os.environ, **config.env}
    env.pop("LOCUST_SKIP_MONKEY_PATCH", None)  # Locust needs gevent's patching
    if config.api_key is not None:
        env["XYNERGY_API_KEY"] = config.api_key
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _master_args(config: LocustConfig) -> list[str]:
    args = [
        config.python, "-m", "locust", "-f", str(config.locustfile), "--headless",
        "-u", str(config.users), "-r", str(config.spawn_rate or config.users),
        "-t", f"{max(1, round(config.run_time_s))}s", "--host", config.host,
        "--stop-timeout", f"{math.ceil(config.stop_timeout_s)}s", "--only-summary",
        "--samples-file", str(config.samples_file), "--verdict-file", str(config.verdict_file),
    ]  # fmt: skip
    if config.rps:
        args += ["--rps", str(config.rps)]
    if config.slo_dir is not None:
        args += ["--slo-dir", str(config.slo_dir)]
    if config.min_samples is not None:
        args += ["--min-samples", str(config.min_samples)]
    if not config.capture:
        args += ["--no-capture"]
    return args + list(config.extra_args)


def _spawn(args: list[str], log: IO[bytes], env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=dict(env), start_new_session=True)


def _stop(proc: subprocess.Popen[bytes], grace: float) -> bool:
    """SIGTERM (Locust shuts down and judges), then SIGKILL; True if it had to be killed."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
        return False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return True


def run_locust(config: LocustConfig, *, poll: Callable[[], bool] | None = None,
               poll_interval_s: float = 1.0) -> LocustRun:
    """Run Locust headless against `config.host` and wait for it (bounded).

    `poll` is called about every `poll_interval_s` while Locust runs (the
    stage loop reads new samples and re-judges there); when it returns True,
    Locust is told to stop (SIGTERM: it still writes its samples and verdict).
    Raises `ScenarioError` / `ConfigError` for bad input before starting, and
    `LoadError` if Locust cannot be started. A breach is not an error: read
    `exit_code`, `verdict()` and `samples()`.
    """
    _check(config)
    config.out_dir.mkdir(parents=True, exist_ok=True)
    env = _env(config)
    args = _master_args(config)
    port = _free_port() if config.workers else 0
    if config.workers:
        args += [
            "--master", "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port),
            "--expect-workers", str(config.workers), "--expect-workers-max-wait", "30",
        ]  # fmt: skip
    started = time.time()
    deadline = time.monotonic() + config.run_time_s + config.kill_after_s + (30 if config.workers else 0)
    logs: list[IO[bytes]] = []
    workers: list[subprocess.Popen[bytes]] = []
    master: subprocess.Popen[bytes] | None = None
    killed = stopped_early = False
    try:
        logs.append(open(config.log_file, "wb"))  # noqa: SIM115 - closed in finally
        try:
            master = _spawn(args, logs[0], env)
        except OSError as exc:
            raise LoadError(f"cannot start Locust ({config.python}): {exc}") from exc
        for i in range(config.workers):
            logs.append(open(config.out_dir / f"locust-worker-{i}.log", "wb"))  # noqa: SIM115
            worker_args = [config.python, "-m", "locust", "-f", str(config.locustfile), "--worker",
                           "--master-host", "127.0.0.1", "--master-port", str(port)]  # fmt: skip
            if not config.capture:
                worker_args.append("--no-capture")
            workers.append(_spawn(worker_args, logs[-1], env))
        next_poll = time.monotonic() + poll_interval_s
        while master.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
            if poll is not None and time.monotonic() >= next_poll and master.poll() is None:
                next_poll = time.monotonic() + poll_interval_s
                if poll():
                    stopped_early = True
                    _stop(master, grace=config.term_grace_s)
        if master.poll() is None:  # past the hard deadline
            _stop(master, grace=config.term_grace_s)
            killed = True
        patience = 10.0 if master.returncode in (0, 1) else 0.5
        for w in workers:  # they quit on the master's quit message
            try:
                w.wait(timeout=patience)
            except subprocess.TimeoutExpired:
                _stop(w, grace=5.0)
    finally:
        for proc in ([master] if master is not None else []) + workers:
            _stop(proc, grace=config.term_grace_s)
        for log in logs:
            log.close()
    code = master.returncode if master is not None else 2
    if killed:
        code = 2
    return LocustRun(
        exit_code=code if code in (0, 1) else 2,
        samples_file=config.samples_file,
        verdict_file=config.verdict_file,
        log_file=config.log_file,
        started=started,
        finished=time.time(),
        killed=killed,
        worker_exit_codes=tuple(w.returncode for w in workers),
        master_exit_code=master.returncode if master is not None else None,
        stopped_early=stopped_early,
    )
