"""The control plane's connection handling, in process with short timeouts (the real ones are 15/60 s)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from harness.toxiproxy._server import serve


@pytest.fixture
def quick_server() -> Iterator[tuple[str, int]]:
    """The embedded server in a thread with read/idle timeouts of 0.3 s / 0.6 s."""
    ready = threading.Event()
    address: list[tuple[str, int]] = []
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    def on_ready(url: str) -> None:
        host, port = url.removeprefix("http://").rsplit(":", 1)
        address.append((host, int(port)))
        ready.set()

    async def main() -> None:
        await serve("127.0.0.1", 0, ready=on_ready, stop=stop, timeouts=(0.3, 0.6, 5.0))

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),))
    thread.start()
    assert ready.wait(10)
    yield address[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(10)
    loop.close()


def read_all(sock: socket.socket) -> bytes:
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_an_idle_kept_alive_connection_is_closed_after_the_idle_timeout(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = read_all(sock)  # returns only because the server closes the idle connection
    assert answer.startswith(b"HTTP/1.1 200 OK") and answer.count(b"HTTP/1.1") == 1


def test_a_connection_that_never_sends_a_request_is_closed_after_the_read_timeout(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        assert read_all(sock) == b""


def test_a_trickled_request_is_dropped_at_the_read_deadline_without_an_answer(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        assert read_all(sock) == b""


def test_two_thousand_pipelined_requests_are_answered_in_order(quick_server):
    requests = b"".join(b"GET /nope%d HTTP/1.1\r\nHost: x\r\n\r\n" % i for i in range(2000))
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(requests + b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        answers = read_all(sock)
    assert answers.count(b"HTTP/1.1 404 Not Found") == 2000
    assert answers.endswith(b'{"version": "2.12.0"}\n')


def test_a_body_over_the_cap_is_a_413_before_it_is_read(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        assert read_all(sock).startswith(b"HTTP/1.1 413 Request Entity Too Large\r\n")


def test_expect_100_continue_on_a_request_that_does_not_read_its_body_is_answered_at_once(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(b"POST /proxies/nope/toxics HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        answer = read_all(sock)  # no 100 Continue, the 404 at once, then the connection is closed
    assert answer.startswith(b"HTTP/1.1 404 Not Found\r\n") and b"Connection: close" in answer


def test_a_request_followed_by_a_half_close_is_still_answered(quick_server):
    with socket.create_connection(quick_server, timeout=10) as sock:
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.shutdown(socket.SHUT_WR)
        assert read_all(sock).startswith(b"HTTP/1.1 200 OK")
