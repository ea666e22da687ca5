"""`harness validate` reports every problem of every file, and knows an empty directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._exceptions import ExperimentError, TopologyError
from harness.chaos._loader import parse_experiment
from harness.cli import main
from harness.topology import parse_topology

ROOT = Path(__file__).resolve().parents[2]

EXPERIMENT = """\
title: two links
description: both faults target links of a custom topology
method:
  - {name: web down, action: down, link: client->front, at: 5s, for: 10s}
  - {name: db slow, action: toxic, link: front->ai-routing-engine, at: 5s, for: 10s, toxic: {type: latency, attributes: {latency: 50}}}
load: {duration: 30s, rps: 5}
"""

TOPOLOGY = """\
name: custom
entry: front
services:
  front: {service: edge, upstreams: [ai-routing-engine]}
  ai-routing-engine: {service: ai-routing-engine}
redis: {mode: off}
"""


def test_an_empty_directory_is_exit_2_no_definitions_found(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "no definitions found" in err and str(tmp_path) in err


def test_validate_reads_upper_case_yaml_suffixes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "LATENCY.YAML").write_text((ROOT / "slos" / "latency.yaml").read_text())
    assert main(["validate", str(tmp_path)]) == 0
    assert "LATENCY.YAML (SLO: latency-p95)" in capsys.readouterr().out


def test_every_problem_of_every_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    a.write_text(EXPERIMENT.replace("at: 5s, for: 10s}", "at: soon, for: 10s}", 1).replace("rps: 5", "rps: 0"))
    b.write_text("services:\n  edge: {service: edge, port: 0, colour: red, shape: round}\n  x: {service: nope}\n")
    assert main(["validate", str(a), str(b)]) == 2
    err = capsys.readouterr().err
    for expected in (f"{a}: method[0].", f"{a}: method[1].link: no link", f"{a}: load.rps:", f"{b}: services.edge.colour: unknown field",
                     f"{b}: services.edge.shape: unknown field", f"{b}: services.x.service: unknown service"):
        assert expected in err, err
    assert "Traceback" not in err


def test_validate_with_a_topology_checks_experiments_against_its_links(tmp_path: Path, capsys) -> None:
    topo, exp = tmp_path / "topo.yaml", tmp_path / "exp.yaml"
    topo.write_text(TOPOLOGY)
    exp.write_text(EXPERIMENT)
    assert main(["validate", "--topology", str(topo), str(exp)]) == 0
    assert f"ok: {exp} (ChaosExperiment)" in capsys.readouterr().out
    # against the shipped topology neither link exists: both are named, not just the first
    assert main(["validate", str(exp)]) == 2
    err = capsys.readouterr().err
    assert "method[0].link: no link 'client->front'" in err and "method[1].link: no link 'front->ai-routing-engine'" in err


def test_validate_with_a_broken_topology_reports_it_and_still_checks_the_rest(tmp_path: Path, capsys) -> None:
    topo, exp = tmp_path / "topo.yaml", tmp_path / "exp.yaml"
    topo.write_text("services:\n  front: {service: edge, port: -1}\n")
    exp.write_text(EXPERIMENT.replace("title: two links\n", ""))
    assert main(["validate", "--topology", str(topo), str(exp)]) == 2
    err = capsys.readouterr().err
    assert f"{topo}: services.front.port" in err and f"{exp}: title: required" in err


def test_an_experiment_reports_all_its_problems_at_once() -> None:
    doc = {
        "title": "t", "description": "d", "colour": "red",
        "method": [{"action": "down", "link": "a", "at": "1s"}, {"action": "melt", "link": "a", "at": "1s"}],
        "checks": [{"metric": "nope", "op": "lt", "value": 1}],
    }  # fmt: skip
    with pytest.raises(ExperimentError) as info:
        parse_experiment(doc, "x.yaml")
    fields = [p.field for p in info.value.problems]
    assert fields == ["colour", "method[1].action", "checks[0].metric"]
    assert str(info.value).splitlines() == [str(p) for p in info.value.problems]


def test_a_topology_reports_all_its_problems_at_once() -> None:
    data = {"services": {"a": {"service": "edge", "port": 99999}, "b": {"service": "edgy"}}, "redis": {"mode": "x"}}
    with pytest.raises(TopologyError) as info:
        parse_topology(data, source="t.yaml")
    assert [p.field for p in info.value.problems] == ["services.a.port", "services.b.service", "entry", "redis.mode"]


def test_every_field_problem_of_one_action_is_reported() -> None:
    doc = {
        "title": "t", "description": "d",
        "method": [{"action": "toxic", "link": "nowhere", "at": "soon", "for": "-1s", "judge": ["vibes"],
                    "toxic": {"type": "latency", "attributes": {"latency": -5}}}],
    }  # fmt: skip
    with pytest.raises(ExperimentError) as info:
        parse_experiment(doc, "x.yaml", links=["client->edge"])
    assert [p.field for p in info.value.problems] == [
        "method[0].link", "method[0].at", "method[0].for", "method[0].toxic.attributes.latency", "method[0].judge",
    ]


def test_an_slo_reports_its_independent_problems_at_once(tmp_path: Path) -> None:
    from harness._exceptions import SLOFileError
    from harness.slo import load_slos

    text = (ROOT / "slos" / "latency.yaml").read_text()
    bad = text.replace("name: latency-p95\n", "name: Latency_P95\n", 1).replace("Occurrences", "Sometimes")
    bad = bad.replace("duration: 10m", "duration: 10s")
    path = tmp_path / "slo.yaml"
    path.write_text(bad)
    with pytest.raises(SLOFileError) as info:
        load_slos(path)
    assert [p.field for p in info.value.problems] == [
        "metadata.name", "spec.budgetingMethod", "spec.timeWindow[0].duration",
    ]
