from __future__ import annotations

import subprocess
import sys
import time

import pytest

from harness._verdicts import Check, Verdict
from harness.monitoring import DescriptorCache, MonitoringExporter


@pytest.mark.slow
def test_the_emulator_process_receives_an_export_and_summarises_it_on_sigterm():
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness.monitoring", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first = proc.stdout.readline()
        assert first.startswith("monitoring emulator listening on 127.0.0.1:"), first
        endpoint = first.split()[-1]
        check = Check("api-latency-p95", Verdict.PASS, 50.0, 100.0, "lt", unit="ms")
        with MonitoringExporter("demo-project", endpoint=endpoint, descriptors=DescriptorCache()) as exporter:
            result = exporter.export_checks([check], run_id="r", stage="10", scenario="s", end_time=time.time())
        assert result.ok and result.written == 4
        proc.terminate()
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    assert "CreateTimeSeries projects/demo-project: 4 series" in out
    assert "custom.googleapis.com/xynergy_harness/latency: 1" in out


def test_the_emulator_refuses_a_taken_port_with_one_line_and_exit_code_2():
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "harness.monitoring", "--port", str(port)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and f"--port {port}: Address already in use" in done.stderr
