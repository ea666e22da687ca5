"""Check.kind, op and scope are typed, and the JSON a check writes is unchanged."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from harness._verdicts import Check, CheckKind, Op, Scope, Verdict
from harness.slo import load_slos

ROOT = Path(__file__).resolve().parents[2]


def test_kind_and_op_are_enums_that_still_compare_and_serialise_as_strings() -> None:
    check = Check("cost/per-request", Verdict.FAIL, 0.3, 0.1, "lte", "ratio", 80, "canary-vs-baseline", "cost")
    assert check.kind is CheckKind.COST and check.op is Op.LTE
    assert check.kind == "cost" and f"{check.kind} {check.op}" == "cost lte"
    data = check.to_dict()
    assert json.loads(json.dumps(data))["kind"] == "cost" and data["op"] == "lte" and type(data["kind"]) is str
    assert Check.from_dict(data) == check


def test_a_typo_in_kind_or_op_fails_where_the_check_is_made() -> None:
    with pytest.raises(ValueError):
        Check("x", Verdict.PASS, 1.0, 2.0, "less")
    with pytest.raises(ValueError):
        Check("x", Verdict.PASS, 1.0, 2.0, "lt", kind="coldstrat")


def test_op_holds_like_the_openslo_operators() -> None:
    assert Op.LT.holds(1, 2) and not Op.LT.holds(2, 2) and Op.LTE.holds(2, 2) and Op.GTE.holds(3, 2)
    assert Op("gt").symbol == ">"


@pytest.mark.parametrize(
    ("scope", "revision", "labels"),
    [
        ("all", None, ("all",)),
        ("revision=canary", "canary", ()),
        ("revision=canary,name=POST /v1/route", "canary", ()),
        ("window=fault revision=canary", "canary", ()),
        ("revision=canary ai-routing-engine->internal-ai.primary", "canary", ("ai-routing-engine->internal-ai.primary",)),
        ("canary-vs-baseline", None, ("canary-vs-baseline",)),
        ("instance=edge", None, ()),
    ],
)
def test_scope_grammar_gives_the_revision_and_bare_labels(scope: str, revision: str | None, labels: tuple) -> None:
    parts = Check("x", Verdict.PASS, 1.0, 2.0, "lt", scope=scope).scope_parts
    assert parts.revision == revision and parts.labels == labels and str(parts) == scope


def test_scope_values_may_hold_spaces_and_replace_keeps_a_typed_scope() -> None:
    check = Check("x", Verdict.PASS, 1.0, 2.0, "lt", scope=Scope.of(name="POST /v1/route", revision="canary"))
    assert check.scope_parts.get("name") == "POST /v1/route"
    moved = replace(check, scope=f"window=fault {check.scope}")
    assert isinstance(moved.scope, Scope) and moved.scope_parts.get("window") == "fault"


def test_shipped_slos_are_typed_by_their_queries() -> None:
    types = {slo.name: slo.sli_type for slo in load_slos(ROOT / "slos")}
    assert types["latency-p95"] == "latency" and types["error-ratio"] == "error_ratio"
    assert types["cold-start"] is None and types["security-failures"] is None  # a count is not a ratio


def test_a_ratio_metric_counting_good_requests_is_an_error_ratio_sli(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: availability}\nspec:\n  service: x\n"
        "  indicator:\n    metadata: {name: good}\n    spec:\n      ratioMetric:\n"
        "        good: {metricSource: {type: harness, spec: {query: count(ok)}}}\n"
        "        total: {metricSource: {type: harness, spec: {query: count}}}\n"
        "  timeWindow: [{duration: 5m, isRolling: true}]\n  budgetingMethod: Occurrences\n"
        "  objectives: [{target: 0.99}]\n"
    )
    [slo] = load_slos(tmp_path)
    assert slo.sli_type == "error_ratio"
