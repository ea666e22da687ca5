"""Child processes: own process group, graceful-then-forced stop, and death with their owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import psutil
import pytest

from harness._exceptions import PortInUse
from harness.topology._coldstart import wait_until
from harness.topology._process import Spawner, check_port_free, free_port, pid_alive


@pytest.fixture
def spawner(tmp_path: Path):
    s = Spawner(tmp_path / "logs")
    yield s
    s.close()


def gone_within(pid: int, seconds: float) -> bool:
    return wait_until(lambda: not pid_alive(pid), timeout=seconds) is not None


def test_a_child_serves_in_its_own_process_group_and_stops_on_sigterm(spawner: Spawner) -> None:
    port = free_port()
    child = spawner.spawn("web", [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    try:
        up = wait_until(lambda: _get_ok(f"http://127.0.0.1:{port}/"), timeout=10, alive=child.alive)
        assert up is not None, child.last_lines()
        assert os.getpgid(child.pid) == child.pid != os.getpgid(0)
    finally:
        code = child.stop(grace=5)
    assert code == -signal.SIGTERM or code == 0
    check_port_free(port, "web")  # the port is free again


def test_a_child_that_ignores_sigterm_is_killed_after_the_grace(spawner: Spawner) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    child = spawner.spawn("stubborn", [sys.executable, "-c", code])
    assert wait_until(lambda: "ready" in child.last_lines(), timeout=10) is not None
    t0 = time.monotonic()
    assert child.stop(grace=0.5) == -signal.SIGKILL
    assert 0.4 <= time.monotonic() - t0 < 5


def test_a_child_that_exits_leaves_its_last_log_lines(spawner: Spawner) -> None:
    child = spawner.spawn("noisy", [sys.executable, "-c", "import sys; print('one'); print('boom', file=sys.stderr); sys.exit(3)"])
    child.popen.wait(timeout=10)
    assert child.returncode() == 3
    assert child.last_lines() == ["one", "boom"]


def test_children_die_with_their_owner_even_when_it_is_sigkilled(tmp_path: Path) -> None:
    owner_code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from harness.topology._process import Spawner
        s = Spawner(Path({str(tmp_path)!r}))
        kids = [s.spawn(f"k{{i}}", [sys.executable, "-c", "import time; time.sleep(60)"]) for i in range(2)]
        print(" ".join(str(k.pid) for k in kids), flush=True)
        time.sleep(60)
    """)
    owner = subprocess.Popen([sys.executable, "-c", owner_code], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in owner.stdout.readline().split()]  # type: ignore[union-attr]
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        owner.kill()
        owner.wait(timeout=5)
        assert all(gone_within(p, 5) for p in pids)
    finally:
        owner.kill()
        owner.stdout.close()  # type: ignore[union-attr]


def test_a_taken_port_is_reported_with_its_owner() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(PortInUse, match=f"port {port} \\(for service edge\\) is already in use"):
            check_port_free(port, "service edge")


def test_free_ports_are_never_handed_out_twice() -> None:
    taken: set[int] = set()
    ports = [free_port(taken) for _ in range(20)]
    assert len(set(ports)) == 20


def test_a_recycled_pid_is_not_mistaken_for_the_recorded_process() -> None:
    me = psutil.Process()
    assert pid_alive(me.pid, me.create_time())
    assert not pid_alive(me.pid, me.create_time() - 100)


def _get_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_child_spawned_from_a_short_lived_thread_outlives_that_thread(spawner: Spawner) -> None:
    import threading

    box = []
    t = threading.Thread(target=lambda: box.append(spawner.spawn("k", [sys.executable, "-c", "import time; time.sleep(30)"])))
    t.start()
    t.join()
    time.sleep(0.3)  # PDEATHSIG would have fired by now if tied to the exited thread
    try:
        assert box[0].alive()
    finally:
        box[0].stop(grace=2)
