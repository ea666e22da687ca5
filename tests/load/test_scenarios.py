"""The shipped platform scenario against the real platform: every journey runs and a CORS regression is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.load import LocustConfig, run_locust
from harness.topology import Platform

REPO = Path(__file__).resolve().parents[2]
JOURNEYS = {
    "POST /v1/route", "POST /v1/governance/validate", "GET /v1/governance/policies/{tenant}", "GET /healthz",
    "security: no key", "security: wrong key", "security: cors evil origin", "security: cors allowed origin",
    "WS /v1/runtime/ws first event",
}  # fmt: skip


@pytest.mark.slow
def test_the_platform_scenario_runs_every_journey_and_fails_a_canary_that_grants_cors_to_evil_origins(
    cors_canary_platform: Platform, tmp_path: Path
) -> None:
    run = run_locust(LocustConfig(
        locustfile=REPO / "scenarios" / "xynergy_platform.py", host=cors_canary_platform.edge_url, out_dir=tmp_path,
        users=10, run_time_s=8, rps=100, slo_dir=REPO / "slos", min_samples=5,
        api_key=cors_canary_platform.api_key,
    ))  # fmt: skip
    frame = run.samples()
    verdict = run.verdict()
    assert verdict is not None, run.log_file.read_text()[-3000:]
    assert set(frame["name"]) == JOURNEYS
    refusals = frame[frame["name"].isin(["security: no key", "security: wrong key"])]
    assert refusals["ok"].all() and set(refusals["status"]) <= {401, 403}
    route = frame[frame["name"] == "POST /v1/route"]
    assert set(route["revision"]) == {"canary"}
    assert (route["region"] == "us-central1").any()  # cache hits name no region
    security = {c["scope"]: c for c in verdict["checks"] if c["name"] == "security-failures"}
    assert security["revision=canary"]["verdict"] == "fail"
    assert security["revision=canary"]["value"] >= 1
    assert security.get("revision=baseline", {"verdict": "pass"})["verdict"] == "pass"
    assert run.exit_code == 1
    evil = frame[(frame["name"] == "security: cors evil origin") & ~frame["ok"]]
    assert set(evil["error_kind"]) == {"security"} and set(evil["revision"]) == {"canary"}
