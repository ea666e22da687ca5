"""The state file and cold-start statistics: small pure pieces with exact answers."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from harness._exceptions import ConfigError
from harness._verdicts import Verdict
from harness.topology import ColdStart, read_state, summarize, write_state
from harness.topology._coldstart import judge_cold_starts

SLO = Path(__file__).resolve().parents[2] / "slos/cold-start.yaml"
STATE = {"supervisor": {"pid": 1, "create_time": 0.0}, "control_url": "http://127.0.0.1:1", "api_key": "k",
         "edge_url": "http://127.0.0.1:2", "toxiproxy_url": "http://127.0.0.1:3", "instances": {}, "links": {}}


def test_the_state_file_round_trips_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "deep/state.json"
    write_state(path, STATE)
    assert read_state(path)["api_key"] == "k"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


@pytest.mark.parametrize(("content", "problem"), [
    (None, "no platform is up"),
    ("{not json", "unreadable state file"),
    ('{"version": 99}', "not a state file of this harness"),
    ('{"version": 1, "api_key": "k"}', "missing from state file"),
])
def test_a_bad_state_file_is_named_with_its_problem(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "state.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError, match=problem) as info:
        read_state(path)
    assert str(path) in str(info.value)


def starts(name: str, ready: list[float]) -> list[ColdStart]:
    return [ColdStart(name, 100 + i, 0.0, r, r + 0.05) for i, r in enumerate(ready)]


def test_summaries_are_min_median_max_per_instance() -> None:
    (a, b) = summarize(starts("a", [0.9, 0.5, 3.0]) + starts("b", [1.0]))
    assert (a.instance, a.n, a.ready_min_s, a.ready_median_s, a.ready_max_s) == ("a", 3, 0.5, 0.9, 3.0)
    assert a.first_ok_median_s == pytest.approx(0.95)
    assert (b.ready_min_s, b.ready_median_s, b.ready_max_s) == (1.0, 1.0, 1.0)


def test_the_worst_start_is_judged_against_the_cold_start_slo() -> None:
    summaries = summarize(starts("slow", [0.5, 0.6, 2.5]) + starts("fast", [0.4, 1.9]))
    checks = judge_cold_starts(summaries, SLO)
    assert checks["slow"].verdict is Verdict.FAIL and checks["slow"].value == 2.5
    assert checks["fast"].verdict is Verdict.PASS and checks["fast"].objective == 2
    assert checks["fast"].scope == "instance=fast" and checks["fast"].kind == "coldstart"
    by_median = judge_cold_starts(summaries, SLO, statistic="median")
    assert by_median["slow"].verdict is Verdict.PASS
