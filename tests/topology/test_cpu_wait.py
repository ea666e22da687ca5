"""Run-queue wait of a starting process: what tells a starved start from a slow revision."""

from __future__ import annotations

import subprocess
import sys
import time

from harness.topology._coldstart import cpu_wait_s

_SPIN_ON_CPU0 = "import os, time\nos.sched_setaffinity(0, {0})\nt = time.time()\nwhile time.time() - t < 1.5: pass"


def test_two_processes_sharing_one_cpu_each_wait_for_it():
    spinners = [subprocess.Popen([sys.executable, "-c", _SPIN_ON_CPU0]) for _ in range(2)]
    try:
        time.sleep(1.0)
        waits = [cpu_wait_s(p.pid) for p in spinners]
    finally:
        for p in spinners:
            p.kill()
            p.wait()
    assert all(w is not None and w >= 0.2 for w in waits), waits  # ~0.5 s each: half of a shared second


def test_a_process_that_sleeps_waits_for_no_cpu_and_a_gone_one_has_no_figure():
    code = "import time\nprint('sleeping', flush=True)\ntime.sleep(3)"
    sleeper = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert sleeper.stdout is not None and sleeper.stdout.readline() == "sleeping\n"
        before = cpu_wait_s(sleeper.pid)  # its interpreter's start-up may have waited on a busy machine
        time.sleep(1.0)
        after = cpu_wait_s(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert before is not None and after is not None and after - before < 0.05
    assert cpu_wait_s(sleeper.pid) is None
