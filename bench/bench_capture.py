"""Capture overhead: requests/s of one Locust process with sample capture on vs off.

    .venv/bin/python bench/bench_capture.py [--seconds 10] [--users 20] [--rounds 2]

Runs a fast local HTTP server (asyncio + uvloop, a separate process), then the
same closed-model locustfile (FastHttpUser, no wait) headless for N seconds,
alternating capture on (`harness.locust` recording every request) and off
(`--no-capture`), and prints the median req/s of each and the overhead, and
Locust's CPU time per request (which other load on the machine disturbs far
less than throughput). The target is ≤ 10 %. Load on this machine skews absolute figures: `uptime` is
printed alongside.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\nx-xynergy-revision: baseline\r\n\r\nok"

LOCUSTFILE = '''
from locust import FastHttpUser, constant, task
import harness.locust  # noqa: F401

class Fast(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/")
'''


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while b"\r\n\r\n" in self.buffer:
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


def serve(port: int) -> None:
    """Answer every request at once with a tiny 200 (the endpoint must not be the bottleneck)."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(_Http, "127.0.0.1", port, backlog=1024))
    try:
        loop.run_forever()
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """The fast server in its own process; returns it and its URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, f"http://127.0.0.1:{port}"
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("fast server did not start")


def locust_rps(url: str, seconds: int, users: int, capture: bool, workdir: Path) -> tuple[float, float]:
    """Requests/s from Locust's own stats, and Locust's CPU µs per request (less noisy when cores are shared)."""
    locustfile = workdir / "fast_locustfile.py"
    locustfile.write_text(LOCUSTFILE)
    stats = workdir / f"stats-{capture}-{time.monotonic_ns()}.json"
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    args = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(users), "-r", str(users),
            "-t", f"{seconds}s", "--host", url, "--json-file", str(stats.with_suffix("")), "--only-summary",
            "--samples-file", str(workdir / "s.arrow"), "--min-samples", "1", "--slo-dir", str(REPO / "slos")]
    if not capture:
        args.append("--no-capture")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, env=env, cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=seconds + 60)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    data = json.loads(stats.read_text())
    total = sum(e["num_requests"] for e in data)
    span = max(e["last_request_timestamp"] for e in data) - min(e["start_time"] for e in data)
    return total / span, cpu / total * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())
    server, url = start_server()
    results: dict[bool, list[float]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for _ in range(args.rounds):
                for capture in (False, True):
                    rps, us = locust_rps(url, args.seconds, args.users, capture, Path(tmp))
                    results[capture].append(rps)
                    cpu[capture].append(us)
                    print(f"  capture {'on ' if capture else 'off'}: {rps:8.0f} req/s, {us:6.1f} CPU µs/request")
    finally:
        server.kill()
        server.wait()
    on, off = statistics.median(results[True]), statistics.median(results[False])
    print(f"capture off: {off:.0f} req/s (median of {args.rounds})")
    print(f"capture on:  {on:.0f} req/s (median of {args.rounds})")
    print(f"overhead:    {100 * (off - on) / off:.1f} % of req/s  (target <= 10 %)")
    con, coff = statistics.median(cpu[True]), statistics.median(cpu[False])
    print(f"CPU per request: {coff:.1f} µs off, {con:.1f} µs on: +{100 * (con - coff) / coff:.1f} % "
          "(the same overhead, robust to other load on the machine)")
    print("uptime:", subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip())


if __name__ == "__main__":
    main()
