"""`harness toxiproxy`: the embedded server as a command — clean stops and one-line errors."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from harness.toxiproxy import ProxySpec, ToxiproxyClient
from tests.toxiproxy.conftest import free_port, port_open, start_embedded


def harness(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", "toxiproxy", *args],
                          capture_output=True, text=True, timeout=20)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_the_server_stops_cleanly_on_sigterm_and_ctrl_c_closing_its_proxies(sig, echo):
    proc, url = start_embedded()
    info = ToxiproxyClient(url).populate([ProxySpec("p", "127.0.0.1:0", echo.address)])["p"]
    assert port_open(info.listen_port)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and "Traceback" not in err
    assert not port_open(info.listen_port)


def test_a_port_in_use_is_one_line_and_exit_code_2():
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = harness("--port", str(port))
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"--port {port}" in lines[0] and "already in use" in lines[0]


def test_an_impossible_port_is_one_line_and_exit_code_2():
    result = harness("--port", "70000")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["harness: error: --port: 70000 is not a TCP port (0-65535)"]


@pytest.mark.slow
def test_a_config_file_creates_its_proxies_before_the_api_listens(tmp_path, echo):
    port = free_port()
    config = tmp_path / "proxies.json"
    config.write_text(json.dumps([{"name": "from-config", "listen": f"127.0.0.1:{port}", "upstream": echo.address}]))
    proc = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", "0", "--config", str(config)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = proc.stdout.readline().split()[-1]  # type: ignore[union-attr]
        assert ToxiproxyClient(url).proxy("from-config").listen == f"127.0.0.1:{port}"
        assert port_open(port)
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_bad_config_file_is_one_line_naming_the_file_and_exit_code_2(tmp_path):
    config = tmp_path / "proxies.json"
    config.write_text('[{"listen": "127.0.0.1:0", "upstream": "127.0.0.1:1"}]')
    result = harness("--port", "0", "--config", str(config))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"harness: error: {config}: missing required field: name at proxy 1"
    ]


def start_with(*flags: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "-port", "0", *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().split()[-1]  # type: ignore[union-attr]


def test_metrics_are_a_404_unless_a_flag_asks_for_them():
    proc, url = start_with()
    try:
        assert requests.get(url + "/metrics", timeout=5).status_code == 404
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_proxy_metrics_count_each_finished_connections_bytes_with_the_real_servers_names(echo):
    proc, url = start_with("-proxy-metrics", "-runtime-metrics")
    try:
        info = ToxiproxyClient(url).populate([ProxySpec("metered", "127.0.0.1:0", echo.address)])["metered"]
        with socket.create_connection(("127.0.0.1", info.listen_port), timeout=5) as sock:
            sock.sendall(b"hello")
            assert sock.recv(5) == b"hello"
        text = ""
        for _ in range(50):  # counted when the link has closed on both sides
            text = requests.get(url + "/metrics", timeout=5).text
            if "toxiproxy_proxy_sent_bytes_total{" in text:
                break
            time.sleep(0.1)
        labels = f'listener="127.0.0.1:{info.listen_port}",proxy="metered",upstream="{echo.address}"'
        for direction in ("upstream", "downstream"):
            for counter in ("received", "sent"):
                assert f'toxiproxy_proxy_{counter}_bytes_total{{direction="{direction}",{labels}}} 5.0' in text
        assert "process_resident_memory_bytes " in text and "_created" not in text
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def affected(url: str, echo_address: str) -> list[bool]:
    """Which of 12 sequential connections a toxicity-0.5 `limit_data 0` toxic hits (no timing involved)."""
    client = ToxiproxyClient(url)
    info = client.populate([ProxySpec("seeded", "127.0.0.1:0", echo_address)])["seeded"]
    client.add_toxic("seeded", "coin", "limit_data", toxicity=0.5, attributes={"bytes": 0})
    hits = []
    for _ in range(12):
        with socket.create_connection(("127.0.0.1", info.listen_port), timeout=5) as sock:
            sock.sendall(b"x")
            hits.append(sock.recv(1) == b"")
    return hits


def test_the_same_seed_rolls_the_same_toxicity_for_the_same_connections(echo):
    runs = []
    for _ in range(2):
        proc, url = start_with("-seed", "42")
        try:
            runs.append(affected(url, echo.address))
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
    assert runs[0] == runs[1] and 0 < sum(runs[0]) < 12


def test_the_server_does_not_import_the_client_stack_and_the_client_stays_importable():
    code = (
        "import sys, harness.cli, harness.commands.toxiproxy\n"
        "from harness.toxiproxy import run_server, serve\n"
        "from harness.toxiproxy._server import run_server as direct\n"
        "print(sorted(m for m in ('requests', 'urllib3', 'toxiproxy', 'http.client', 'prometheus_client') if m in sys.modules))\n"
        "from harness.toxiproxy import ToxiproxyClient, ProxySpec\n"
        "print(ToxiproxyClient.__name__, 'requests' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert out.stdout.splitlines() == ["[]", "ToxiproxyClient True"]
