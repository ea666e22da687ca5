"""A small HTTP server with a programmable latency per request, and locustfiles for it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from harness.topology import Platform, load_topology

#: delay in seconds for the n-th request (0-based)
DelayFn = Callable[[int], float]
#: extra response headers for the n-th request
HeadersFn = Callable[[int], dict[str, str]]


@dataclass
class TimedServer:
    """Serves any GET with `delay(n)` seconds of latency; records when each request arrived."""

    delay: DelayFn = lambda n: 0.0
    headers: HeadersFn = lambda n: {}
    revision: str = "baseline"
    arrivals: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def next_request(self) -> tuple[float, dict[str, str]]:
        """This request's delay and extra headers."""
        with self.lock:
            n = len(self.arrivals)
            self.arrivals.append(time.time())
        return self.delay(n), self.headers(n)

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.arrivals)


def _handler(server: TimedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            delay, extra = server.next_request()
            time.sleep(delay)
            body = b'{"ok": true}'
            more = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            head = (
                f"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {len(body)}\r\n"
                f"x-xynergy-revision: {server.revision}\r\n{more}\r\n"
            ).encode()
            self.wfile.write(head + body)

        def log_message(self, *args: object) -> None:
            pass

    return Handler


@pytest.fixture
def timed_server() -> Iterator[TimedServer]:
    """A fresh server on 127.0.0.1 (port 0); set `.delay` before the load starts."""
    state = TimedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


PACED_LOCUSTFILE = '''
from locust import FastHttpUser, task
from harness.locust import PacedUser

class Paced(PacedUser, FastHttpUser):
    @task
    def get(self):
        self.client.get("/")
'''


@pytest.fixture
def paced_locustfile(tmp_path: Path) -> Path:
    """A locustfile with one paced user class that GETs / (open model, --rps)."""
    path = tmp_path / "paced_locustfile.py"
    path.write_text(PACED_LOCUSTFILE, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def cors_canary_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The shipped topology whose canary reflects any Origin (the review's CORS bug) and takes all traffic.

    Shared by the scenario and distributed tests (the defect touches only CORS preflights).
    """
    with Platform.up(load_topology(), canary_defect="cors-wildcard", run_dir=tmp_path_factory.mktemp("platform"),
                     sample_interval=0) as platform:
        platform.set_canary_weight(100)
        yield platform
