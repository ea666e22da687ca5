"""The harness's own /metrics: scraped over HTTP, pushed to a Pushgateway-shaped server, charted by Grafana."""

from __future__ import annotations

import http.server
import json
import re
import threading
from pathlib import Path

import httpx
import pandas as pd
from prometheus_client.parser import text_string_to_metric_families

from harness._verdicts import Check, Verdict
from harness.prometheus import RunMetrics

DASHBOARD = Path(__file__).resolve().parents[2] / "examples" / "grafana" / "xynergy-harness.json"


def _samples(revision: str, latencies_ms: list[float], failed: int) -> pd.DataFrame:
    n = len(latencies_ms)
    return pd.DataFrame({"revision": [revision] * n, "latency_ms": latencies_ms,
                         "ok": [i >= failed for i in range(n)]})


def _scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = httpx.get(url, timeout=5).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for fam in text_string_to_metric_families(text) for s in fam.samples}


def test_a_scrape_sees_stage_weight_faults_samples_and_verdicts() -> None:
    metrics = RunMetrics("rollout", "run-1")
    url = metrics.serve()
    try:
        assert url.startswith("http://127.0.0.1:")
        metrics.stage_started(10)
        metrics.weight_set(10)
        metrics.fault_changed("ai-routing-engine->internal-ai.primary", "timeout", active=True)
        metrics.observe_samples(_samples("canary", [20.0, 40.0, 150.0, 30.0], failed=1))
        metrics.observe_samples(_samples("baseline", [10.0] * 10, failed=0))
        metrics.checks_judged([Check("latency-p95", Verdict.FAIL, 150.0, 100.0, "lt", scope="revision=canary")])
        got = _scrape(url)
        assert got[("xynergy_harness_stage_weight_percent", ())] == 10
        assert got[("xynergy_harness_canary_weight_percent", ())] == 10
        assert got[("xynergy_harness_fault_active",
                    (("kind", "timeout"), ("target", "ai-routing-engine->internal-ai.primary")))] == 1
        assert got[("xynergy_harness_requests_total", (("outcome", "error"), ("revision", "canary")))] == 1
        assert got[("xynergy_harness_requests_total", (("outcome", "ok"), ("revision", "baseline")))] == 10
        assert got[("xynergy_harness_error_ratio", (("revision", "canary"),))] == 0.25
        assert got[("xynergy_harness_request_latency_seconds_bucket", (("le", "0.1"), ("revision", "canary")))] == 3
        verdict = (("check", "latency-p95"), ("scope", "revision=canary"))
        assert got[("xynergy_harness_check_verdict", (*verdict, ("verdict", "fail")))] == 1
        assert got[("xynergy_harness_check_verdict", (*verdict, ("verdict", "pass")))] == 0
        metrics.fault_changed("ai-routing-engine->internal-ai.primary", "timeout", active=False)
        metrics.stage_started(50)  # a new stage restarts the stage's error ratio
        got = _scrape(url)
        assert got[("xynergy_harness_fault_active",
                    (("kind", "timeout"), ("target", "ai-routing-engine->internal-ai.primary")))] == 0
        assert ("xynergy_harness_error_ratio", (("revision", "canary"),)) not in got
    finally:
        metrics.close()


def test_push_sends_the_text_format_to_the_gateway_path() -> None:
    received: list[tuple[str, str, bytes]] = []

    class Gateway(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:  # noqa: N802 - http.server naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.command, self.path, body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        metrics = RunMetrics("gameday", "run-2")
        metrics.weight_set(50)
        metrics.push(f"127.0.0.1:{server.server_address[1]}", job="harness-test")
    finally:
        server.shutdown()
        server.server_close()
    (method, path, body), = received
    assert (method, path) == ("PUT", "/metrics/job/harness-test")
    assert "xynergy_harness_canary_weight_percent 50.0" in body.decode()


def test_the_grafana_dashboard_is_valid_and_charts_only_exported_metrics() -> None:
    dash = json.loads(DASHBOARD.read_text())
    assert isinstance(dash["schemaVersion"], int) and dash["uid"] and dash["title"]
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    exported = {fam.name for fam in RunMetrics("rollout", "x").registry.collect()}
    exported |= {f"{n}_total" for n in exported} | {f"{n}_bucket" for n in exported}
    for panel in dash["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = set(re.findall(r"\bxynergy_harness_\w+", target["expr"]))
            assert names and names <= exported, (panel["title"], names - exported)
