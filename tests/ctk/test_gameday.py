"""`harness gameday` on a Chaos Toolkit experiment: chaostoolkit-lib runs it, the harness loads, judges, rolls back.

The experiment below is written from Chaos Toolkit's experiment format and
chaostoolkit-toxiproxy's README (`create_latency_toxic(for_proxy, toxic_name,
latency, jitter)`, `delete_toxic(for_proxy, toxic_name)`, configuration key
`toxiproxy_host`/`toxiproxy_url`), not from the harness's code.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from harness._verdicts import Verdict
from harness.chaos import GameDayConfig, run_gameday
from harness.chaos._ctk_gameday import ctk_status_check
from harness.cli import main
from harness.samples import read_samples
from harness.toxiproxy import ToxiproxyClient

ROOT = Path(__file__).parents[2]
LOCUSTFILE = ROOT / "tests" / "chaos" / "gameday_locustfile.py"
LINK = "edge->ai-routing-engine"
LATENCY_MS = 400


def ctk_experiment(pause_s: float, **extension: Any) -> dict[str, Any]:
    return {
        "version": "1.0.0",
        "title": "AI routing answers late",
        "description": "400 ms on every response from ai-routing-engine; the edge must stay ready.",
        "tags": ["toxiproxy"],
        "configuration": {"toxiproxy_host": "127.0.0.1",
                          "harness_edge_url": {"type": "env", "key": "NO_SUCH_VAR_H17", "default": "http://x"}},
        "extensions": [{"name": "xynergy-harness", "rps": 15, "slos": ["latency-p95"], "judge": ["recovery"],
                        "warmup": "4s", "tail": "8s", **extension}],
        "steady-state-hypothesis": {"title": "the edge is ready", "probes": [
            {"type": "probe", "name": "edge-readyz", "tolerance": 200,
             "provider": {"type": "http", "url": "${harness_edge_url}/readyz", "timeout": 5}}]},
        "method": [
            {"type": "action", "name": "slow-ai-routing",
             "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "create_latency_toxic",
                          "arguments": {"for_proxy": LINK, "toxic_name": "slow-ai-routing",
                                        "latency": LATENCY_MS, "jitter": 0}},
             "pauses": {"after": pause_s}},
        ],
        "rollbacks": [
            {"type": "action", "name": "remove-slow-ai-routing",
             "provider": {"type": "python", "module": "chaostoxi.toxic.actions", "func": "delete_toxic",
                          "arguments": {"for_proxy": LINK, "toxic_name": "slow-ai-routing"}}},
        ],
    }  # fmt: skip


def write(tmp_path: Path, doc: dict[str, Any], name: str = "experiment.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, indent=2))
    return path


class ToxicWatch:
    """Polls the link's toxics on the harness's Toxiproxy: what was really on the link, and when."""

    def __init__(self, url: str) -> None:
        self.client = ToxiproxyClient(url)
        self.seen: list[tuple[float, frozenset[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.wait(0.25):
            try:
                self.seen.append((time.time(), frozenset(t.name for t in self.client.toxics(LINK))))
            except Exception:
                pass  # the platform has not created (or has deleted) its proxies

    def __enter__(self) -> ToxicWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.mark.slow
@pytest.mark.timeout(360)  # platform start, warm-up, 8 s fault, tail and report on a busy 2-core machine
def test_a_ctk_latency_experiment_runs_under_load_with_its_journal_and_verdict(
    tmp_path: Path, toxiproxy: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOXIPROXY_URL", toxiproxy)
    path = write(tmp_path, ctk_experiment(pause_s=8))
    config = GameDayConfig(path, out=tmp_path / "reports", slo_dir=ROOT / "slos", locustfile=LOCUSTFILE,
                           live=False, min_samples=15)  # fmt: skip
    with ToxicWatch(toxiproxy) as watch:
        result = run_gameday(config)
    run_dir = tmp_path / "reports" / result.run_id

    journal = json.loads((run_dir / "journal.json").read_text())  # what `chaos run` would have written
    assert journal["status"] == "completed" and journal["deviated"] is False
    assert [(r["activity"]["name"], r["status"]) for r in journal["run"]] == [("slow-ai-routing", "succeeded")]
    assert [(r["activity"]["name"], r["status"]) for r in journal["rollbacks"]] == [
        ("remove-slow-ai-routing", "succeeded")]
    assert journal["steady_states"]["before"]["steady_state_met"] is True
    assert journal["steady_states"]["after"]["steady_state_met"] is True
    assert journal["experiment"]["configuration"]["toxiproxy_url"] == toxiproxy  # pointed at the harness's server

    [fault] = result.faults  # the window read from the journal
    injected, removed = fault["injected_at"], fault["removed_at"]
    assert fault["action"] == "slow-ai-routing" and fault["target"] == LINK and removed > injected
    on = [names for ts, names in watch.seen if injected + 0.3 < ts < removed - 0.3]
    after = [names for ts, names in watch.seen if ts > removed + 0.3]
    assert on and all("slow-ai-routing" in names for names in on), "the toxic was not on the link in its window"
    assert after and not any(after), "the toxic stayed on the link after the rollback"

    samples = read_samples(run_dir / "load" / "samples.arrow")
    route = samples[(samples["name"] == "POST /v1/route") & samples["ok"]]
    during = route[(route["ts"] > injected + 0.2) & (route["ts"] + LATENCY_MS / 1000 < removed)]["latency_ms"]
    later = route[route["ts"] > removed + 1.0]["latency_ms"]
    assert len(during) >= 20 and during.quantile(0.1) >= LATENCY_MS * 0.95  # the samples felt the toxic
    assert len(later) >= 20 and later.median() < LATENCY_MS  # and stopped feeling it once deleted

    checks = {(c.name, str(c.scope)): c for c in result.checks}
    assert checks[("ctk-experiment", "chaos-toolkit")].verdict is Verdict.PASS
    assert ("recovery/slow-ai-routing", LINK) in checks
    [before] = [c for (name, scope), c in checks.items() if name == "latency-p95" and scope.startswith("steady-state before")]
    assert before.extra["co_corrected_ms"] >= before.value  # from when each request was due: never less
    assert result.complete and result.exit_code == result.verdict.exit_code
    for name in ("index.html", "report.json", "summary.json", "junit.xml", "summary.md", "chaostoolkit.log"):
        assert (run_dir / name).is_file(), name
    summary = json.loads((run_dir / "summary.json").read_text())
    assert any(c["name"] == "ctk-experiment" for c in summary["checks"])


@pytest.mark.slow
@pytest.mark.timeout(360)
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_mid_method_removes_the_toxic_and_writes_an_incomplete_report(
    tmp_path: Path, toxiproxy: str, sig: signal.Signals
) -> None:
    path = write(tmp_path, ctk_experiment(pause_s=60))
    out = tmp_path / "reports"
    harness = subprocess.Popen(
        [sys.executable, "-m", "harness", "gameday", str(path), "--out", str(out), "--scenario", str(LOCUSTFILE),
         "--slo-dir", str(ROOT / "slos"), "--no-live"],
        env={**os.environ, "TOXIPROXY_URL": toxiproxy}, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    client = ToxiproxyClient(toxiproxy)
    try:
        deadline = time.monotonic() + 120
        while not _has_toxic(client):
            assert time.monotonic() < deadline and harness.poll() is None, "the toxic was never added"
            time.sleep(0.2)
        time.sleep(1.0)  # chaoslib is now in the action's 60 s pause
        harness.send_signal(sig)
        _, err = harness.communicate(timeout=90)
    finally:
        if harness.poll() is None:
            os.killpg(harness.pid, signal.SIGKILL)
            harness.wait()
    assert harness.returncode == 128 + sig, err[-2000:]
    left = client.proxies()  # chaoslib skips rollbacks after an interruption; the harness's own must not
    assert all(not p.toxics and p.enabled for p in left.values()), left
    [run_dir] = [p for p in out.iterdir() if p.is_dir() and not p.is_symlink()]
    report = json.loads((run_dir / "report.json").read_text())
    assert report["complete"] is False and signal.Signals(sig).name in report["incomplete_reason"]
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "interrupted" and journal["run"][0]["status"] == "succeeded"
    assert journal["rollbacks"] == []  # chaoslib played none: the harness's rollback removed the toxic
    assert f"harness rollback: removed toxic 'slow-ai-routing' from {LINK}" in report["notes"]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["exit_code"] == 2 and summary["verdict"] != "pass"


def _has_toxic(client: ToxiproxyClient) -> bool:
    try:
        return bool(client.toxics(LINK))
    except Exception:
        return False


def test_a_ctk_file_naming_unknown_links_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = ctk_experiment(pause_s=1)
    doc["method"][0]["provider"]["arguments"]["for_proxy"] = "edge->nowhere"
    doc["rollbacks"][0]["provider"]["arguments"]["for_proxy"] = "edge->elsewhere"
    doc["extensions"][0]["slos"] = ["no-such-slo"]
    path = write(tmp_path, doc)
    code = main(["gameday", str(path), "--out", str(tmp_path / "reports"), "--slo-dir", str(ROOT / "slos")])
    err = capsys.readouterr().err
    assert code == 2
    assert "method[0]: no link 'edge->nowhere'" in err and "rollbacks[0]: no link 'edge->elsewhere'" in err
    assert "Traceback" not in err and not (tmp_path / "reports").exists()  # nothing ran, nothing written


def test_harness_validate_checks_a_ctk_file_as_gameday_would(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, ctk_experiment(pause_s=1), "good.json")
    bad_doc = ctk_experiment(pause_s=1)
    bad_doc["method"][0]["provider"]["arguments"]["for_proxy"] = "edge->nowhere"
    bad = write(tmp_path, bad_doc, "bad.json")
    assert main(["validate", str(good)]) == 0
    assert main(["validate", str(good), str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: method[0]: no link 'edge->nowhere'" in err and str(good) not in err


def test_harness_settings_in_the_extension_are_checked_all_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, ctk_experiment(pause_s=1, slos=["no-such-slo"], judge=["sometimes"], rps=-3, speed=2))
    code = main(["gameday", str(path), "--out", str(tmp_path / "reports"), "--slo-dir", str(ROOT / "slos")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    for field in ("rps", "slos", "judge", "speed"):
        assert any(f"extensions[name=xynergy-harness].{field}:" in line and str(path) in line for line in lines), field


def test_a_missing_configuration_variable_is_exit_2_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    doc = ctk_experiment(pause_s=1)
    doc["configuration"]["token"] = {"type": "env", "key": "H17_SURELY_UNSET_VARIABLE"}
    path = write(tmp_path, doc)
    code = main(["gameday", str(path), "--out", str(tmp_path / "reports"), "--slo-dir", str(ROOT / "slos")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and f"{path}: " in err and "H17_SURELY_UNSET_VARIABLE" in err


def _run_ctk(marker: Path, tolerance: Any, func: str = "remove") -> dict[str, Any]:
    """A real chaoslib run, no platform: the hypothesis checks a marker file, the method acts on it."""
    from chaoslib.experiment import run_experiment

    probe = {"type": "probe", "name": "marker-exists", "tolerance": tolerance,
             "provider": {"type": "python", "module": "os.path", "func": "exists", "arguments": {"path": str(marker)}}}
    experiment = {"title": "t", "description": "d", "steady-state-hypothesis": {"title": "h", "probes": [probe]},
                  "method": [{"type": "action", "name": "act",
                              "provider": {"type": "python", "module": "os", "func": func,
                                           "arguments": {"path": str(marker)}}}]}  # fmt: skip
    return dict(run_experiment(experiment))


def test_the_experiments_own_outcome_is_a_check(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    marker.touch()
    passed = ctk_status_check(_run_ctk(marker, True, "stat"))
    deviated = ctk_status_check(_run_ctk(marker, True, "remove"))  # the method removes what the hypothesis needs
    not_met = ctk_status_check(_run_ctk(marker, True, "stat"))  # gone: chaoslib skips the method, says completed
    marker.touch()
    failed_action = ctk_status_check(_run_ctk(marker, True, "rmdir"))  # not a directory: the action fails
    assert passed.verdict is Verdict.PASS, passed.detail
    assert deviated.verdict is Verdict.FAIL and "deviated" in deviated.detail
    assert not_met.verdict is Verdict.FAIL and "not met before" in not_met.detail
    assert failed_action.verdict is Verdict.FAIL and "act" in failed_action.detail
    interrupted = ctk_status_check({"status": "interrupted", "deviated": False, "run": [], "rollbacks": []})
    assert interrupted.verdict is Verdict.INCONCLUSIVE and ctk_status_check({}).verdict is Verdict.INCONCLUSIVE


def test_harness_validate_with_a_topology_checks_a_ctk_file_against_its_links(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate --topology` routes a CTK file to the CTK checks, against that topology's links."""
    topology = tmp_path / "topo.yaml"
    topology.write_text("name: custom\nentry: front\nservices:\n"
                        "  front: {service: edge, upstreams: [ai-routing-engine]}\n"
                        "  ai-routing-engine: {service: ai-routing-engine}\nredis: {mode: off}\n")
    doc = ctk_experiment(pause_s=1)
    for step in (doc["method"][0], doc["rollbacks"][0]):
        step["provider"]["arguments"]["for_proxy"] = "front->ai-routing-engine"
    path = write(tmp_path, doc, "custom.json")
    assert main(["validate", "--topology", str(topology), str(path)]) == 0
    assert f"ok: {path} (Chaos Toolkit experiment)" in capsys.readouterr().out
    assert main(["validate", str(path)]) == 2  # the shipped topology has no such link
    assert "no link 'front->ai-routing-engine'" in capsys.readouterr().err
