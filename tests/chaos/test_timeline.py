"""The fault timeline on real processes: actions on schedule, faults always undone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from harness.chaos._experiment import Action
from harness.chaos._timeline import FaultTimeline


class Processes:
    """A real process table: each name is a live `sleep` child signalled like the platform does."""

    def __init__(self) -> None:
        self.children: dict[str, subprocess.Popen[bytes]] = {}

    def spawn(self, name: str) -> None:
        self.children[name] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])

    def state(self, name: str) -> str:
        child = self.children[name]
        try:
            status = str(psutil.Process(child.pid).status())
        except psutil.NoSuchProcess:
            return "dead"
        return "dead" if status == psutil.STATUS_ZOMBIE else status

    def kill(self, name: str) -> None:
        self.children[name].kill()
        self.children[name].wait()

    def restart(self, name: str) -> None:
        if self.children[name].poll() is None:
            self.kill(name)
        self.spawn(name)

    def freeze(self, name: str) -> None:
        os.kill(self.children[name].pid, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        os.kill(self.children[name].pid, signal.SIGCONT)


@pytest.fixture
def processes() -> Iterator[Processes]:
    table = Processes()
    table.spawn("edge")
    yield table
    for child in table.children.values():
        if child.poll() is None:
            os.kill(child.pid, signal.SIGCONT)
            child.kill()
            child.wait()


def wait_for(predicate: object, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def test_a_freeze_for_a_while_stops_the_process_then_thaws_it_on_schedule(processes: Processes) -> None:
    freeze = Action("freeze edge", "freeze", at=0.2, duration=0.5, process="edge")
    with FaultTimeline([freeze], toxiproxy=None, platform=processes) as timeline:
        assert wait_for(lambda: processes.state("edge") == psutil.STATUS_STOPPED)
        assert timeline.wait(5.0)
        assert processes.state("edge") != psutil.STATUS_STOPPED
    [entry] = timeline.journal
    assert entry.outcome == "undone" and not entry.error
    assert timeline.t0 is not None and entry.started_at is not None and entry.ended_at is not None
    assert entry.started_at - timeline.t0 == pytest.approx(0.2, abs=0.15)
    assert entry.ended_at - entry.started_at == pytest.approx(0.5, abs=0.15)


def test_an_exception_during_load_still_thaws_a_frozen_process(processes: Processes) -> None:
    freeze = Action("freeze edge", "freeze", at=0.0, process="edge")
    with pytest.raises(RuntimeError, match="load generator died"):
        with FaultTimeline([freeze], toxiproxy=None, platform=processes):
            assert wait_for(lambda: processes.state("edge") == psutil.STATUS_STOPPED)
            raise RuntimeError("load generator died")
    assert processes.state("edge") != psutil.STATUS_STOPPED


def test_stopping_early_skips_pending_actions_and_rolls_back_active_ones(processes: Processes) -> None:
    actions = [
        Action("freeze edge", "freeze", at=0.0, duration=30.0, process="edge"),
        Action("kill edge later", "kill", at=20.0, process="edge"),
    ]
    timeline = FaultTimeline(actions, toxiproxy=None, platform=processes)
    timeline.start()
    assert wait_for(lambda: processes.state("edge") == psutil.STATUS_STOPPED)
    timeline.stop()
    timeline.rollback()
    outcomes = {e.action: e.outcome for e in timeline.journal}
    assert outcomes == {"freeze edge": "rolled-back", "kill edge later": "skipped"}
    assert processes.state("edge") != psutil.STATUS_STOPPED
    assert not timeline.finished


def test_a_killed_process_is_restarted_by_the_rollback(processes: Processes) -> None:
    kill = Action("crash edge", "kill", at=0.0, process="edge")
    first_pid = processes.children["edge"].pid
    with FaultTimeline([kill], toxiproxy=None, platform=processes) as timeline:
        assert wait_for(lambda: processes.state("edge") == "dead")
    assert processes.state("edge") != "dead" and processes.children["edge"].pid != first_pid
    [window] = timeline.fault_windows()
    assert window.kind == "kill" and window.removed_at is not None


def test_a_failed_action_is_journalled_and_the_others_still_run(processes: Processes) -> None:
    actions = [
        Action("freeze ghost", "freeze", at=0.0, duration=0.2, process="ghost"),
        Action("freeze edge", "freeze", at=0.1, duration=0.2, process="edge"),
    ]
    with FaultTimeline(actions, toxiproxy=None, platform=processes) as timeline:
        assert timeline.wait(5.0)
    by_name = {e.action: e for e in timeline.journal}
    assert by_name["freeze ghost"].outcome == "failed" and "KeyError" in by_name["freeze ghost"].error
    assert by_name["freeze edge"].outcome == "undone"
    assert [w.action for w in timeline.fault_windows()] == ["freeze edge"]


def test_the_experiments_own_rollbacks_run_after_the_faults_are_undone(processes: Processes) -> None:
    freeze = Action("freeze edge", "freeze", at=0.0, process="edge")
    restart = Action("restart edge", "restart", process="edge")
    first_pid = processes.children["edge"].pid
    with FaultTimeline([freeze], toxiproxy=None, platform=processes, rollbacks=[restart]) as timeline:
        assert wait_for(lambda: processes.state("edge") == psutil.STATUS_STOPPED)
    phases = [(e.phase, e.action, e.outcome) for e in timeline.journal]
    assert phases == [("method", "freeze edge", "rolled-back"), ("rollback", "restart edge", "done")]
    assert processes.children["edge"].pid != first_pid


def test_a_link_action_without_a_toxiproxy_client_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="acts on a link"):
        FaultTimeline([Action("down", "down", link="x")], toxiproxy=None)
