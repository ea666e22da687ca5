"""run_locust: bad input is refused before anything starts; a hung Locust is killed at the deadline."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from harness._exceptions import ConfigError, ScenarioError
from harness.load import LocustConfig, run_locust
from tests.load.conftest import TimedServer


def test_a_target_outside_loopback_is_refused(paced_locustfile: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="host: 'http://10.0.0.1:80': load targets must be on 127.0.0.1"):
        run_locust(LocustConfig(locustfile=paced_locustfile, host="http://10.0.0.1:80", out_dir=tmp_path))


def test_a_missing_locustfile_is_a_scenario_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="nope.py: locustfile not found"):
        run_locust(LocustConfig(locustfile=tmp_path / "nope.py", host="http://127.0.0.1:1", out_dir=tmp_path))


HANGING = '''
import time
from locust import FastHttpUser, events, task
import harness.locust  # noqa: F401

class U(FastHttpUser):
    @task
    def get(self):
        self.client.get("/")

@events.quitting.add_listener
def hang(**_):
    time.sleep(600)  # a Locust that never exits by itself
'''


@pytest.mark.slow
def test_a_locust_that_hangs_is_killed_at_the_hard_deadline(timed_server: TimedServer, tmp_path: Path) -> None:
    locustfile = tmp_path / "hanging.py"
    locustfile.write_text(HANGING)
    began = time.monotonic()
    run = run_locust(LocustConfig(locustfile=locustfile, host=timed_server.url, out_dir=tmp_path / "out",
                                  users=1, run_time_s=1, kill_after_s=4, term_grace_s=2))
    assert run.killed and run.exit_code == 2
    assert time.monotonic() - began < 20
    assert len(run.samples()) > 0  # what was captured before the hang is still there


INTERRUPTED = '''
import sys
from pathlib import Path
from harness.load import LocustConfig, run_locust
run_locust(LocustConfig(locustfile=Path(sys.argv[1]), host=sys.argv[2], out_dir=Path(sys.argv[3]),
                        users=2, run_time_s=60, rps=20, workers=1))
'''


@pytest.mark.slow
def test_ctrl_c_during_a_run_stops_master_and_workers_and_keeps_the_samples(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    import signal
    import subprocess
    import sys

    import psutil

    out = tmp_path / "out"
    harness = subprocess.Popen([sys.executable, "-c", INTERRUPTED, str(paced_locustfile), timed_server.url, str(out)],
                               stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 40
        while timed_server.count < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert timed_server.count >= 20
        harness.send_signal(signal.SIGINT)
        harness.wait(timeout=40)
    finally:
        harness.kill()
        harness.wait()
    left = [p for p in psutil.process_iter(["cmdline"]) if str(paced_locustfile) in " ".join(p.info["cmdline"] or [])]
    assert left == []
    from harness.samples import read_samples

    assert len(read_samples(out / "samples.arrow")) > 0
    verdict = json.loads((out / "verdict.json").read_text())  # the master judged on SIGTERM
    [complete] = [c for c in verdict["checks"] if c["name"] == "samples-complete"]
    assert complete["verdict"] == "pass" and complete["value"] == len(read_samples(out / "samples.arrow"))
