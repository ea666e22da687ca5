"""JUnit XML: one testcase per check, so CI systems show SLOs as tests.

FAIL → `<failure>`. INCONCLUSIVE → `<error type="inconclusive">`, not
`<skipped>`: an inconclusive check never promotes a canary, and most CI
systems treat skipped tests as green, which would hide it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from harness._verdicts import Check, Verdict, op_symbol
from harness.report._model import ResultBase

__all__ = ["junit_tree", "write_junit"]




def _fmt(check: Check) -> str:
    """`180.0 ms against < 100.0 ms over 400 samples`: the report's wording, never a raw `lt`."""
    from harness.report._markdown import format_check

    value = "no data" if check.value is None else format_check(check)
    objective = "" if check.objective is None else f" against {op_symbol(check.op)} {format_check(check, 'objective')}"
    return f"{value}{objective} over {check.samples} samples"


def junit_tree(suites: Sequence[tuple[str, ResultBase]]) -> ET.ElementTree:
    """A `<testsuites>` with one `<testsuite>` per (name, result) and one testcase per check."""
    root = ET.Element("testsuites", name="harness")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    total_time = 0.0
    for suite, result in suites:
        failures = sum(c.verdict is Verdict.FAIL for c in result.checks)
        errors = sum(c.verdict is Verdict.INCONCLUSIVE for c in result.checks)
        totals["tests"] += len(result.checks)
        totals["failures"] += failures
        totals["errors"] += errors
        total_time += result.duration_s
        ts = ET.SubElement(root, "testsuite", name=suite, tests=str(len(result.checks)), failures=str(failures),
                           errors=str(errors), skipped="0", time=f"{result.duration_s:.3f}")
        props = ET.SubElement(ts, "properties")
        ET.SubElement(props, "property", name="verdict", value=result.verdict.value)
        if not result.complete:
            ET.SubElement(props, "property", name="incomplete_reason", value=result.incomplete_reason or "incomplete")
        for check in result.checks:
            case = ET.SubElement(ts, "testcase", classname=f"{suite}.{check.kind}",
                                 name=f"{check.name} [{check.scope}]", time="0")
            message = f"{_fmt(check)}: {check.detail}".strip(": ")
            if check.verdict is Verdict.FAIL:
                ET.SubElement(case, "failure", message=message, type="fail").text = message
            elif check.verdict is Verdict.INCONCLUSIVE:
                ET.SubElement(case, "error", message=message, type="inconclusive").text = message
            else:
                ET.SubElement(case, "system-out").text = message
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{total_time:.3f}")
    ET.indent(root)
    return ET.ElementTree(root)


def write_junit(suites: Sequence[tuple[str, ResultBase]], path: Path) -> None:
    """Write `junit_tree(suites)` to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    junit_tree(suites).write(path, encoding="utf-8", xml_declaration=True)
