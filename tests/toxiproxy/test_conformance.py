"""The Toxiproxy conformance checklist (reference §2), run through the client adapter.

Every test runs against the embedded server (a real subprocess) and, when
TOXIPROXY_URL is set, against a real toxiproxy-server too (marker
`realtoxiproxy`). Raw HTTP is used only where the checklist is about bytes.
Timing bounds are wide on purpose: this suite runs on a loaded 2-core box.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import threading
import time

import pytest
import requests

from harness import InvalidToxic, ProxyExists, ProxyNotFound, ToxiproxyAPIError
from harness.toxiproxy import ProxySpec, ToxiproxyClient
from tests.toxiproxy.conftest import (
    connect,
    free_port,
    port_open,
    recv_exactly,
    recv_until_eof,
    round_trip,
)


@pytest.mark.realtoxiproxy
def test_the_checklist_also_runs_against_a_real_server_when_toxiproxy_url_is_set():
    if not os.environ.get("TOXIPROXY_URL"):
        pytest.skip("TOXIPROXY_URL is not set: the checklist ran against the embedded server only")
    assert ToxiproxyClient(os.environ["TOXIPROXY_URL"]).ping()


# -- control plane: bytes on the wire ---------------------------------------------


def test_every_response_carries_a_request_id(toxi):
    for method, path in (("GET", "/version"), ("GET", "/proxies"), ("POST", "/reset"), ("GET", "/proxies/nope")):
        response = requests.request(method, toxi.url + path, timeout=5)
        assert response.headers.get("X-Toxiproxy-Request-Id"), (method, path)


def test_a_browser_user_agent_is_refused_but_curl_and_wget_are_not(toxi):
    blocked = requests.get(toxi.url + "/proxies", headers={"User-Agent": "Mozilla/5.0 (X11)"}, timeout=5)
    assert blocked.status_code == 403
    assert blocked.content == b"User agent not allowed\n"
    assert blocked.headers["Content-Type"] == "text/plain; charset=utf-8"
    for agent in ("curl/8.5.0", "Wget/2.1"):
        assert requests.get(toxi.url + "/proxies", headers={"User-Agent": agent}, timeout=5).status_code == 200


def test_version_is_json_with_a_space_and_a_newline(toxi):
    response = requests.get(toxi.url + "/version", timeout=5)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=utf-8"
    assert response.content.startswith(b'{"version": "') and response.content.endswith(b'"}\n')
    assert toxi.client.version() == json.loads(response.content)["version"]


def test_unknown_paths_are_a_plain_404_and_wrong_methods_an_empty_405(toxi):
    for path in ("/nope", "/proxies/"):
        response = requests.get(toxi.url + path, timeout=5)
        assert (response.status_code, response.content) == (404, b"404 page not found\n")
    for method, path in (("PUT", "/proxies"), ("GET", "/reset"), ("DELETE", "/version")):
        response = requests.request(method, toxi.url + path, timeout=5)
        assert (response.status_code, response.content) == (405, b""), (method, path)


def test_errors_are_text_plain_json_with_a_trailing_newline(toxi):
    response = requests.get(toxi.url + "/proxies/does-not-exist", timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content == b'{"error":"proxy not found","status":404}\n'


def test_bad_json_and_wrong_types_name_the_go_error(toxi):
    bad = requests.post(toxi.url + "/proxies", data=b"{bad", timeout=5)
    assert bad.status_code == 400
    assert bad.json()["error"] == "bad request body: invalid character 'b' looking for beginning of object key string"
    empty = requests.post(toxi.url + "/proxies", data=b"", timeout=5)
    assert empty.json() == {"error": "bad request body: EOF", "status": 400}
    typed = requests.post(toxi.url + "/proxies", data=b'{"name":"x","upstream":"y","enabled":"yes"}', timeout=5)
    assert typed.json()["error"] == (
        "bad request body: json: cannot unmarshal string into Go struct field Proxy.enabled of type bool"
    )


def test_proxy_objects_leak_an_empty_logger_like_the_real_server(toxi, echo):
    info = toxi.proxy(echo.address)
    raw = requests.get(f"{toxi.url}/proxies/{info.name}", timeout=5).json()
    assert list(raw) == ["name", "listen", "upstream", "enabled", "Logger", "toxics"]
    assert raw["Logger"] == {} and raw["toxics"] == []


# -- proxies ----------------------------------------------------------------------


def test_blank_name_or_upstream_is_a_400_naming_the_field(toxi):
    with pytest.raises(InvalidToxic, match="missing required field: name"):
        toxi.client.create_proxy(ProxySpec("", "127.0.0.1:0", "127.0.0.1:1"))
    with pytest.raises(InvalidToxic, match="missing required field: upstream"):
        toxi.client.create_proxy(ProxySpec(toxi.name(), "127.0.0.1:0", ""))


def test_listen_is_resolved_and_upstream_kept_verbatim(toxi):
    port = free_port()
    info = toxi.proxy("localhost:3310", listen=f"localhost:{port}")
    assert info.listen == f"127.0.0.1:{port}" and info.upstream == "localhost:3310"
    assert info.enabled and info.toxics == ()
    assert toxi.client.proxies()[info.name] == info


def test_a_disabled_proxy_keeps_its_raw_listen_and_opens_only_when_enabled(toxi):
    port = free_port()
    info = toxi.proxy("127.0.0.1:1", listen=f"localhost:{port}", enabled=False)
    assert info.listen == f"localhost:{port}" and not port_open(port)
    assert toxi.client.enable(info.name).listen == f"127.0.0.1:{port}"
    assert port_open(port)
    toxi.client.disable(info.name)
    assert not port_open(port)


def test_delete_closes_the_port_and_a_second_delete_is_404(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.delete_proxy(info.name)
    assert not port_open(info.listen_port) and info.name not in toxi.client.proxies()
    with pytest.raises(ProxyNotFound, match="proxy not found"):
        toxi.client.delete_proxy(info.name)


def test_a_port_conflict_is_a_500_and_a_name_conflict_a_409(toxi, echo):
    first = toxi.proxy(echo.address)
    with pytest.raises(ToxiproxyAPIError, match=f"listen tcp 127.0.0.1:{first.listen_port}: bind: address already in use") as exc:
        toxi.proxy(echo.address, listen=first.listen)
    assert exc.value.status == 500
    with pytest.raises(ProxyExists, match="proxy already exists"):
        toxi.client.create_proxy(ProxySpec(first.name, "127.0.0.1:0", echo.address))
    toxi.client.delete_proxy(first.name)
    assert toxi.proxy(echo.address, listen=first.listen).listen_port == first.listen_port


def test_populate_creates_in_order_and_honours_enabled(toxi, echo):
    a, b, c = toxi.name(), toxi.name(), toxi.name()
    toxi.track(a, b, c)
    got = toxi.client.populate([
        ProxySpec(a, "127.0.0.1:0", echo.address),
        ProxySpec(b, "127.0.0.1:0", echo.address),
        ProxySpec(c, f"127.0.0.1:{free_port()}", echo.address, enabled=False),
    ])
    assert list(got) == [a, b, c]
    assert port_open(got[a].listen_port) and port_open(got[b].listen_port)
    assert not got[c].enabled and not port_open(int(got[c].listen.rsplit(":", 1)[1]))


def test_populate_keeps_an_unchanged_proxy_and_its_toxics_but_replaces_a_changed_one(toxi, echo):
    port = free_port()
    name = toxi.name()
    toxi.track(name)
    toxi.client.populate([ProxySpec(name, f"127.0.0.1:{port}", echo.address)])
    toxi.client.add_toxic(name, "slow", "latency", attributes={"latency": 5})
    again = toxi.client.populate([ProxySpec(name, f"localhost:{port}", echo.address)])[name]
    assert again.listen == f"127.0.0.1:{port}" and [t.name for t in again.toxics] == ["slow"]
    moved = toxi.client.populate([ProxySpec(name, "127.0.0.1:0", echo.address)])[name]
    assert moved.listen_port != port and moved.toxics == () and port_open(moved.listen_port)


def test_populate_validates_every_entry_before_creating_any(toxi, echo):
    first = toxi.name()
    with pytest.raises(InvalidToxic, match="missing required field: name at proxy 2"):
        toxi.client.populate([ProxySpec(first, "127.0.0.1:0", echo.address), ProxySpec("", "127.0.0.1:0", echo.address)])
    assert first not in toxi.client.proxies()


def test_populate_stops_at_the_first_failure_keeping_what_came_before(toxi, echo):
    a, b, c = toxi.name(), toxi.name(), toxi.name()
    toxi.track(a, b, c)
    body = [{"name": a, "listen": "127.0.0.1:0", "upstream": echo.address},
            {"name": b, "listen": "bogus", "upstream": echo.address},
            {"name": c, "listen": "127.0.0.1:0", "upstream": echo.address}]
    response = requests.post(toxi.url + "/populate", json=body, timeout=5)
    assert response.status_code == 500 and response.headers["Content-Type"] == "application/json"
    data = response.json()
    assert data["error"] == "listen tcp: address bogus: missing port in address"
    assert [p["name"] for p in data["proxies"]] == [a]
    names = toxi.client.proxies()
    assert a in names and b not in names and c not in names


def test_populate_with_an_empty_array_answers_null_proxies(toxi):
    response = requests.post(toxi.url + "/populate", data=b"[]", timeout=5)
    assert (response.status_code, response.content) == (201, b'{"proxies":null}')


def test_updating_listen_to_port_zero_moves_the_proxy_and_same_values_keep_it(toxi, echo):
    info = toxi.proxy(echo.address)
    moved = requests.post(f"{toxi.url}/proxies/{info.name}", json={"listen": "localhost:0"}, timeout=5).json()
    new_port = int(moved["listen"].rsplit(":", 1)[1])
    assert new_port != info.listen_port and port_open(new_port) and not port_open(info.listen_port)
    same = requests.patch(f"{toxi.url}/proxies/{info.name}", json={"listen": moved["listen"]}, timeout=5)
    assert same.status_code == 200 and port_open(new_port)


def test_the_same_port_given_as_a_hostname_does_not_drop_connections(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    requests.post(f"{toxi.url}/proxies/{info.name}", json={"listen": f"localhost:{info.listen_port}"}, timeout=5)
    round_trip(sock)
    sock.close()


def test_reset_enables_every_proxy_and_removes_every_toxic(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "slow", "latency", attributes={"latency": 100})
    toxi.client.disable(info.name)
    toxi.client.reset()
    after = toxi.client.proxy(info.name)
    assert after.enabled and after.toxics == () and port_open(after.listen_port)


# -- toxics -----------------------------------------------------------------------


def test_a_toxic_round_trips_with_numeric_attributes(toxi, echo):
    info = toxi.proxy(echo.address)
    added = toxi.client.add_toxic(info.name, "lat", "latency", stream="upstream", toxicity=0.2,
                                  attributes={"latency": 100, "jitter": 10})
    assert (added.name, added.type, added.stream) == ("lat", "latency", "upstream")
    assert added.toxicity == pytest.approx(0.2) and dict(added.attributes) == {"latency": 100, "jitter": 10}
    raw = requests.get(f"{toxi.url}/proxies/{info.name}/toxics", timeout=5).json()
    assert raw == [{"attributes": {"latency": 100, "jitter": 10}, "name": "lat", "type": "latency",
                    "stream": "upstream", "toxicity": 0.2}]


def test_stacked_toxics_get_default_attributes_and_stay_in_their_stream(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "one", "latency")
    toxi.client.add_toxic(info.name, "two", "latency")
    toxics = toxi.client.toxics(info.name)
    assert [(t.name, t.stream, dict(t.attributes)) for t in toxics] == [
        ("one", "downstream", {"latency": 0, "jitter": 0}),
        ("two", "downstream", {"latency": 0, "jitter": 0}),
    ]


def test_a_toxic_name_is_unique_across_both_streams(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "dup", "latency", attributes={"latency": 7})
    with pytest.raises(ProxyExists, match="toxic already exists"):
        toxi.client.add_toxic(info.name, "dup", "bandwidth")
    with pytest.raises(ProxyExists, match="toxic already exists"):
        toxi.client.add_toxic(info.name, "dup", "latency", stream="upstream")
    assert [(t.type, t.attributes["latency"]) for t in toxi.client.toxics(info.name)] == [("latency", 7)]


def test_default_names_are_type_and_stream_and_the_stream_is_echoed_as_given(toxi, echo):
    info = toxi.proxy(echo.address)
    url = f"{toxi.url}/proxies/{info.name}/toxics"
    up = requests.post(url, json={"type": "latency", "stream": "upstream"}, timeout=5).json()
    down = requests.post(url, json={"type": "latency"}, timeout=5).json()
    shouty = requests.post(url, json={"type": "noop", "stream": "UPSTREAM", "Attributes": None}, timeout=5).json()
    assert (up["name"], down["name"], down["stream"], down["toxicity"]) == (
        "latency_upstream", "latency_downstream", "downstream", 1)
    assert (shouty["name"], shouty["stream"], shouty["attributes"]) == ("noop_UPSTREAM", "UPSTREAM", {})


def test_keys_match_case_insensitively_and_trailing_garbage_is_ignored(toxi, echo):
    info = toxi.proxy(echo.address)
    body = b'{"Type":"latency","NAME":"ci","Attributes":{"LATENCY":5}} trailing garbage'
    response = requests.post(f"{toxi.url}/proxies/{info.name}/toxics", data=body, timeout=5)
    assert response.status_code == 200 and response.json()["attributes"] == {"latency": 5, "jitter": 0}


def test_updates_merge_attributes_and_keep_toxicity_when_absent(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 100, "jitter": 10})
    updated = toxi.client.update_toxic(info.name, "lat", toxicity=0.5, attributes={"latency": 1000})
    assert dict(updated.attributes) == {"latency": 1000, "jitter": 10} and updated.toxicity == 0.5
    again = toxi.client.update_toxic(info.name, "lat", attributes={"jitter": 3})
    assert dict(again.attributes) == {"latency": 1000, "jitter": 3} and again.toxicity == 0.5


def test_removing_a_toxic_takes_it_off_the_list(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lat", "latency")
    toxi.client.remove_toxic(info.name, "lat")
    assert toxi.client.toxics(info.name) == []
    with pytest.raises(ProxyNotFound, match="toxic not found"):
        toxi.client.remove_toxic(info.name, "lat")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"type": "latency", "stream": "walrustream"}, "stream was invalid, can be either upstream or downstream"),
        ({"type": "latency", "stream": ""}, "stream was invalid, can be either upstream or downstream"),
        ({"type": "bogus"}, "invalid toxic type"),
        ({"stream": "upstream"}, "invalid toxic type"),
        ({"type": "latency", "attributes": {"latency": "5"}},
         "bad request body: json: cannot unmarshal string into Go struct field LatencyToxic.attributes.latency of type int64"),
        ({"type": "latency", "attributes": {"latency": 1.5}},
         "bad request body: json: cannot unmarshal number 1.5 into Go struct field LatencyToxic.attributes.latency of type int64"),
    ],
)
def test_bad_toxics_are_400_with_the_real_servers_message(toxi, echo, body, message):
    info = toxi.proxy(echo.address)
    response = requests.post(f"{toxi.url}/proxies/{info.name}/toxics", json=body, timeout=5)
    assert response.status_code == 400 and response.json() == {"error": message, "status": 400}


def test_a_toxic_on_an_unknown_proxy_is_404(toxi):
    with pytest.raises(ProxyNotFound, match="proxy not found"):
        toxi.client.add_toxic("no-such-proxy", "lat", "latency")


def test_slicer_average_size_zero_is_refused_instead_of_crashing(toxi, echo):
    if toxi.kind == "real":
        pytest.skip("a real toxiproxy-server accepts it and then crashes with a stack overflow")
    info = toxi.proxy(echo.address)
    with pytest.raises(InvalidToxic, match="average_size must be at least 1"):
        toxi.client.add_toxic(info.name, "cut", "slicer", attributes={"average_size": 0})


# -- data plane -------------------------------------------------------------------


def test_messages_small_large_and_in_two_parts_arrive_intact(toxi, echo):
    sock = connect(toxi.proxy(echo.address))
    round_trip(sock, b"hello world")
    big = bytes(range(256)) * 256
    sock.sendall(big)
    assert recv_exactly(sock, len(big)) == big
    sock.sendall(b"two ")
    sock.sendall(b"parts")
    assert recv_exactly(sock, 9) == b"two parts"
    sock.close()


def test_an_unreachable_upstream_accepts_then_closes(toxi):
    sock = connect(toxi.proxy(f"127.0.0.1:{free_port()}"), timeout=2)
    start = time.monotonic()
    assert sock.recv(10) == b""
    assert time.monotonic() - start < 0.5
    sock.close()


def test_latency_is_added_per_direction_and_adds_up(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    base = round_trip(sock)
    toxi.client.add_toxic(info.name, "down", "latency", attributes={"latency": 200})
    assert 0.18 <= round_trip(sock) - base <= 0.4
    toxi.client.add_toxic(info.name, "up", "latency", stream="upstream", attributes={"latency": 100})
    start = time.monotonic()
    sock.sendall(b"x")
    recv_exactly(sock, 1)
    server_read = echo.reads[-1][0] - start
    assert 0.09 <= server_read <= 0.3
    assert 0.28 <= time.monotonic() - start <= 0.55
    sock.close()


def test_an_update_applies_to_the_next_message_on_an_open_connection(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 50})
    assert 0.045 <= round_trip(sock) <= 0.3
    toxi.client.update_toxic(info.name, "lat", attributes={"latency": 250})
    assert 0.23 <= round_trip(sock) <= 0.5
    toxi.client.remove_toxic(info.name, "lat")
    assert round_trip(sock) < 0.1
    sock.close()


def test_toxicity_zero_never_applies_the_toxic(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "never", "timeout", toxicity=0.0)
    sock = connect(info)
    round_trip(sock)
    sock.close()


def test_disabling_drops_open_connections_and_refuses_new_ones(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    round_trip(sock)
    with toxi.client.down(info.name):
        assert sock.recv(10) == b""
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", info.listen_port), timeout=2)
    again = connect(info)
    round_trip(again)
    again.close()
    sock.close()


def test_changing_the_upstream_drops_open_connections(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    round_trip(sock)
    requests.post(f"{toxi.url}/proxies/{info.name}", json={"upstream": f"localhost:{echo.port}"}, timeout=5)
    assert sock.recv(10) == b""
    sock.close()


def test_adding_and_removing_toxics_while_streaming_loses_and_reorders_nothing(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info, timeout=10)
    payload = b"".join(struct.pack(">H", i) for i in range(20000))
    received = bytearray()

    def reader() -> None:
        while len(received) < len(payload):
            chunk = sock.recv(65536)
            if not chunk:
                return
            received.extend(chunk)

    thread = threading.Thread(target=reader)
    thread.start()
    for i in range(0, len(payload), 2000):
        sock.sendall(payload[i : i + 2000])
        stream = "upstream" if (i // 2000) % 2 else "downstream"
        toxi.client.add_toxic(info.name, f"l{i}", "latency", stream=stream, attributes={"latency": 1})
        toxi.client.add_toxic(info.name, f"s{i}", "slicer", stream=stream, attributes={"average_size": 64, "delay": 10})
        toxi.client.remove_toxic(info.name, f"l{i}")
        toxi.client.remove_toxic(info.name, f"s{i}")
    thread.join(10)
    assert bytes(received) == payload
    sock.close()


def test_bandwidth_limits_throughput_and_rate_zero_stalls_until_removed(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    toxi.client.add_toxic(info.name, "bw", "bandwidth", attributes={"rate": 100})
    assert 0.17 <= round_trip(sock, b"b" * 20000) <= 0.6
    toxi.client.update_toxic(info.name, "bw", attributes={"rate": 0})
    sock.sendall(b"stalled")
    sock.settimeout(0.3)
    with pytest.raises(TimeoutError):
        sock.recv(10)
    sock.settimeout(5)
    toxi.client.remove_toxic(info.name, "bw")
    assert recv_exactly(sock, 7) == b"stalled"
    sock.close()


def test_slow_close_delays_the_close_after_eof(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "sc", "slow_close", attributes={"delay": 300})
    sock = connect(info)
    round_trip(sock)
    start = time.monotonic()
    echo.conns[-1].shutdown(socket.SHUT_WR)
    assert sock.recv(10) == b""
    assert 0.28 <= time.monotonic() - start <= 0.8
    sock.close()


def test_timeout_drops_data_then_closes_and_closes_when_removed(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "to", "timeout", attributes={"timeout": 200})
    sock = connect(info)
    start = time.monotonic()
    sock.sendall(b"lost")
    assert sock.recv(10) == b""
    assert 0.15 <= time.monotonic() - start <= 0.6
    sock.close()
    toxi.client.update_toxic(info.name, "to", attributes={"timeout": 0})
    held = connect(info)
    held.sendall(b"lost too")
    held.settimeout(0.3)
    with pytest.raises(TimeoutError):
        held.recv(10)
    held.settimeout(5)
    toxi.client.remove_toxic(info.name, "to")
    assert held.recv(10) == b""
    held.close()


def test_reset_peer_present_at_connect_resets_but_added_later_closes_cleanly(toxi, echo):
    info = toxi.proxy(echo.address)
    later = connect(info)
    round_trip(later)  # the link is up before the toxic exists
    toxi.client.add_toxic(info.name, "rst", "reset_peer", attributes={"timeout": 50})
    early = connect(info)
    early.sendall(b"x")
    with pytest.raises(ConnectionResetError):
        recv_until_eof(early)
    early.close()
    later.sendall(b"x")
    assert recv_until_eof(later) == b""
    later.close()


def test_slicer_cuts_data_into_pieces_without_losing_any(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "cut", "slicer", attributes={"average_size": 10, "size_variation": 5, "delay": 2000})
    sock = connect(info)
    payload = bytes(range(200))
    sock.sendall(payload)
    reads = []
    while sum(map(len, reads)) < len(payload):
        reads.append(sock.recv(1000))
    assert b"".join(reads) == payload and len(reads) >= 5
    sock.close()


def test_limit_data_passes_exactly_n_bytes_and_keeps_count_across_updates(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lim", "limit_data", attributes={"bytes": 10})
    sock = connect(info)
    sock.sendall(b"0123456789abcdef")
    assert recv_until_eof(sock) == b"0123456789"
    sock.close()
    toxi.client.update_toxic(info.name, "lim", attributes={"bytes": 15})
    kept = connect(info)
    kept.sendall(b"01234567")
    assert recv_exactly(kept, 8) == b"01234567"
    toxi.client.update_toxic(info.name, "lim", attributes={"bytes": 12})
    kept.sendall(b"89abcdef")
    assert recv_until_eof(kept) == b"89ab"
    kept.close()


def test_noop_toxics_on_both_streams_and_two_resets_keep_a_connection_echoing(toxi, echo):
    info = toxi.proxy(echo.address)
    sock = connect(info)
    toxi.client.add_toxic(info.name, "n_up", "noop", stream="upstream")
    toxi.client.add_toxic(info.name, "n_down", "noop")
    round_trip(sock)
    toxi.client.reset()
    toxi.client.reset()
    round_trip(sock)
    sock.close()


def test_removing_a_timeout_toxic_closes_both_the_client_and_the_server_connection(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 10})
    toxi.client.add_toxic(info.name, "to", "timeout", attributes={"timeout": 0})
    sock = connect(info)
    sock.sendall(b"swallowed")
    time.sleep(0.1)
    toxi.client.remove_toxic(info.name, "lat")
    toxi.client.remove_toxic(info.name, "to")
    assert recv_until_eof(sock) == b""
    assert echo.closed.wait(1.0)
    sock.close()


def test_latency_is_timed_from_receipt_so_a_big_transfer_is_delayed_once(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 100})
    sock = connect(info, timeout=10)
    payload = bytes(range(256)) * 4096  # 1 MiB: many chunks, each must not wait its own 100 ms in turn
    start = time.monotonic()
    sender = threading.Thread(target=sock.sendall, args=(payload,))
    sender.start()
    assert recv_exactly(sock, len(payload)) == payload
    sender.join()
    assert 0.09 <= time.monotonic() - start <= 1.0
    sock.close()


def test_adding_and_removing_a_toxic_around_short_connections_never_hangs(toxi, echo):
    info = toxi.proxy(echo.address)
    for i in range(40):
        toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 1})
        sock = connect(info, timeout=2)
        sock.sendall(b"%d" % i)
        sock.close()
        toxi.client.remove_toxic(info.name, "lat")
    round_trip(connect(info))


def test_two_latency_toxics_in_one_stream_add_up(toxi, echo):
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "a", "latency", stream="upstream", attributes={"latency": 100})
    toxi.client.add_toxic(info.name, "b", "latency", stream="upstream", attributes={"latency": 100})
    sock = connect(info)
    assert 0.18 <= round_trip(sock) <= 0.4
    sock.close()
