"""Fixtures shared by the whole suite. Subsystem fixtures live beside their tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

# Tests never import locust into this process (it gevent-patches everything);
# if something does by accident, at least do not patch.
os.environ.setdefault("LOCUST_SKIP_MONKEY_PATCH", "1")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def toxiproxy() -> Iterator[str]:
    """An embedded Toxiproxy server of the test's own, so it outlives an interrupted run and its proxies can be read."""
    from harness.toxiproxy import ToxiproxyClient

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", str(port)])
    url = f"http://127.0.0.1:{port}"
    client = ToxiproxyClient(url)
    deadline = time.monotonic() + 15
    while not client.ping():
        assert time.monotonic() < deadline, "embedded toxiproxy did not start"
        time.sleep(0.1)
    yield url
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:  # a busy machine: do not leave it behind
        server.kill()
        server.wait(10)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

# A suite started in the background (`cmd &` in a script, `nohup`) inherits SIGINT and
# SIGHUP ignored, and every process it starts would inherit that too: the tests that press
# Ctrl-C or hang up on a harness process would test the shell's job control, not the
# harness. They test what a terminal does, so the suite starts from the defaults.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
if signal.getsignal(signal.SIGHUP) is signal.SIG_IGN:
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


@pytest.fixture(autouse=True)
def _stop_signals_restored() -> Iterator[None]:
    """Every test leaves SIGINT/SIGTERM/SIGHUP as it found them.

    A run judged in-process that left a stop signal ignored would hand that
    to every process the suite starts afterwards (an ignored disposition is
    inherited across exec), and their Ctrl-C tests would hang far away from
    the cause. Restored either way, so one leak fails one test.
    """
    before = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    yield
    after = {sig: signal.getsignal(sig) for sig in _STOP_SIGNALS}
    for sig, handler in before.items():
        signal.signal(sig, handler)
    leaked = {signal.Signals(sig).name: after[sig] for sig in _STOP_SIGNALS if after[sig] != before[sig]}
    assert not leaked, f"the test left stop signals changed: {leaked}"
