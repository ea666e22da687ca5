"""The run's event registry: typed payloads, listeners in order, a failing listener never stops the rest."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from harness.engine import Events, WeightSet
from harness.engine._engine import Engine
from harness.engine._load import LoadSettings


def test_listeners_get_the_typed_payload_in_the_order_they_were_added() -> None:
    events, seen = Events(), []
    events.weight_set.add_listener(lambda e: seen.append(("first", e.service, e.percent)))
    events.weight_set.add_listener(lambda e: seen.append(("second", e.service, e.percent)))
    events.weight_set.fire(WeightSet("security-governance", 10, "edge", "stage"))
    assert seen == [("first", "security-governance", 10), ("second", "security-governance", 10)]


def test_a_listener_that_raises_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    events, seen = Events(), []

    def broken(e: WeightSet) -> None:
        raise RuntimeError("listener bug")

    events.weight_set.add_listener(broken)
    events.weight_set.add_listener(lambda e: seen.append(e.percent))
    with caplog.at_level(logging.ERROR, logger="harness.engine"):
        events.weight_set.fire(WeightSet("svc", 50, "edge"))
    assert seen == [50] and "listener bug" in caplog.text


def test_each_run_owns_its_registry_and_journals_through_it(tmp_path: Path) -> None:
    one = Engine("rollout", "r1", tmp_path, LoadSettings())
    two = Engine("rollout", "r2", tmp_path, LoadSettings())
    one.events.weight_set.fire(WeightSet("svc", 10, "edge", "stage"))
    assert [label for _, label in one.journal] == ["stage: svc canary weight 10 %"]
    assert two.journal == []
