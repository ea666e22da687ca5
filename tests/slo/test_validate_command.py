"""`harness validate`: SLO files and any kind registered with register_file_validator."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness._exceptions import ConfigError
from harness.cli import main
from harness.slo import register_file_validator


def _strict_widget(path: Path) -> None:
    if "colour: blue" not in path.read_text():
        raise ConfigError("must be blue", source=str(path), field="colour")


def test_a_registered_kind_is_checked_by_its_validator(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_file_validator("TestWidget", _strict_widget)
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text("kind: TestWidget\ncolour: blue\n")
    bad.write_text("kind: TestWidget\ncolour: red\n")
    assert main(["validate", str(good)]) == 0
    assert f"ok: {good} (TestWidget)" in capsys.readouterr().out
    assert main(["validate", str(good), str(bad)]) == 2
    assert capsys.readouterr().err == f"harness: error: {bad}: colour: must be blue\n"


def test_files_without_a_kind_go_to_the_validator_that_detects_them(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    register_file_validator("TestGadget", lambda path: None, detect=lambda doc: "gadget" in doc)
    path = tmp_path / "g.yaml"
    path.write_text("gadget: 1\n")
    assert main(["validate", str(path)]) == 0
    assert "(TestGadget)" in capsys.readouterr().out


def test_an_unknown_kind_is_one_line_naming_file_and_field(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "x.yaml"
    path.write_text("kind: Nonsense\n")
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"harness: error: {path}: kind: 'Nonsense' is not a kind harness validate knows")
    assert len(err.splitlines()) == 1


def test_a_missing_path_and_broken_yaml_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 2
    assert f"{tmp_path / 'nope.yaml'}: no such file or directory" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1,\n")
    assert main(["validate", str(broken)]) == 2
    assert capsys.readouterr().err.startswith(f"harness: error: {broken}: line ")
