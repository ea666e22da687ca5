"""Loading OpenSLO files: the shipped ones load, each invalid one is one line naming file and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from harness.cli import main
from harness.slo import load_slos, parse_slo_documents
from harness.slo._defaults import DEFAULT_SLO_DOCUMENTS

REPO = Path(__file__).resolve().parents[2]
SLOS = REPO / "slos"


def test_the_shipped_slo_files_load_with_the_reviews_objectives() -> None:
    slos = {s.name: s for s in load_slos(SLOS)}
    assert (slos["latency-p95"].objectives[0].op, slos["latency-p95"].objectives[0].value) == ("lt", 100.0)
    assert (slos["error-ratio"].objectives[0].op, slos["error-ratio"].objectives[0].value) == ("lt", 0.01)
    assert (slos["failover"].objectives[0].op, slos["failover"].objectives[0].value) == ("lt", 30.0)
    assert (slos["cold-start"].objectives[0].op, slos["cold-start"].objectives[0].value) == ("lte", 2.0)
    assert (slos["memory"].objectives[0].op, slos["memory"].objectives[0].value) == ("lt", 512.0)
    assert slos["security-failures"].objectives[0].value == 0.0


def test_the_built_in_default_slos_are_the_shipped_latency_and_error_files() -> None:
    assert yaml.safe_load((SLOS / "latency.yaml").read_text()) == DEFAULT_SLO_DOCUMENTS[0][1]
    assert yaml.safe_load((SLOS / "errors.yaml").read_text()) == DEFAULT_SLO_DOCUMENTS[1][1]
    assert [s.name for s in parse_slo_documents(DEFAULT_SLO_DOCUMENTS)] == ["latency-p95", "error-ratio"]


def _variant(tmp_path: Path, source: str, old: str, new: str) -> Path:
    text = (SLOS / source).read_text()
    assert old in text
    path = tmp_path / f"bad-{source}"
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("source", "old", "new", "field"),
    [
        ("latency.yaml", "kind: SLO", "kind: Objective", "kind"),
        ("latency.yaml", "  objectives:\n    - displayName: p95 < 100 ms\n      op: lt\n      value: 100\n", "", "spec.objectives"),
        ("latency.yaml", "op: lt", "op: less", "spec.objectives[0].op"),
        ("latency.yaml", "duration: 10m", "duration: 10min", "spec.timeWindow[0].duration"),
        ("latency.yaml", "p95(latency_ms)", "p95(latency)", "spec.indicator.spec.thresholdMetric.metricSource.spec.query"),
        ("errors.yaml", "query: ratio(not ok)", "query: ratio(not okay)", "spec.indicator.spec.thresholdMetric.metricSource.spec.query"),
        ("errors.yaml", "value: 0.01", "value: one percent", "spec.objectives[0].value"),
        ("latency.yaml", "type: harness", "type: prometheus", "spec.indicator.spec.thresholdMetric.metricSource.type"),
        ("latency.yaml", "budgetingMethod: Occurrences", "budgetingMethod: Ocurrences", "spec.budgetingMethod"),
        ("latency.yaml", "  service: xynergy\n", "  service: xynergy\n  servce: typo\n", "spec.servce"),
    ],
    ids=["unknown-kind", "missing-objective", "bad-op", "bad-duration", "bad-column", "bad-predicate",
         "value-not-a-number", "unknown-source", "bad-budgeting", "unknown-field"],
)
def test_each_invalid_slo_file_is_one_line_naming_file_and_field_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source: str, old: str, new: str, field: str
) -> None:
    path = _variant(tmp_path, source, old, new)
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"harness: error: {path}: {field}: "), err
    assert "Traceback" not in err


def test_bad_op_names_the_allowed_operators(tmp_path: Path) -> None:
    from harness._exceptions import SLOFileError

    path = _variant(tmp_path, "latency.yaml", "op: lt", "op: less")
    with pytest.raises(SLOFileError) as info:
        load_slos(path)
    assert str(info.value) == f"{path}: spec.objectives[0].op: 'less' is not one of lt, lte, gt, gte"


def test_validate_accepts_the_shipped_slo_directory(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--slo-dir", str(SLOS)]) == 0
    assert "ok: " in capsys.readouterr().out


def test_an_slo_may_reference_an_sli_defined_in_another_file(tmp_path: Path) -> None:
    (tmp_path / "sli.yaml").write_text(
        "apiVersion: openslo/v1\nkind: SLI\nmetadata: {name: route-p99}\n"
        "spec:\n  thresholdMetric:\n    metricSource: {type: harness, spec: {query: p99(co_latency_ms)}}\n"
    )
    (tmp_path / "slo.yaml").write_text(
        "apiVersion: openslo/v1\nkind: SLO\nmetadata: {name: route-p99-slo}\n"
        "spec:\n  service: x\n  indicatorRef: route-p99\n  timeWindow: [{duration: 5m, isRolling: true}]\n"
        "  budgetingMethod: Occurrences\n  objectives: [{op: lt, value: 250}]\n"
    )
    [slo] = load_slos(tmp_path)
    assert slo.indicator.threshold is not None and slo.indicator.threshold.spec["query"] == "p99(co_latency_ms)"


def test_the_runs_label_picks_the_kinds_of_run_that_judge_an_slo():
    """The CO-corrected latency gates plain Locust runs, never a rollout's canary (one generator serves both)."""
    from harness.slo import judged_in

    shipped = load_slos(Path(__file__).resolve().parents[2] / "slos")
    names = {kind: {s.name for s in judged_in(shipped, kind)} for kind in ("locust", "rollout", "ctk")}
    assert "latency-p95-co" in names["locust"]
    assert "latency-p95-co" not in names["rollout"] and "latency-p95-co" not in names["ctk"]
    assert {"latency-p95", "error-ratio"} <= names["rollout"] & names["locust"]  # unlabelled: every kind
