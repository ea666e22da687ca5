"""One YAML reader for every config file: YAML 1.2 booleans, hostile input in one line."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._config import load_yaml, load_yaml_documents, parse_yaml_documents, yaml_files
from harness._exceptions import ConfigError, ExperimentError, SLOFileError, TopologyError
from harness.chaos._loader import load_experiment
from harness.cli import main
from harness.slo import load_slos
from harness.topology import load_topology

ROOT = Path(__file__).resolve().parents[2]


def test_yaml_11_words_stay_strings_and_only_true_false_are_booleans() -> None:
    [doc] = parse_yaml_documents("a: off\nb: on\nc: yes\nd: no\ne: y\nf: true\ng: False\n", source="x")
    assert doc == {"a": "off", "b": "on", "c": "yes", "d": "no", "e": "y", "f": True, "g": False}


def test_redis_mode_off_works_in_a_topology_file(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("services:\n  edge: {service: edge}\nredis:\n  mode: off\n")
    topo = load_topology(path)
    assert topo.redis.mode == "off"
    path.write_text("services:\n  edge: {service: edge}\nredis: off\n")
    assert load_topology(path).redis.mode == "off"


def test_a_yaml_11_yes_in_a_boolean_field_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("services:\n  edge: {service: edge, redis: yes}\n")
    with pytest.raises(TopologyError, match=r"services\.edge\.redis: must be true or false, got 'yes'"):
        load_topology(path)


HOSTILE = {
    "non-utf8.yaml": b"title: \xff\xfe\n",
    "deep.yaml": b"a: " + b"[" * 100_000,
    "deep-block.yaml": b"".join(b"  " * i + b"k:\n" for i in range(2000)),
    "huge-int.yaml": b"title: x\nload: {rps: " + b"9" * 100_000 + b"}\n",
    "two-docs.yaml": b"a: 1\n---\nb: 2\n",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize(
    ("loader", "error"), [(load_experiment, ExperimentError), (load_topology, TopologyError), (load_slos, SLOFileError)]
)
def test_hostile_files_are_a_config_error_naming_the_file(tmp_path: Path, name: str, loader, error) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    with pytest.raises(error) as info:
        loader(path)
    assert str(info.value).startswith(str(path))


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_files_are_one_line_and_exit_2_from_validate(tmp_path: Path, name: str, capsys) -> None:
    path = tmp_path / name
    path.write_bytes(HOSTILE[name])
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(path) in err and "Traceback" not in err


def test_a_non_finite_number_is_refused_with_its_field(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text((ROOT / "slos" / "latency.yaml").read_text().replace("value: 100", "value: .inf"))
    with pytest.raises(SLOFileError, match=r"spec\.objectives\[0\]\.value: expected a finite number"):
        load_slos(path)


def test_upper_case_suffixes_are_read(tmp_path: Path) -> None:
    (tmp_path / "A.YAML").write_text("a: 1\n")
    (tmp_path / "b.Yml").write_text("b: 1\n")
    (tmp_path / "c.txt").write_text("c: 1\n")
    assert [p.name for p in yaml_files(tmp_path)] == ["A.YAML", "b.Yml"]


def test_load_yaml_reads_one_document_and_refuses_several(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("tiers: {small: 0.1}\n")
    assert load_yaml(path) == {"tiers": {"small": 0.1}}
    path.write_text("a: 1\n---\nb: 2\n")
    assert load_yaml_documents(path) == [{"a": 1}, {"b": 2}]
    with pytest.raises(ConfigError, match="expected one YAML document"):
        load_yaml(path)


def _alias_bomb(fields: list[str]) -> str:
    lines = ['l0: &l0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 10):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 9) + "]")
    return "\n".join(lines + [f"{f}: *l9" for f in fields]) + "\n"


@pytest.mark.parametrize(
    ("loader", "error", "fields"),
    [
        (load_experiment, ExperimentError, ["title", "tags", "method", "checks", "load", "healthy-window"]),
        (load_topology, TopologyError, ["services", "redis", "entry", "proxies", "toxiproxy"]),
        (load_slos, SLOFileError, ["apiVersion", "kind", "metadata", "spec"]),
    ],
)
def test_a_yaml_alias_bomb_is_refused_without_expanding_it(tmp_path: Path, loader, error, fields) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(fields))  # 9**10 leaves if anything walked it
    with pytest.raises(error) as info:
        loader(path)
    assert all(len(line) < 400 for line in str(info.value).splitlines())
    assert main(["validate", str(path)]) == 2
