"""The CI examples parse, judge a pull request against its base, and avoid the known CI traps."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from xynergy.defects import PRESETS

CI = Path(__file__).resolve().parents[2] / "examples" / "ci"
INJECTABLE = re.compile(r"\$\{\{")  # any expression inside run: is pasted into the script before bash sees it


def _github() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CI / "github-actions.yml").read_text())
    return data


def _gitlab() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((CI / "gitlab-ci.yml").read_text())
    return data


def _steps() -> list[dict[str, Any]]:
    return [step for job in _github()["jobs"].values() for step in job["steps"]]


def test_no_github_expression_is_pasted_into_a_run_script() -> None:
    runs = [step["run"] for step in _steps() if "run" in step]
    assert runs, "no run steps found"
    for script in runs:
        assert not INJECTABLE.search(script), script
    job = _github()["jobs"]["rollout"]
    assert "inputs.canary_defect" in job["env"]["CANARY_DEFECT"]  # the input arrives through env:


def test_the_defect_input_offers_every_preset_including_breaker_off() -> None:
    # yaml 1.1 reads the bare key `on` as True
    inputs = _github()[True]["workflow_dispatch"]["inputs"]["canary_defect"]
    assert set(PRESETS) <= set(inputs["options"])
    for name in PRESETS:
        assert name in inputs["description"]


def test_a_pull_request_is_judged_against_its_base_in_both_examples() -> None:
    github_run = next(step["run"] for step in _steps() if "harness rollout" in step.get("run", ""))
    gitlab_run = " ".join(_gitlab()["rollout"]["script"])
    for script in (github_run, gitlab_run):
        assert '--baseline-ref "$' in script and "--canary-ref HEAD" in script
        assert '--rps "$RATE"' in script
    assert _github()["jobs"]["rollout"]["env"]["RATE"] == "100"
    assert _gitlab()["rollout"]["variables"]["RATE"] == "100"


def test_reports_are_published_from_literal_paths_never_through_latest() -> None:
    upload = next(step for step in _steps() if str(step.get("uses", "")).startswith("actions/upload-artifact"))
    assert "latest" not in upload["with"]["path"]
    gate = next(step["run"] for step in _steps() if "harness gate" in step.get("run", ""))
    assert "latest" not in gate
    artifacts = _gitlab()["rollout"]["artifacts"]
    assert "latest" not in artifacts["reports"]["junit"] and all("latest" not in p for p in artifacts["paths"])


def test_dependencies_and_revision_builds_are_cached() -> None:
    steps = _steps()
    setup = next(step for step in steps if str(step.get("uses", "")).startswith("actions/setup-python"))
    assert setup["with"]["cache"] == "pip"
    cached = [step["with"]["path"] for step in steps if str(step.get("uses", "")).startswith("actions/cache")]
    assert ".venv" in cached and ".cache/xynergy-harness" in cached
    gitlab_paths = [p for entry in _gitlab()["rollout"]["cache"] for p in entry["paths"]]
    assert ".venv/" in gitlab_paths and ".cache/xynergy-harness/" in gitlab_paths
