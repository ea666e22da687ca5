"""The command a run records to reproduce itself: only when the process is the `harness` command."""

from __future__ import annotations

import pytest

from harness.engine._flags import command_line


@pytest.mark.parametrize(("argv0", "recorded"), [
    ("/venv/bin/harness", "harness rollout --rps 100"),
    ("/repo/harness/__main__.py", "harness rollout --rps 100"),  # python -m harness
    ("/venv/lib/python3.11/site-packages/pytest/__main__.py", ""),  # python -m pytest calling cli.main
    ("-c", ""),
])  # fmt: skip
def test_only_the_harness_command_records_its_command_line(monkeypatch: pytest.MonkeyPatch, argv0: str,
                                                            recorded: str) -> None:
    monkeypatch.setattr("sys.argv", [argv0, "rollout", "--rps", "100"])
    assert command_line() == recorded
    assert command_line(["gate", "reports/latest"]) == "harness gate reports/latest"
