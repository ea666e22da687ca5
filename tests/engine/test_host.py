"""The host-CPU figure that tells a starved generator from a slow platform."""

from __future__ import annotations

import psutil
import pytest

from harness.engine._host import HostCPU, busy_percent


def _times(**fields: float) -> object:
    now = psutil.cpu_times()
    return type(now)(**{name: fields.get(name, 0.0) for name in now._fields})


def test_niced_work_yields_to_a_normal_priority_run_but_not_to_a_niced_one():
    start = _times()
    # 10 s of two cores: 6 s of normal work, 10 s of niced work (a build asked to yield), 4 s idle
    end = _times(user=6.0, nice=10.0, idle=4.0)
    assert busy_percent(start, end, nice_yields=True) == pytest.approx(30.0)
    assert busy_percent(start, end, nice_yields=False) == pytest.approx(80.0)


def test_iowait_is_idle_and_an_empty_window_has_no_figure():
    start = _times()
    assert busy_percent(start, _times(system=5.0, iowait=5.0), nice_yields=True) == 50.0
    assert busy_percent(start, start, nice_yields=True) is None


def test_the_live_figure_is_a_share():
    cpu = HostCPU()
    sum(i * i for i in range(200_000))  # some CPU time passes
    value = cpu.percent()
    assert value is None or 0.0 <= value <= 100.0
