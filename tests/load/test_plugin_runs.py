"""Plain `locust` with the plugin: one verdict per test run in the web UI, and a saturated generator is no breach.

Locust runs as a real subprocess (its web UI on 127.0.0.1) against the test server.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.load.conftest import TimedServer

REPO = Path(__file__).resolve().parents[2]
SLOS = REPO / "slos"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _locust_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}


def _wait_for(url: str, proc: subprocess.Popen[str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"locust exited early: {proc.communicate()[0][-3000:]}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{url} never answered")


def _swarm(ui: httpx.Client, server: TimedServer, *, rps: int, seconds: float, users: int = 2) -> tuple[int, int]:
    """One test run from the web UI: swarm, wait, stop; returns the server's request count before and after."""
    before = server.count
    reply = ui.post("/swarm", data={"user_count": str(users), "spawn_rate": str(users), "host": server.url,
                                    "rps": str(rps), "min_samples": "5"})  # fmt: skip
    assert reply.json()["success"], reply.text
    time.sleep(seconds)
    assert ui.post("/stop").json()["success"]  # test_stop runs (and judges) inside this request
    return before, server.count


@pytest.mark.slow
def test_each_swarm_from_the_web_ui_gets_its_own_verdict_and_the_exit_code_combines_them(
    timed_server: TimedServer, paced_locustfile: Path, tmp_path: Path
) -> None:
    port = _free_port()
    latency_only = tmp_path / "slos"  # the error ratio would need ~800 requests per run to prove < 1 %
    latency_only.mkdir()
    (latency_only / "latency.yaml").write_text((SLOS / "latency.yaml").read_text())
    args = [sys.executable, "-m", "locust", "-f", str(paced_locustfile), "--web-host", "127.0.0.1", "--web-port",
            str(port), "--host", timed_server.url, "--samples-file", str(tmp_path / "s.arrow"),
            "--slo-dir", str(latency_only)]
    proc = subprocess.Popen(args, cwd=tmp_path, env=_locust_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)  # fmt: skip
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_for(base + "/", proc)
        with httpx.Client(base_url=base, timeout=30.0) as ui:
            page = ui.get("/").text
            for option in ("rps", "slo_dir", "min_samples", "samples_file", "verdict_file"):
                assert f'"{option}"' in page  # the plugin's options are in the UI's form
            assert "harness-slo-verdict" in page  # the "SLO verdict" tab

            # enough requests for each verdict to be decided, not merely estimated: a p95 is
            # bounded above from a few hundred fast requests, and below from a few dozen slow ones
            timed_server.delay = lambda n: 0.002
            first = _swarm(ui, timed_server, rps=100, seconds=5, users=10)
            timed_server.delay = lambda n: 0.15  # every request now breaks the p95 < 100 ms SLO
            second = _swarm(ui, timed_server, rps=40, seconds=3, users=20)

            body = ui.get("/harness/verdicts").json()
            rows = ui.get("/stats/requests").json()["extended_stats"]
    finally:
        proc.send_signal(signal.SIGTERM)  # Locust's web UI mode does not always stop on SIGINT
        try:
            output = proc.communicate(timeout=60)[0]
        finally:
            proc.kill()

    runs = body["runs"]
    assert [r["run"] for r in runs] == [1, 2] and not body["running"]
    # the slow swarm never passes: it FAILs, or, when a busy machine starved the generator, is
    # INCONCLUSIVE saying so (a breach a starved generator measured is not the service's)
    slow = runs[1]["verdict"]
    assert runs[0]["verdict"] == "pass" and slow in ("fail", "inconclusive"), output[-3000:]
    if slow == "inconclusive":
        assert "load generator saturated" in output, output[-3000:]
    for run, (before, after) in zip(runs, (first, second), strict=True):
        # each verdict covers only its own swarm (≤ one request per user in flight at stop is not a sample)
        assert after - before - 20 <= run["samples"] <= after - before
    assert Path(runs[0]["samples_files"][0]) == tmp_path / "s.arrow"
    assert Path(runs[1]["samples_files"][0]) == tmp_path / "s-run2.arrow"
    assert json.loads((tmp_path / "s-run2.verdict.json").read_text())["verdict"] == slow
    [table] = [t for t in rows if t["key"] == "harness-slo-verdict"]
    assert {(r["run"], r["verdict"]) for r in table["data"] if r["name"] == "verdict"} == \
        {("1", "PASS"), ("2", slow.upper())}
    assert output.count("SLO verdict") == 2  # printed at each stop, not again at quit
    assert body["exit_code"] == proc.returncode == (1 if slow == "fail" else 2)


SATURATED_LOCUSTFILE = '''
import gevent
from locust import FastHttpUser, events, task
from harness.locust import PacedUser

@events.test_start.add_listener
def _starve(environment, **_):
    # what Locust's own CPU monitor fires above 90 % CPU (it needs a busy core for seconds to fire by itself)
    gevent.spawn_later(1.0, environment.events.cpu_warning.fire, environment=environment, cpu_usage=97.0)

class Paced(PacedUser, FastHttpUser):
    @task
    def get(self):
        self.client.get("/")
'''


@pytest.mark.slow
def test_a_breach_while_locusts_cpu_warning_fired_warns_and_exits_2_not_1(
    timed_server: TimedServer, tmp_path: Path
) -> None:
    locustfile = tmp_path / "saturated_locustfile.py"
    locustfile.write_text(SATURATED_LOCUSTFILE, encoding="utf-8")
    timed_server.delay = lambda n: 0.12  # p95 above 100 ms: a breach, were the generator healthy
    args = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "4", "-r", "4", "-t", "4s",
            "--host", timed_server.url, "--rps", "20", "--samples-file", str(tmp_path / "s.arrow"),
            "--slo-dir", str(SLOS), "--min-samples", "5"]  # fmt: skip
    done = subprocess.run(args, cwd=tmp_path, env=_locust_env(), capture_output=True, text=True, timeout=60)
    verdict = json.loads((tmp_path / "s.verdict.json").read_text())
    checks = {c["name"]: c for c in verdict["checks"]}
    assert checks["latency-p95"]["verdict"] == "fail", verdict
    assert checks["generator/locust-cpu"]["verdict"] == "inconclusive" and checks["generator/locust-cpu"]["value"] == 97.0
    assert verdict["verdict"] == "inconclusive" and verdict["exit_code"] == 2
    assert done.returncode == 2, done.stderr[-3000:]
    [warning] = [line for line in done.stdout.splitlines() if line.startswith("load generator saturated: ")]
    assert "above 90 % CPU (peak 97 %)" in warning
