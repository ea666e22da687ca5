"""D5/D12: the gate recomputes the verdict, refuses inconsistent or hostile summaries, escapes markup."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from harness.cli import main


def check(name: str = "latency-p95", verdict: str = "pass") -> dict[str, Any]:
    return {"name": name, "verdict": verdict, "value": 80.0, "objective": 100.0, "op": "lt", "unit": "ms",
            "samples": 500, "scope": "revision=canary", "kind": "slo", "detail": "", "extra": {}}


def stage(weight: int, verdict: str = "pass", checks: list | None = None, **extra: Any) -> dict[str, Any]:
    return {"weight": weight, "name": f"stage-{weight}", "verdict": verdict, "complete": True, "incomplete_reason": "",
            "started_at": 1.0, "ended_at": 2.0, "requests": {}, "checks": [check()] if checks is None else checks,
            "comparisons": [], "cost": [], "cost_by_revision": {}, "report": f"stage-{weight}/report.json", **extra}


def summary(**fields: Any) -> dict[str, Any]:
    data = {"schema_version": 1, "kind": "rollout", "run_id": "r-1", "verdict": "pass", "exit_code": 0,
            "complete": True, "incomplete_reason": "", "rolled_back": False, "reason": "promoted to 100 %",
            "started_at": 1.0, "ended_at": 9.0, "duration_s": 8.0, "config": {},
            "stages": [stage(10), stage(50), stage(100)], "failed_checks": [], "run": {"checks": []}}
    data.update(fields)
    return data


def write(tmp_path: Path, data: dict[str, Any] | bytes, name: str = "run") -> Path:
    run_dir = tmp_path / name
    run_dir.mkdir(parents=True, exist_ok=True)
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    (run_dir / "summary.json").write_bytes(raw)
    return run_dir


def gate(run_dir: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    code = main(["gate", *flags, str(run_dir)])
    out, err = capsys.readouterr()
    return code, out, err


def test_an_honest_pass_opens_the_gate_and_an_honest_fail_exits_1(tmp_path: Path, capsys) -> None:
    assert gate(write(tmp_path, summary()), capsys)[0] == 0
    failed = summary(verdict="fail", exit_code=1, stages=[stage(10, "fail", [check(verdict="fail")])],
                     failed_checks=[{"stage": 10, "name": "latency-p95", "verdict": "fail"}])
    assert gate(write(tmp_path, failed, "f"), capsys)[0] == 1


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda s: s["stages"][1]["checks"].append(check("error-ratio", "fail")), "stages[1] says pass but"),
        (lambda s: s["stages"][2].update(verdict="fail"), "stages[2]"),
        (lambda s: s["stages"][0].update(complete=False), "stages[0] says pass but stages[0] is incomplete"),
        (lambda s: s["stages"][0].update(checks=[]), "stages[0] says pass but stages[0] judged nothing"),
        (lambda s: s.update(exit_code=2), "verdict pass but exit_code 2"),
        (lambda s: s.update(stages=[]), "no stage ran"),
        (lambda s: s["run"]["checks"].append(check("cold-start", "inconclusive")), "run.checks[0]"),
        (lambda s: s["failed_checks"].append({"name": "x", "verdict": "fail"}), "failed_checks"),
    ],
)
def test_a_pass_claim_the_checks_do_not_support_is_rejected_with_exit_2(tmp_path: Path, capsys, mutate, why) -> None:
    data = summary()
    mutate(data)
    code, out, err = gate(write(tmp_path, data), capsys)
    assert code == 2 and "inconsistent" in err and why in err, err
    assert len(err.strip().splitlines()) == 1 and "passed" not in out


@pytest.mark.parametrize("marker", [{"complete": False}, {"incomplete": True}])
def test_an_incomplete_run_exits_2_whatever_it_claims(tmp_path: Path, capsys, marker: dict) -> None:
    data = summary(verdict="inconclusive", exit_code=2, **marker)
    code, out, _ = gate(write(tmp_path, data), capsys)
    assert code == 2 and "incomplete" in out


def test_an_incomplete_run_claiming_exit_0_is_named_as_such(tmp_path: Path, capsys) -> None:
    code, _, err = gate(write(tmp_path, summary(complete=False, verdict="fail", exit_code=0)), capsys)
    assert code == 2 and "inconsistent: an incomplete run but exit_code 0" in err


def test_gate_kind_refuses_a_report_of_the_other_kind(tmp_path: Path, capsys) -> None:
    run_dir = write(tmp_path, summary())
    assert gate(run_dir, capsys, "--kind", "rollout")[0] == 0
    code, _, err = gate(run_dir, capsys, "--kind", "gameday")
    assert code == 2 and "a 'rollout' report, not a gameday report" in err


def test_gate_kind_defaults_to_the_latest_report_of_that_kind(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    rollout = write(tmp_path / "reports", summary(), "r1")
    gameday = write(tmp_path / "reports", summary(kind="gameday", stages=[], checks=[check("failover")]), "g1")
    (tmp_path / "reports" / "latest").symlink_to(gameday.name)
    (tmp_path / "reports" / "latest-rollout").symlink_to(rollout.name)
    assert main(["gate", "--kind", "rollout"]) == 0
    assert "rollout r-1 passed" in capsys.readouterr().out
    (tmp_path / "reports" / "latest-rollout").unlink()
    assert main(["gate", "--kind", "rollout"]) == 2  # falls back to `latest`, a game day: refused


def test_a_game_day_is_recomputed_from_its_run_level_checks(tmp_path: Path, capsys) -> None:
    data = summary(kind="gameday", stages=[], checks=[check("failover"), check("steady", "fail")])
    code, _, err = gate(write(tmp_path, data), capsys)
    assert code == 2 and "checks[1] ('steady') is fail" in err


HOSTILE = {
    "non-utf8": b'{"run_id": "\xff\xfe"}',
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "huge-number": b'{"schema_version": ' + b"9" * 100_000 + b"}",
    "not-an-object": b"[1, 2]",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
@pytest.mark.parametrize("command", ["gate", "report"])
def test_hostile_summaries_are_one_line_exit_2_from_gate_and_report(tmp_path: Path, capsys, name: str, command: str) -> None:
    run_dir = write(tmp_path, HOSTILE[name])
    assert main([command, str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and str(run_dir) in err and "Traceback" not in err


def test_markup_in_run_id_and_names_is_printed_not_rendered(tmp_path: Path, capsys) -> None:
    data = summary(run_id="[red]r[/red] [link=http://x]y[/link]", verdict="fail", exit_code=1,
                   stages=[stage(10, "fail", [check("[bold]evil[/bold]", "fail")])])
    data["stages"][0]["checks"][0]["scope"] = "[blink]s"
    code, out, _ = gate(write(tmp_path, data), capsys)
    assert code == 1
    assert "[red]r[/red]" in out and "[bold]evil[/bold]" in out and "[blink]s" in out


def test_the_gate_does_not_modify_the_summary(tmp_path: Path, capsys) -> None:
    data = summary()
    run_dir = write(tmp_path, data)
    gate(run_dir, capsys)
    assert json.loads((run_dir / "summary.json").read_text()) == copy.deepcopy(data)
