"""Property tests: `harness gate` exits 0 only when the summary's own stages and checks support a pass.

Summaries are generated (random verdicts, completeness markers, exit codes,
failed-check rows) and mutated (random edits anywhere); whatever the input,
the gate returns 0/1/2 or raises `ReportError` (exit 2), never anything else.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from harness._exceptions import ReportError
from harness.report._gate import gate, print_gate
from tests.config.mutations import mutated
from tests.report.test_gate_consistency import check, stage, summary

BOUNDED = settings(
    max_examples=int(os.environ.get("HARNESS_PROPERTY_EXAMPLES", "50")), deadline=None, database=None,
    suppress_health_check=[HealthCheck.too_slow],
)  # fmt: skip
VERDICTS = st.sampled_from(["pass", "pass", "pass", "fail", "inconclusive"])
FLAGS = st.fixed_dictionaries({}, optional={"complete": st.booleans(), "incomplete": st.booleans()})


@st.composite
def stages(draw: st.DrawFn) -> dict[str, Any]:
    checks = draw(st.lists(VERDICTS.map(lambda v: check(verdict=v)), max_size=3))
    entry = stage(draw(st.sampled_from([10, 50, 100])), draw(VERDICTS), checks)
    entry.update(draw(FLAGS))
    entry["comparisons"] = draw(st.lists(VERDICTS.map(lambda v: check("compare/latency", v)), max_size=2))
    return entry


@st.composite
def summaries(draw: st.DrawFn) -> dict[str, Any]:
    data = summary(verdict=draw(VERDICTS), stages=draw(st.lists(stages(), max_size=3)))
    data.update(draw(FLAGS))
    code = draw(st.sampled_from([None, 0, 1, 2]))
    if code is None:
        del data["exit_code"]
    else:
        data["exit_code"] = code
    data["run"]["checks"] = draw(st.lists(VERDICTS.map(lambda v: check("cold-start", v)), max_size=2))
    data["failed_checks"] = draw(st.lists(VERDICTS.map(lambda v: {"name": "x", "verdict": v}), max_size=2))
    if draw(st.booleans()):
        data.update(kind="gameday", checks=data.pop("run")["checks"])
    return data


def supports_pass(s: Any) -> bool:
    """Independent oracle: may the gate open for this summary?"""
    try:
        if s["verdict"] != "pass" or s["complete"] is not True or s.get("incomplete", False) is not False:
            return False
        if s.get("exit_code", 0) != 0:
            return False
        judged = 0
        for st_ in s["stages"]:
            checks = [c for key in ("checks", "comparisons", "cost") for c in st_.get(key, [])]
            if st_["verdict"] != "pass" or st_.get("complete", True) is not True or st_.get("incomplete", False) is not False:
                return False
            if not checks or any(c["verdict"] != "pass" for c in checks):
                return False
            judged += 1
        run_checks = [*s.get("checks", []), *s.get("run", {}).get("checks", [])]
        if any(c["verdict"] != "pass" for c in run_checks) or any(f["verdict"] != "pass" for f in s.get("failed_checks", [])):
            return False
        return judged + len(run_checks) > 0
    except (KeyError, TypeError, AttributeError):
        return False


def _gate(data: Any) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "summary.json").write_text(json.dumps(data))
        try:
            outcome = gate(tmp)
        except ReportError as exc:
            assert "\n" not in str(exc)
            return 2
        print_gate(outcome, Console(file=io.StringIO(), width=100), all_checks=True)
        assert outcome.exit_code in (0, 1, 2)
        return outcome.exit_code


@BOUNDED
@given(data=summaries())
def test_the_gate_opens_only_when_the_recomputed_verdict_passes(data: dict[str, Any]) -> None:
    code = _gate(data)
    assert (code == 0) == supports_pass(data)


@BOUNDED
@given(data=st.data())
def test_a_mutated_summary_never_crashes_the_gate_nor_opens_it_unsupported(data: st.DataObject) -> None:
    seed = data.draw(summaries())
    edited = data.draw(mutated(seed))
    code = _gate(edited)
    if code == 0:
        assert supports_pass(edited)
