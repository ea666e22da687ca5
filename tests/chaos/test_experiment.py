"""Experiment files: every problem is named (file, field) before any fault runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from harness._exceptions import ExperimentError
from harness.chaos._experiment import parse_duration
from harness.chaos._loader import load_experiment, parse_experiment

LINKS = {"ai-routing-engine->internal-ai.primary", "edge->security-governance"}
PROCESSES = {"edge", "ai-routing-engine"}


def minimal(**overrides: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "title": "region outage",
        "description": "primary AI region goes away",
        "method": [
            {"name": "primary down", "at": "10s", "for": "20s", "link": "ai-routing-engine->internal-ai.primary",
             "action": "down", "judge": ["failover", "recovery"]},
        ],
    }
    doc.update(overrides)
    return doc


def error_of(doc: object, **kwargs: Any) -> str:
    with pytest.raises(ExperimentError) as info:
        parse_experiment(doc, "chaos/x.yaml", **kwargs)
    assert info.value.exit_code == 2
    return str(info.value)


def test_a_minimal_experiment_parses_into_typed_actions() -> None:
    exp = parse_experiment(minimal(), "chaos/x.yaml")
    [action] = exp.method
    assert (action.at, action.duration, action.end, action.action) == (10.0, 20.0, 30.0, "down")
    assert action.is_fault and action.judge == ("failover", "recovery")
    assert exp.method_end == 30.0 and exp.steady_state is None


@pytest.mark.parametrize(("text", "seconds"), [("20s", 20.0), ("500ms", 0.5), ("1.5s", 1.5), ("2m", 120.0)])
def test_durations_read_the_same_everywhere(text: object, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bare", [7, "3", 1.5])
def test_a_bare_number_is_refused_as_a_duration_naming_the_field(bare: object) -> None:
    doc = minimal()
    doc["method"][0]["at"] = bare
    message = error_of(doc)
    assert message.startswith("chaos/x.yaml: method[0].at: ") and ("ambiguous" in message or "500ms" in message)


def test_the_title_is_required() -> None:
    doc = minimal()
    del doc["title"]
    assert error_of(doc) == "chaos/x.yaml: title: required field is missing"


def test_an_unknown_top_level_field_is_named() -> None:
    assert "chaos/x.yaml: steady-state: unknown field" in error_of(minimal(**{"steady-state": {}}))


def test_a_bad_offset_names_the_action_field() -> None:
    doc = minimal()
    doc["method"][0]["at"] = "soon"
    assert error_of(doc).startswith("chaos/x.yaml: method[0].at: expected a duration")


def test_an_action_needs_exactly_one_target() -> None:
    doc = minimal()
    doc["method"][0]["process"] = "edge"
    assert "method[0]: give exactly one target" in error_of(doc)


def test_a_process_action_on_a_link_is_refused() -> None:
    doc = minimal()
    doc["method"][0]["action"] = "freeze"
    assert "method[0].action: 'freeze' is not an action on a link" in error_of(doc)


def test_an_unknown_toxic_type_is_refused() -> None:
    doc = minimal()
    doc["method"][0].update(action="toxic", toxic={"type": "lag"})
    assert "method[0].toxic.type: unknown toxic 'lag'" in error_of(doc)


def test_an_attribute_the_toxic_does_not_have_is_refused() -> None:
    doc = minimal()
    doc["method"][0].update(action="toxic", toxic={"type": "latency", "attributes": {"rate": 5}})
    assert "method[0].toxic.attributes.rate: unknown field" in error_of(doc)


def test_a_negative_toxic_attribute_is_refused() -> None:
    doc = minimal()
    doc["method"][0].update(action="toxic", toxic={"type": "latency", "attributes": {"latency": -5}})
    assert "method[0].toxic.attributes.latency: expected a non-negative integer" in error_of(doc)


def test_a_slicer_with_average_size_zero_is_refused() -> None:
    doc = minimal()
    doc["method"][0].update(action="toxic", toxic={"type": "slicer", "attributes": {"average_size": 0}})
    assert "average_size: must be at least 1" in error_of(doc)


def test_toxicity_must_be_a_probability() -> None:
    doc = minimal()
    doc["method"][0].update(action="toxic", toxic={"type": "latency", "toxicity": 1.5})
    assert "method[0].toxic.toxicity: must be between 0 and 1" in error_of(doc)


def test_names_are_checked_against_the_topology() -> None:
    doc = minimal()
    doc["method"][0]["link"] = "edge->nowhere"
    assert "method[0].link: no link 'edge->nowhere' in the topology" in error_of(doc, links=LINKS, processes=PROCESSES)
    doc["method"][0] = {"at": "1s", "process": "ghost", "action": "kill"}
    assert "method[0].process: no instance 'ghost'" in error_of(doc, links=LINKS, processes=PROCESSES)


def test_recovery_cannot_be_judged_for_a_fault_that_is_never_removed() -> None:
    doc = minimal()
    del doc["method"][0]["for"]
    assert "method[0].judge: judging recovery needs `for`" in error_of(doc)


def test_a_load_duration_shorter_than_the_method_is_refused() -> None:
    assert "load.duration: 20s is shorter than the method" in error_of(minimal(load={"duration": "20s"}))


def test_a_fault_too_short_for_the_healthy_rule_cannot_judge_failover() -> None:
    doc = minimal()
    doc["method"][0]["for"] = "4s"
    assert "method[0].for: 4s is too short to judge failover: the healthy-window rule needs 5s" in error_of(doc)


def test_a_load_that_ends_before_recovery_could_show_is_refused() -> None:
    assert "load.duration: 33s leaves no room to judge recovery: it needs at least 35s" in error_of(
        minimal(load={"duration": "33s"})
    )


def test_rollbacks_cannot_inject_faults() -> None:
    doc = minimal(rollbacks=[{"process": "edge", "action": "kill"}])
    assert "rollbacks[0].action: 'kill' is not an action on a process here" in error_of(doc)


def test_checks_name_unknown_metrics_and_bad_patterns() -> None:
    bad_metric = minimal(checks=[{"metric": "p50", "op": "lt", "value": 1}])
    assert "checks[0].metric: unknown metric 'p50'" in error_of(bad_metric)
    bad_regex = minimal(checks=[{"metric": "successes", "op": "lte", "value": 0, "requests": "("}])
    assert "checks[0].requests: not a valid regular expression" in error_of(bad_regex)


def test_the_steady_state_needs_slo_names() -> None:
    assert "steady-state-hypothesis.slos: required" in error_of(minimal(**{"steady-state-hypothesis": {"slos": []}}))


def test_a_file_that_is_not_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("title: [unclosed\n")
    with pytest.raises(ExperimentError, match=r"bad.yaml: line \d+: not valid YAML"):
        load_experiment(path)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ExperimentError, match="nope.yaml: cannot read file"):
        load_experiment(tmp_path / "nope.yaml")


def test_a_document_that_is_a_list_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "list.yaml"
    path.write_text(yaml.safe_dump([1, 2]))
    with pytest.raises(ExperimentError, match=r"\(top level\): expected a mapping"):
        load_experiment(path)
