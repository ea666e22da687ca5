"""Conformance, continued: hostile input and the HTTP layer of the API (issue 14).

Like test_conformance.py, every test runs against the embedded server and,
when TOXIPROXY_URL is set, against a real toxiproxy-server 2.12.0 too; where
the two deliberately differ the test says so and checks the common ground.
Raw sockets are used because the point is the bytes (status lines, 100
Continue, 301, 431) that HTTP clients hide.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests

from tests.toxiproxy.conftest import connect, recv_exactly, round_trip


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def exchange(url: str, data: bytes, *, timeout: float = 10.0) -> bytes:
    """Send raw bytes to the API and read until it closes the connection (or `timeout`)."""
    with socket.create_connection(_address(url), timeout=timeout) as sock:
        sender = threading.Thread(target=_send_quietly, args=(sock, data))
        sender.start()
        received = _read_to_eof(sock)
        sender.join(timeout)
    return received


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:  # the server answered and closed before taking everything (431, 413)
        pass


def _read_to_eof(sock: socket.socket) -> bytes:
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, ConnectionResetError):
            return received
        if not chunk:
            return received
        received += chunk


def request(method: str, path: str, body: bytes = b"", *, extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: toxiproxy\r\nConnection: close\r\n{extra}"
    return head.encode() + f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def status_and_body(raw: bytes) -> tuple[int, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def headers_of(raw: bytes) -> dict[str, str]:
    head = raw.partition(b"\r\n\r\n")[0].decode("latin-1").split("\r\n")[1:]
    return {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head)}


# -- D8: bad JSON and text never reach an unguarded spot -----------------------------


def test_a_lone_surrogate_in_a_proxy_name_never_breaks_the_proxy_list(toxi, echo):
    name = toxi.name()
    body = b'{"name":"\\ud800' + name.encode() + b'","upstream":"' + echo.address.encode() + b'"}'
    status, answer = status_and_body(exchange(toxi.url, request("POST", "/proxies", body)))
    listed = requests.get(toxi.url + "/proxies", timeout=5)
    assert status != 500 and listed.status_code == 200
    if toxi.kind == "real":  # Go stores U+FFFD for the surrogate: clean up what it made
        toxi.track("\ufffd" + name)
        return
    assert status == 400
    assert json.loads(answer)["error"] == "bad request body: lone surrogate \\ud800 in string literal (not valid UTF-8)"
    assert not any(name in key for key in listed.json())


@pytest.mark.parametrize(("depth", "message"), [
    (200_000, "bad request body: invalid character '[' exceeded max depth"),
    (10_001, "bad request body: invalid character '[' exceeded max depth"),
    (10_000, "bad request body: json: cannot unmarshal array into Go value of type toxiproxy.Proxy"),
])
def test_deep_json_is_a_400_at_gos_depth_limit(toxi, depth, message):
    body = b"[" * depth + b"]" * depth
    response = requests.post(toxi.url + "/proxies", data=body, timeout=10)
    assert (response.status_code, response.json()["error"]) == (400, message)


def test_a_number_of_100_000_digits_is_a_400_naming_the_field(toxi, echo):
    digits = "1" * 100_000
    proxy = requests.post(toxi.url + "/proxies", data=f'{{"name":"x","upstream":"y","enabled":{digits}}}', timeout=10)
    assert proxy.status_code == 400
    assert proxy.json()["error"] == "bad request body: json: cannot unmarshal number into Go struct field Proxy.enabled of type bool"
    info = toxi.proxy(echo.address)
    toxic = requests.post(f"{toxi.url}/proxies/{info.name}/toxics",
                          data=f'{{"type":"latency","attributes":{{"latency":{digits}}}}}', timeout=10)
    assert toxic.status_code == 400
    assert toxic.json()["error"] == (f"bad request body: json: cannot unmarshal number {digits} into Go struct field "
                                     "LatencyToxic.attributes.latency of type int64")


def test_a_toxicity_at_float32s_maximum_is_stored_and_listed(toxi, echo):
    info = toxi.proxy(echo.address)
    added = requests.post(f"{toxi.url}/proxies/{info.name}/toxics",
                          json={"type": "noop", "toxicity": 3.4028234663852886e38}, timeout=5)
    assert added.status_code == 200
    assert requests.get(toxi.url + "/proxies", timeout=5).status_code == 200


# -- D9: a body of a million one-byte chunks --------------------------------------------


def test_a_million_one_byte_chunks_are_answered_while_proxied_traffic_keeps_flowing(toxi, echo):
    info = toxi.proxy(echo.address)
    payload = b'{"name":"' + b"a" * 999_980 + b'"}'
    chunks = b"".join(b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(len(payload))) + b"0\r\n\r\n"
    head = b"POST /proxies HTTP/1.1\r\nHost: toxiproxy\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
    answered = threading.Event()
    result: list[bytes] = []

    def flood() -> None:
        result.append(exchange(toxi.url, head + chunks, timeout=120))
        answered.set()

    thread = threading.Thread(target=flood)
    sock = connect(info)
    thread.start()
    pings_while_unanswered = 0
    while not answered.is_set():
        round_trip(sock)
        pings_while_unanswered += not answered.is_set()
    thread.join()
    sock.close()
    status, body = status_and_body(result[0])
    assert (status, json.loads(body)["error"]) == (400, "missing required field: upstream")
    assert pings_while_unanswered > 0  # the data plane was served while the body was parsed


# -- the HTTP layer: what Go's net/http and gorilla/mux do ---------------------------------


def test_expect_100_continue_is_answered_before_the_body_is_sent(toxi, echo):
    name = toxi.name()
    toxi.track(name)
    body = json.dumps({"name": name, "upstream": echo.address, "listen": "127.0.0.1:0"}).encode()
    head = request("POST", "/proxies", extra="Expect: 100-continue\r\n").replace(b"Content-Length: 0", b"Content-Length: %d" % len(body))
    with socket.create_connection(_address(toxi.url), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        status, answer = status_and_body(_read_to_eof(sock))
    assert status == 201 and json.loads(answer)["name"] == name


def test_an_unknown_expectation_is_a_417(toxi):
    status, _ = status_and_body(exchange(toxi.url, request("POST", "/proxies", b"{}", extra="Expect: teapot\r\n")))
    assert status == 417


def test_http_1_0_is_answered_as_http_1_0_and_closed(toxi):
    raw = exchange(toxi.url, b"GET /version HTTP/1.0\r\n\r\n")
    assert raw.startswith(b"HTTP/1.0 200 OK\r\n") and raw.endswith(b'"}\n')


@pytest.mark.parametrize(("path", "location"), [
    ("//proxies", "/proxies"),
    ("/proxies/x/../../version?a=1", "/version?a=1"),
    ("/./reset", "/reset"),
])
def test_a_path_that_is_not_clean_is_a_301_to_the_cleaned_one(toxi, path, location):
    raw = exchange(toxi.url, request("GET", path))
    assert status_and_body(raw)[0] == 301
    assert headers_of(raw)["location"] == location


def test_populate_with_null_creates_nothing_and_answers_201(toxi):
    response = requests.post(toxi.url + "/populate", data=b"null", timeout=5)
    assert (response.status_code, response.content) == (201, b'{"proxies":null}')


def test_a_2_mib_header_is_a_431_that_the_client_can_read(toxi):
    raw = exchange(toxi.url, b"GET /proxies HTTP/1.1\r\nHost: toxiproxy\r\nX-Big: " + b"a" * (2 << 20) + b"\r\n\r\n")
    assert raw.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n")


def test_unrouted_404_and_405_carry_no_request_id_but_routed_answers_do(toxi):
    for method, path in (("GET", "/nope"), ("PUT", "/proxies")):
        raw = exchange(toxi.url, request(method, path))
        assert status_and_body(raw)[0] in (404, 405)
        assert "x-toxiproxy-request-id" not in headers_of(raw), (method, path)
    routed = exchange(toxi.url, request("GET", "/proxies/no-such-proxy"))
    assert status_and_body(routed)[0] == 404 and headers_of(routed)["x-toxiproxy-request-id"]


@pytest.mark.slow
def test_a_request_that_does_not_arrive_in_full_is_dropped_after_the_read_timeout(toxi):
    with socket.create_connection(_address(toxi.url), timeout=40) as sock:
        sock.sendall(b"GET /proxies HTTP/1.1\r\nHost: toxiproxy\r\n")  # and never the blank line
        start = time.monotonic()
        assert _read_to_eof(sock) == b""  # closed without an answer (real server: 15 s)
    assert time.monotonic() - start < 35


# -- the latency toxic never delivers early ------------------------------------------------


def test_the_latency_toxic_never_delivers_early(toxi, echo):
    """Lateness is allowed (the box is busy); a round trip shorter than the latency is not."""
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "lat", "latency", attributes={"latency": 20})
    samples: list[float] = []

    def client() -> None:
        sock = connect(info)
        for _ in range(40):
            start = time.perf_counter()
            sock.sendall(b"x")
            assert recv_exactly(sock, 1) == b"x"
            samples.append(time.perf_counter() - start)
        sock.close()

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(samples) == 320
    assert min(samples) >= 0.020, f"{sum(s < 0.020 for s in samples)} of {len(samples)} early, fastest {min(samples) * 1000:.3f} ms"


# -- crash-input policy: what would kill a real server is a 400 here -------------------------

CRASHING = [
    ("latency", {"jitter": 2**62}, "jitter must be below 2^62"),
    ("bandwidth", {"rate": -1}, "rate must not be negative"),
    ("bandwidth", {"rate": 2**63 // 100 + 1}, "rate must not be negative"),
    ("slicer", {"average_size": 0}, "average_size must be at least 1 - size_variation"),
    ("slicer", {"average_size": -5, "size_variation": 5}, "average_size must be at least 1 - size_variation"),
    ("slicer", {"average_size": 10, "size_variation": 12}, "size_variation may exceed average_size by at most 1"),
]


@pytest.mark.parametrize(("kind", "attributes", "message"), CRASHING)
def test_attributes_that_crash_a_real_server_are_a_400(toxi, echo, kind, attributes, message):
    if toxi.kind == "real":
        pytest.skip("a real toxiproxy-server accepts these and crashes once data flows")
    info = toxi.proxy(echo.address)
    response = requests.post(f"{toxi.url}/proxies/{info.name}/toxics",
                             json={"type": kind, "attributes": attributes}, timeout=5)
    assert response.status_code == 400 and message in response.json()["error"]
    assert toxi.client.toxics(info.name) == []


ACCEPTED_EXTREMES = [
    ("latency", {"latency": -(2**63), "jitter": 2**62 - 1}),
    ("latency", {"latency": 2**63 - 1}),
    ("bandwidth", {"rate": 2**63 // 100}),
    ("slicer", {"average_size": 0, "size_variation": 1, "delay": -(2**63)}),
    ("slicer", {"average_size": 1, "size_variation": 2}),
    ("slicer", {"average_size": 2**63 - 1, "size_variation": 2**63 - 1}),
    ("slow_close", {"delay": 2**63 - 1}),
    ("timeout", {"timeout": -(2**63)}),
    ("reset_peer", {"timeout": 2**63 - 1}),
    ("limit_data", {"bytes": -(2**63)}),
]


@pytest.mark.parametrize(("kind", "attributes"), ACCEPTED_EXTREMES)
def test_extreme_attributes_the_real_server_survives_are_accepted_and_never_crash_ours(toxi, echo, kind, attributes):
    if toxi.kind == "real":
        pytest.skip("the data-plane check is for the embedded server (Go wraps some of these around)")
    info = toxi.proxy(echo.address)
    toxi.client.add_toxic(info.name, "extreme", kind, attributes=attributes)
    toxi.client.add_toxic(info.name, "extreme_up", kind, stream="upstream", attributes=attributes)
    sock = connect(info, timeout=0.5)
    try:
        sock.sendall(bytes(range(256)) * 16)
        sock.recv(65536)
    except OSError:
        pass  # delayed forever, dropped or closed: whatever the toxic does, the server must live on
    sock.close()
    assert toxi.client.version()
    toxi.client.remove_toxic(info.name, "extreme")
    toxi.client.remove_toxic(info.name, "extreme_up")
    round_trip(connect(info))


@pytest.mark.parametrize("upstream", ["garbage", "127.0.0.1:99999", "[::1", "127.0.0.1:²"])
def test_a_connection_to_an_unparsable_upstream_is_accepted_then_closed(toxi, upstream):
    sock = connect(toxi.proxy(upstream), timeout=5)
    assert sock.recv(10) == b""  # the dial failed: EOF, as for an unreachable upstream
    sock.close()
