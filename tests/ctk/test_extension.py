"""The Chaos Toolkit extension under the real `chaos run`, with chaostoolkit-toxiproxy faults.

A tiny HTTP server sits behind the embedded Toxiproxy. The experiment's
steady state is "the SLOs hold under a short load" (`harness.ctk.probes.load_meets_slos`);
the method adds a 1.5 s latency toxic with chaostoolkit-toxiproxy's own
action, so the steady state measured again afterwards must fail (CTK's
"deviated"), and the rollback removes the toxic again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from harness.samples import SampleWriter
from tests.conftest import free_port

pytestmark = pytest.mark.slow

CHAOS = str(Path(sys.executable).with_name("chaos"))

LOCUSTFILE = '''
from locust import FastHttpUser, constant, task
import harness.locust  # noqa: F401

class Visitor(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def home(self):
        self.client.get("/")
'''


# Objectives far from both outcomes, so a busy machine cannot flip them: the
# healthy server answers in milliseconds, the faulty one in over 1.5 s.
SLO_FILE = """
apiVersion: openslo/v1
kind: SLO
metadata: {name: latency-p95}
spec:
  service: web
  indicator:
    metadata: {name: latency-p95-ms}
    spec:
      thresholdMetric:
        metricSource: {type: harness, spec: {query: p95(latency_ms)}}
  timeWindow: [{duration: 10m, isRolling: true}]
  budgetingMethod: Occurrences
  objectives: [{displayName: p95 < 1 s, op: lt, value: 1000}]
"""


def _experiment(proxy_port: int, toxiproxy_port: int, locustfile: Path, out: Path, *, toxic: bool) -> dict:
    (out / "slos").mkdir(exist_ok=True)
    (out / "slos" / "latency.yaml").write_text(SLO_FILE)
    probe = {
        "type": "probe", "name": "slos-hold-under-load", "tolerance": True,
        "provider": {"type": "python", "module": "harness.ctk.probes", "func": "load_meets_slos",
                     "arguments": {"host": f"http://127.0.0.1:{proxy_port}", "locustfile": str(locustfile),
                                   "duration": "8s", "users": 8, "out_dir": str(out / "load"),
                                   "slo_dir": str(out / "slos"), "min_samples": 10}},
    }
    method: list[dict] = [{"type": "action", "name": "mark-start",
                           "provider": {"type": "python", "module": "harness.ctk.actions", "func": "mark",
                                        "arguments": {"name": "start", "out_dir": str(out / "load")}}}]
    rollbacks: list[dict] = []
    if toxic:
        method.append({"type": "action", "name": "slow-upstream",
                       "provider": {"type": "python", "module": "chaostoxi.toxic.actions",
                                    "func": "create_latency_toxic",
                                    "arguments": {"for_proxy": "web", "toxic_name": "slow", "latency": 1500}}})
        rollbacks.append({"type": "action", "name": "remove-slow",
                          "provider": {"type": "python", "module": "chaostoxi.toxic.actions",
                                       "func": "delete_toxic",
                                       "arguments": {"for_proxy": "web", "toxic_name": "slow"}}})
    return {
        "version": "1.0.0", "title": "the web tier keeps its SLOs", "description": "harness + chaostoxi",
        "configuration": {"toxiproxy_host": "127.0.0.1", "toxiproxy_port": toxiproxy_port},
        "steady-state-hypothesis": {"title": "SLOs hold", "probes": [probe]},
        "method": method, "rollbacks": rollbacks,
    }


@pytest.fixture
def web_behind_toxiproxy(tmp_path: Path):
    web_port, api_port, proxy_port = free_port(), free_port(), free_port()
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "index.html").write_text("ok")
    procs = [
        subprocess.Popen([sys.executable, "-m", "http.server", str(web_port), "--bind", "127.0.0.1",
                          "--directory", str(tmp_path / "www")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", str(api_port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
    ]
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{api_port}/version", timeout=0.5)
                httpx.get(f"http://127.0.0.1:{web_port}/", timeout=0.5)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        httpx.post(f"http://127.0.0.1:{api_port}/proxies", json={
            "name": "web", "listen": f"127.0.0.1:{proxy_port}", "upstream": f"127.0.0.1:{web_port}"}).raise_for_status()
        yield proxy_port, api_port
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


def _chaos_run(tmp_path: Path, experiment: dict) -> dict:
    path = tmp_path / "experiment.json"
    path.write_text(json.dumps(experiment))
    journal = tmp_path / "journal.json"
    subprocess.run([CHAOS, "--no-log-file", "run", "--journal-path", str(journal), str(path)],
                   cwd=tmp_path, timeout=120, check=False, capture_output=True,
                   env={**os.environ, "CHAOSTOOLKIT_IN_SUBPROCESS": "1"})
    return json.loads(journal.read_text())


def test_steady_state_holds_without_a_fault(tmp_path: Path, web_behind_toxiproxy) -> None:
    proxy_port, api_port = web_behind_toxiproxy
    locustfile = tmp_path / "web_locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    journal = _chaos_run(tmp_path, _experiment(proxy_port, api_port, locustfile, tmp_path, toxic=False))
    assert journal["status"] == "completed", journal
    assert journal["deviated"] is False
    assert journal["steady_states"]["after"]["steady_state_met"] is True


def test_latency_fault_breaks_the_steady_state_and_is_rolled_back(tmp_path: Path, web_behind_toxiproxy) -> None:
    proxy_port, api_port = web_behind_toxiproxy
    locustfile = tmp_path / "web_locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    journal = _chaos_run(tmp_path, _experiment(proxy_port, api_port, locustfile, tmp_path, toxic=True))
    assert journal["deviated"] is True, journal  # chaoslib: status "completed", deviated
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is False
    after = journal["steady_states"]["after"]["probes"][0]["output"]
    assert after is False
    from harness.ctk.probes import slo_verdict

    after_load = slo_verdict(str(tmp_path / "load"), slo_dir=str(tmp_path / "slos"), min_samples=10)
    assert after_load["verdict"] == "fail", after_load  # decided by the slowness, not by thin data
    assert [r["status"] for r in journal["rollbacks"]] == ["succeeded"]
    from harness.ctk._experiment import fault_windows

    (window,) = fault_windows(journal)  # the harness reads when the fault was in force from the journal
    assert (window.target, window.kind) == ("web", "latency")
    assert window.removed_at is not None and window.removed_at > window.injected_at
    toxics = httpx.get(f"http://127.0.0.1:{api_port}/proxies/web/toxics").json()
    assert toxics == []  # the experiment's rollback removed it


def test_failover_time_counts_from_the_mark(tmp_path: Path) -> None:
    from harness.ctk import probes
    from harness.samples import COLUMNS

    out = tmp_path / "load"
    out.mkdir()
    fault_at = time.time() - 20  # the fault began 20 s ago
    (out / "marks.json").write_text(json.dumps({"fault": fault_at}))
    with SampleWriter(out / "samples.arrow") as writer:
        for i in range(20 * 20):  # 20 req/s for 20 s: failing for the first 8 s, then healthy
            ts = fault_at + i / 20
            ok = ts - fault_at >= 8
            row = {"ts": ts, "intended_ts": ts, "name": "GET /", "method": "GET", "status": 200 if ok else 503,
                   "ok": ok, "error_kind": "" if ok else "HTTPError", "latency_ms": 5.0, "co_latency_ms": 5.0,
                   "bytes": 10, "revision": "baseline", "region": "", "worker": "w"}
            writer.add(tuple(row.get(c, "") for c in COLUMNS))
    assert probes.failover_time("fault", out_dir=str(out)) == pytest.approx(8.0, abs=1.0)
    assert probes.failover_time("fault", out_dir=str(out), within="5s") is None  # not recovered within 5 s
    from chaoslib.exceptions import ActivityFailed

    with pytest.raises(ActivityFailed, match="no mark named 'other'"):
        probes.failover_time("other", out_dir=str(out))
