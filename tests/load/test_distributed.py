"""Issue 9: a master and 2 local workers against the real platform lose and duplicate no sample."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from harness.load import LocustConfig, LocustRun, run_locust
from harness.topology import Platform

REPO = Path(__file__).resolve().parents[2]
ROUTE_LOCUSTFILE = '''
import os, random
from locust import FastHttpUser, task
from harness.locust import PacedUser

class Route(PacedUser, FastHttpUser):
    @task
    def route(self):
        body = {"tenant": "acme", "prompt": f"status of order {random.randint(1, 50)}"}
        self.client.post("/v1/route", json=body, headers={"X-API-Key": os.environ["XYNERGY_API_KEY"]},
                         name="POST /v1/route")
'''


def edge_posts(platform: Platform) -> int:
    """POST requests the edge itself says it answered (its own /metrics)."""
    text = httpx.get(platform.metrics_url("edge"), timeout=5).text
    return int(sum(
        s.value for family in text_string_to_metric_families(text) for s in family.samples
        if s.name == "xynergy_http_requests_total" and s.labels.get("method") == "POST"
    ))  # fmt: skip


def stage(platform: Platform, locustfile: Path, out: Path, workers: int) -> LocustRun:
    return run_locust(LocustConfig(locustfile=locustfile, host=platform.edge_url, out_dir=out, users=4,
                                   run_time_s=4, rps=40, workers=workers, slo_dir=REPO / "slos", min_samples=30,
                                   api_key=platform.api_key))


@pytest.mark.slow
def test_two_local_workers_deliver_exactly_the_requests_the_platform_counted_and_judge_like_one_process(
    cors_canary_platform: Platform, tmp_path: Path
) -> None:
    platform = cors_canary_platform
    locustfile = tmp_path / "route_locustfile.py"
    locustfile.write_text(ROUTE_LOCUSTFILE)
    before = edge_posts(platform)
    distributed = stage(platform, locustfile, tmp_path / "workers", workers=2)
    counted = edge_posts(platform) - before
    frame = distributed.samples()
    assert distributed.verdict() is not None, distributed.log_file.read_text()[-3000:]
    assert len(frame) == counted > 50
    assert frame["worker"].nunique() == 2
    assert not frame.duplicated(["ts", "worker", "latency_ms"]).any()

    single = stage(platform, locustfile, tmp_path / "single", workers=0)
    verdicts = {}
    for name, run in (("distributed", distributed), ("single", single)):
        data = run.verdict()
        assert data is not None
        verdicts[name] = {(c["name"], c["scope"]): c["verdict"] for c in data["checks"] if c["name"] != "samples-complete"}
    assert verdicts["distributed"] == verdicts["single"]
    assert distributed.exit_code == single.exit_code
