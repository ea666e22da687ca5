"""The client adapter: one client per server, clear errors, and rollbacks that always run."""

from __future__ import annotations

import http.server
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from harness import ConfigError, FaultInjectionError, ProxyExists, ToxiproxyUnreachable
from harness.toxiproxy import ProxySpec, ToxiproxyClient
from tests.toxiproxy.conftest import connect, free_port, port_open, round_trip, start_embedded, stop


@pytest.mark.slow
def test_two_clients_for_two_servers_coexist_in_one_process(embedded_url, echo):
    proc, other_url = start_embedded()
    try:
        with ToxiproxyClient(embedded_url) as first, ToxiproxyClient(other_url) as second:
            first.create_proxy(ProxySpec("twin", "127.0.0.1:0", echo.address))
            second.create_proxy(ProxySpec("twin", "127.0.0.1:0", "127.0.0.1:1"))
            assert first.proxy("twin").upstream == echo.address
            assert second.proxy("twin").upstream == "127.0.0.1:1"
            first.delete_proxy("twin")
            assert "twin" not in first.proxies() and "twin" in second.proxies()
    finally:
        stop(proc)


def test_the_url_defaults_to_toxiproxy_url_then_the_standard_port(monkeypatch):
    monkeypatch.setenv("TOXIPROXY_URL", "http://127.0.0.1:9/")
    assert ToxiproxyClient().url == "http://127.0.0.1:9"
    monkeypatch.delenv("TOXIPROXY_URL")
    assert ToxiproxyClient().url == "http://127.0.0.1:8474"


def test_an_unreachable_server_is_one_line_naming_toxiproxy_url_and_exit_code_2():
    url = f"http://127.0.0.1:{free_port()}"
    client = ToxiproxyClient(url)
    assert client.ping() is False
    with pytest.raises(ToxiproxyUnreachable) as exc:
        client.proxies()
    message = str(exc.value)
    assert "TOXIPROXY_URL" in message and url in message and "\n" not in message
    assert exc.value.exit_code == 2


@pytest.mark.parametrize("url", ["localhost:8474", "ftp://127.0.0.1:8474", "http://", "http://127.0.0.1:99999"])
def test_a_malformed_url_is_a_config_error_naming_toxiproxy_url(url):
    with pytest.raises(ConfigError, match="TOXIPROXY_URL") as exc:
        ToxiproxyClient(url)
    assert exc.value.exit_code == 2


def test_a_server_that_is_not_toxiproxy_is_reported_as_the_wrong_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    server.RequestHandlerClass.log_message = lambda *a: None  # type: ignore[method-assign]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ToxiproxyClient(f"http://127.0.0.1:{server.server_port}")
        with pytest.raises(ToxiproxyUnreachable, match="does not look like a Toxiproxy server"):
            client.proxy("nope")
    finally:
        server.shutdown()
        server.server_close()


def test_api_errors_carry_the_status_and_the_servers_message(embedded_url, echo):
    with ToxiproxyClient(embedded_url) as client:
        client.create_proxy(ProxySpec("dup", "127.0.0.1:0", echo.address))
        try:
            with pytest.raises(ProxyExists, match="HTTP 409: proxy already exists") as exc:
                client.create_proxy(ProxySpec("dup", "127.0.0.1:0", echo.address))
            assert exc.value.status == 409
        finally:
            client.delete_proxy("dup")


def test_rollback_removes_added_toxics_and_reenables_disabled_proxies_and_is_idempotent(embedded_url, echo):
    admin = ToxiproxyClient(embedded_url)
    info = admin.create_proxy(ProxySpec("rb", "127.0.0.1:0", echo.address))
    try:
        client = ToxiproxyClient(embedded_url)
        client.add_toxic("rb", "slow", "latency", attributes={"latency": 100})
        client.add_toxic("rb", "gone", "latency", stream="upstream")
        admin.remove_toxic("rb", "gone")  # removed behind the client's back: rollback must not mind
        client.disable("rb")
        client.rollback()
        after = admin.proxy("rb")
        assert after.toxics == () and after.enabled and port_open(info.listen_port)
        assert client.pending_rollback == ([], [])
        client.rollback()
    finally:
        admin.delete_proxy("rb")


def test_leaving_the_with_block_on_an_error_rolls_back_and_keeps_the_error(embedded_url, echo):
    admin = ToxiproxyClient(embedded_url)
    admin.create_proxy(ProxySpec("ctx", "127.0.0.1:0", echo.address))
    try:
        with pytest.raises(RuntimeError, match="boom"):
            with ToxiproxyClient(embedded_url) as client:
                client.add_toxic("ctx", "slow", "latency", attributes={"latency": 100})
                raise RuntimeError("boom")
        assert admin.toxics("ctx") == []
    finally:
        admin.delete_proxy("ctx")


def test_down_reenables_the_proxy_even_when_the_block_fails(embedded_url, echo):
    admin = ToxiproxyClient(embedded_url)
    info = admin.create_proxy(ProxySpec("dn", "127.0.0.1:0", echo.address))
    try:
        with pytest.raises(RuntimeError):
            with admin.down("dn"):
                assert not port_open(info.listen_port)
                raise RuntimeError("fault while down")
        round_trip(connect(info))
    finally:
        admin.delete_proxy("dn")


@pytest.mark.slow
def test_rollback_that_cannot_reach_the_server_says_what_was_left(embedded_url, echo):
    proc, url = start_embedded()
    client = ToxiproxyClient(url)
    client.create_proxy(ProxySpec("lost", "127.0.0.1:0", echo.address))
    client.add_toxic("lost", "slow", "latency")
    stop(proc)
    with pytest.raises(FaultInjectionError, match="rollback incomplete: toxic 'slow' on 'lost'"):
        client.rollback()


CTRL_C_SCRIPT = textwrap.dedent(
    """
    import sys, time
    from harness.toxiproxy import ToxiproxyClient
    with ToxiproxyClient(sys.argv[1]) as client:
        client.add_toxic("sigint", "slow", "latency", attributes={"latency": 300})
        client.add_toxic("sigint", "cut", "timeout", stream="upstream", attributes={"timeout": 0})
        client.disable("sigint")
        print("injected", flush=True)
        time.sleep(30)
    """
)


@pytest.mark.slow
def test_ctrl_c_in_a_real_process_rolls_every_fault_back(embedded_url, echo):
    admin = ToxiproxyClient(embedded_url)
    info = admin.create_proxy(ProxySpec("sigint", "127.0.0.1:0", echo.address))
    try:
        proc = subprocess.Popen([sys.executable, "-c", CTRL_C_SCRIPT, embedded_url], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "injected"  # type: ignore[union-attr]
        assert len(admin.toxics("sigint")) == 2 and not admin.proxy("sigint").enabled
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        assert "KeyboardInterrupt" in err
        after = admin.proxy("sigint")
        assert after.toxics == () and after.enabled
        round_trip(connect(info))
    finally:
        admin.delete_proxy("sigint")


def test_the_toxiproxy_python_package_on_its_own_works_against_the_embedded_server(embedded_url, echo, monkeypatch):
    from urllib.parse import urlsplit

    from toxiproxy import Toxiproxy
    from toxiproxy.api import APIConsumer

    parts = urlsplit(embedded_url)
    monkeypatch.setattr(APIConsumer, "host", parts.hostname)  # the package's one global server
    monkeypatch.setattr(APIConsumer, "port", parts.port)
    server = Toxiproxy()
    assert server.running() and server.version()
    proxy = server.create(upstream=echo.address, name="pkg")
    try:
        proxy.add_toxic(type="latency", attributes={"latency": 5})
        assert list(proxy.toxics()) == ["latency_downstream"]
        proxy.disable()
        assert not server.proxies()["pkg"].enabled
        server.reset()
        assert server.get_proxy("pkg").enabled and proxy.toxics() == {}
    finally:
        server.destroy(proxy)
    assert server.get_proxy("pkg") is None
