"""The command router with real commands: a tiny "platform" that keeps its split in a file."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from harness.routers import TrafficRouter
from harness.routers._errors import RouterError
from harness.routers.command import CommandRouter

# A stand-in for `gcloud`/`kubectl`: `set FILE SERVICE CANARY PERCENT` appends a line, `get FILE` prints the
# last percent. It writes every argument it got, so a name split into two words would show.
TOOL = """
import json, sys
verb, path = sys.argv[1], sys.argv[2]
if verb == "set":
    with open(path, "a") as f:
        f.write(json.dumps(sys.argv[3:]) + "\\n")
else:
    try:
        print("canary at", json.loads(open(path).read().splitlines()[-1])[-1], "%")
    except FileNotFoundError:
        print("canary at 25 %")
"""


@pytest.fixture
def tool(tmp_path: Path) -> tuple[str, Path]:
    script = tmp_path / "dir with space" / "tool.py"
    script.parent.mkdir()
    script.write_text(TOOL)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}", tmp_path / "dir with space" / "split.log"


def _calls(log: Path) -> list[list[str]]:
    import json

    return [json.loads(line) for line in log.read_text().splitlines()]


def test_each_weight_runs_the_template_and_restore_puts_back_the_percent_read_first(tool: tuple[str, Path]) -> None:
    cmd, log = tool
    router = CommandRouter(
        f"{cmd} set {shlex.quote(str(log))} {{service}} {{canary}}={{percent}},{{baseline}}={{baseline_percent}} "
        "{percent}",
        current_template=f"{cmd} get {shlex.quote(str(log))}",
        service="edge", baseline="edge-001", canary="edge-002",
    )
    assert isinstance(router, TrafficRouter)
    assert router.current().canary_percent == 25  # what the platform said before the rollout
    for percent in (10, 50):
        assert router.set_canary_percent(percent).canary_percent == percent
    router.restore()
    router.restore()  # idempotent: nothing more is run
    assert _calls(log) == [
        ["edge", "edge-002=10,edge-001=90", "10"],
        ["edge", "edge-002=50,edge-001=50", "50"],
        ["edge", "edge-002=25,edge-001=75", "25"],
    ]


def test_without_a_current_command_restore_uses_the_initial_percent(tool: tuple[str, Path]) -> None:
    cmd, log = tool
    router = CommandRouter(f"{cmd} set {shlex.quote(str(log))} {{percent}}", service="edge", initial_percent=0)
    router.set_canary_percent(10)
    router.restore()
    assert _calls(log) == [["10"], ["0"]]


@pytest.mark.parametrize("name", ["edge; touch pwned", "$(touch pwned)", "edge pwned", "`id`", "-rf"])
def test_a_name_that_could_inject_a_command_or_an_argument_is_refused(
    tool: tuple[str, Path], tmp_path: Path, name: str
) -> None:
    cmd, log = tool
    with pytest.raises(RouterError, match="only letters, digits"):
        CommandRouter(f"sh -c 'echo {{service}} > {log}' {{percent}}", service=name)
    assert not log.exists() and not (tmp_path / "pwned").exists()


def test_a_value_never_becomes_a_second_word(tool: tuple[str, Path]) -> None:
    cmd, log = tool
    # the only placeholder sits inside a quoted word with spaces: it stays one argument
    router = CommandRouter(f"{cmd} set {shlex.quote(str(log))} 'weight of {{service}} = {{percent}}'",
                           service="edge")
    router.set_canary_percent(10)
    assert _calls(log) == [["weight of edge = 10"]]


def test_bad_templates_and_failing_commands_are_one_line(tool: tuple[str, Path], tmp_path: Path) -> None:
    with pytest.raises(RouterError, match=r"unknown placeholder \{weight\}"):
        CommandRouter("kubectl argo rollouts set weight {service} {weight}", service="edge")
    with pytest.raises(RouterError, match="never says the weight"):
        CommandRouter("kubectl argo rollouts promote {service}", service="edge")
    with pytest.raises(RouterError, match="cannot split"):
        CommandRouter("echo 'unclosed {percent}", service="edge")
    failing = CommandRouter(f"{sys.executable} -c 'import sys; sys.exit(\"no such rollout: \" + sys.argv[1])' "
                            "{percent}", service="edge")
    with pytest.raises(RouterError) as err:
        failing.set_canary_percent(10)
    assert str(err.value) == f"edge: cannot set the canary to 10 %: {sys.executable} exited 1: no such rollout: 10"
    missing = CommandRouter("no-such-router-binary {percent}", service="edge")
    with pytest.raises(RouterError, match="command not found: no-such-router-binary"):
        missing.set_canary_percent(10)
