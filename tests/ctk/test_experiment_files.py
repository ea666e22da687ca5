"""CTK experiment files as `harness gameday` reads them: chaostoolkit-lib's validation plus the topology's links."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness._exceptions import ExperimentError
from harness.ctk._experiment import is_ctk_experiment, load_ctk_experiment, toxiproxy_configuration

LINKS = {"client->edge", "ai-routing-engine->internal-ai.primary"}

# Written from Chaos Toolkit's and chaostoolkit-toxiproxy's documentation.
EXPERIMENT = {
    "version": "1.0.0",
    "title": "The primary AI region is slow",
    "description": "Routing must keep p95 under 100 ms when the primary region adds latency.",
    "configuration": {"toxiproxy_host": "127.0.0.1"},
    "steady-state-hypothesis": {"title": "healthy", "probes": [
        {"type": "probe", "name": "edge-answers", "tolerance": 0,
         "provider": {"type": "process", "path": "true"}}]},
    "method": [
        {"type": "action", "name": "slow-primary",
         "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "create_latency_toxic",
                      "arguments": {"for_proxy": "ai-routing-engine->internal-ai.primary",
                                    "toxic_name": "slow", "latency": 300}},
         "pauses": {"after": 10}},
    ],
    "rollbacks": [
        {"type": "action", "name": "remove-slow",
         "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "delete_toxic",
                      "arguments": {"for_proxy": "ai-routing-engine->internal-ai.primary", "toxic_name": "slow"}}},
    ],
}


def test_a_ctk_file_is_told_from_a_harness_experiment() -> None:
    assert is_ctk_experiment(EXPERIMENT)
    harness_file = yaml.safe_load((Path(__file__).resolve().parents[2] / "chaos" / "region-outage.yaml").read_text())
    assert not is_ctk_experiment(harness_file)


def test_yaml_ctk_experiment_loads_with_its_pauses_and_rollbacks(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(yaml.safe_dump(EXPERIMENT))
    experiment = load_ctk_experiment(path, LINKS)
    assert experiment["method"][0]["pauses"] == {"after": 10}
    assert experiment["rollbacks"][0]["provider"]["func"] == "delete_toxic"


def test_every_unknown_link_and_create_proxy_is_named_in_one_error(tmp_path: Path) -> None:
    bad = {**EXPERIMENT, "method": [
        {**EXPERIMENT["method"][0], "provider": {**EXPERIMENT["method"][0]["provider"],
                                                 "arguments": {"for_proxy": "client->nowhere", "toxic_name": "x",
                                                               "latency": 1}}},
        {"type": "action", "name": "new-proxy",
         "provider": {"type": "python", "module": "chaostoxi.proxy.actions", "func": "create_proxy",
                      "arguments": {"proxy_name": "p", "upstream_host": "127.0.0.1", "upstream_port": 1}}},
    ]}
    path = tmp_path / "bad.json"
    import json

    path.write_text(json.dumps(bad))
    with pytest.raises(ExperimentError) as err:
        load_ctk_experiment(path, LINKS)
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and all(line.startswith(f"{path}: ") for line in lines)  # one line per problem
    assert "method[0]: no link 'client->nowhere'" in lines[0]
    assert "method[1]: create_proxy is refused" in lines[1]


def test_chaostoolkit_lib_validation_errors_are_one_line(tmp_path: Path) -> None:
    path = tmp_path / "nodesc.json"
    import json

    path.write_text(json.dumps({k: v for k, v in EXPERIMENT.items() if k != "description"}))
    with pytest.raises(ExperimentError, match="experiment requires a description"):
        load_ctk_experiment(path, LINKS)


def test_toxiproxy_configuration_points_at_the_harness_server() -> None:
    assert toxiproxy_configuration("http://127.0.0.1:18474/") == {
        "toxiproxy_url": "http://127.0.0.1:18474", "toxiproxy_host": "127.0.0.1", "toxiproxy_port": 18474}


def test_without_the_ctk_extra_a_ctk_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """A base install (no chaostoolkit-lib) names the missing extra for validate and gameday, never a traceback."""
    import subprocess
    import sys

    hide = (  # chaoslib and chaostoxi are not importable, as in `pip install xynergy-harness` without [ctk]
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('chaoslib', 'chaostoxi'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        "from harness.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    example = Path(__file__).resolve().parents[2] / "chaos" / "ctk" / "latency-on-ai-routing.json"
    for args in (["validate", str(example)], ["gameday", str(example), "--out", str(tmp_path)]):
        run = subprocess.run([sys.executable, "-c", hide, *args], capture_output=True, text=True, timeout=60)
        assert run.returncode == 2, run.stderr
        assert "pip install 'xynergy-harness[ctk]'" in run.stderr and "Traceback" not in run.stderr
        assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("func", ["delete_proxy", "modify_proxy"])
def test_proxy_changes_no_rollback_could_undo_are_refused_before_anything_starts(tmp_path: Path, func: str) -> None:
    # a run restores toxics and the enabled flag on every stop path, not a deleted or redirected link
    import json

    change = {"type": "action", "name": "change-proxy",
              "provider": {"type": "python", "module": "chaostoxi.proxy.actions", "func": func,
                           "arguments": {"proxy_name": "client->edge"}}}  # fmt: skip
    path = tmp_path / "change.json"
    path.write_text(json.dumps({**EXPERIMENT, "method": [*EXPERIMENT["method"], change]}))
    with pytest.raises(ExperimentError, match=f"method\\[1\\]: {func} is refused"):
        load_ctk_experiment(path, LINKS)


@pytest.mark.parametrize("field", [{"extensions": 5}, {"configuration": [1, 2]}])
def test_a_wrongly_shaped_field_chaoslib_trips_over_is_one_line_not_a_traceback(tmp_path: Path, field: dict) -> None:
    import json

    path = tmp_path / "shape.json"
    path.write_text(json.dumps({**EXPERIMENT, **field}))
    with pytest.raises(ExperimentError) as err:
        load_ctk_experiment(path, LINKS)
    assert len(str(err.value).splitlines()) == 1 and str(err.value).startswith(f"{path}: ")
