"""Benchmark the embedded Toxiproxy data plane: wrk through the proxy versus direct.

Small HTTP requests on 16 keep-alive connections (wrk, one thread) against a
tiny uvloop HTTP responder, first direct, then through the embedded server
with no toxic, with a `latency: 0` toxic and with a `latency: 50` toxic.
Prints throughput and the latency added at p50/p95/p99, and the machine load
(`uptime`) before and after, because on a shared box the figures move with it.

Then (issue 14): the fastest of >= 10 000 requests through a 50 ms latency
toxic (never under 50 ms: lateness is load, earliness would be a bug); the
slowest proxied round trip while the API parses a body of 1 000 000 one-byte
chunks (the data plane shares its loop); and the server's start-up time
(spawn to the first 200 on /version) and idle RSS, median of several runs.

    .venv/bin/python bench/bench_toxiproxy.py [--duration 5] [--connections 16] [--only startup,never-early]

Targets (issue 3): >= 30 000 req/s with no toxic, >= 20 000 with a toxic in
the chain, added p50 <= 0.3 ms and p99 <= 2 ms; a 50 ms toxic adds 50 ms ± 2
at p50 and p95.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness.toxiproxy import ProxySpec, ToxiproxyClient

BACKEND = r'''
import asyncio, sys, uvloop
RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n"
            b"Connection: keep-alive\r\n\r\nHello, world!")
class Responder(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.pending = b""
    def data_received(self, data):
        data = self.pending + data
        n = data.count(b"\r\n\r\n")
        self.pending = data[data.rfind(b"\r\n\r\n") + 4:] if n else data
        if n:
            self.transport.write(RESPONSE * n)
async def main():
    server = await asyncio.get_running_loop().create_server(Responder, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    await asyncio.Event().wait()
uvloop.run(main())
'''

WRK_SCRIPT = """
done = function(summary, latency, requests)
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50=%d p95=%d p99=%d min=%d\\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.min))
end
"""


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def wrk(url: str, duration: float, connections: int, script: Path) -> dict[str, float]:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(duration))}s", "-s", str(script), url],
        capture_output=True, text=True, timeout=duration + 30,
    ).stdout
    match = re.search(r"RESULT (.*)", out)
    if match is None:
        raise RuntimeError(f"wrk gave no result:\n{out}")
    fields = {k: float(v) for k, v in (kv.split("=") for kv in match.group(1).split())}
    fields["rps"] = fields["requests"] / (fields["duration_us"] / 1e6)
    return fields


SECTIONS = ("throughput", "never-early", "flood", "startup")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def version_ok(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return sock.recv(100).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def startup(runs: int) -> None:
    """Spawn `harness toxiproxy` and poll /version: ms to the first 200, then RSS after 1 s idle."""
    times, rss = [], []
    for _ in range(runs):
        port = free_port()
        start = time.perf_counter()
        proc = subprocess.Popen([sys.executable, "-m", "harness", "toxiproxy", "--port", str(port)], stdout=subprocess.DEVNULL)
        while not version_ok(port):
            time.sleep(0.001)
        times.append((time.perf_counter() - start) * 1000)
        time.sleep(1.0)
        with open(f"/proc/{proc.pid}/status") as status:
            rss.append(next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024)
        proc.terminate()
        proc.wait(10)
    print(f"start-up (spawn -> first 200 on /version), {runs} runs: median {statistics.median(times):.0f} ms "
          f"(min {min(times):.0f}, max {max(times):.0f}); idle RSS median {statistics.median(rss):.1f} MiB")


def never_early(client: ToxiproxyClient, proxy_url: str, script: Path, duration: float) -> None:
    """>= 10 000 requests through a 50 ms downstream latency toxic: the fastest must not be under 50 ms."""
    client.add_toxic("bench", "lat", "latency", attributes={"latency": 50})
    try:
        result = wrk(proxy_url, duration, 64, script)
    finally:
        client.remove_toxic("bench", "lat")
    verdict = "never early" if result["min"] >= 50_000 else "EARLY"
    print(f"latency 50 ms, {result['requests']:.0f} requests on 64 connections: fastest {result['min'] / 1000:.3f} ms, "
          f"p50 {result['p50'] / 1000:.3f}, p99 {result['p99'] / 1000:.3f} -> {verdict}")


def flood(api: str, proxy_port: int) -> None:
    """The slowest proxied round trip while the API parses 1 000 000 one-byte chunks (D9)."""
    payload = b'{"name":"' + b"a" * 999_980 + b'"}'
    body = b"".join(b"1\r\n" + payload[i : i + 1] + b"\r\n" for i in range(len(payload))) + b"0\r\n\r\n"
    host, port = api.removeprefix("http://").rsplit(":", 1)
    done = threading.Event()
    took: list[float] = []

    def send() -> None:
        start = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=120) as sock:
            sock.sendall(b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + body)
            while sock.recv(65536):
                pass
        took.append(time.perf_counter() - start)
        done.set()

    rtts = []
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=120) as sock:
        thread = threading.Thread(target=send)
        thread.start()
        while not done.is_set():
            start = time.perf_counter()
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            sock.recv(65536)
            rtts.append(time.perf_counter() - start)
        thread.join()
    print(f"1 000 000 one-byte chunks to the API: answered in {took[0]:.2f} s; {len(rtts)} proxied round trips "
          f"meanwhile, slowest {max(rtts) * 1000:.1f} ms, median {statistics.median(rtts) * 1000:.2f} ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every scenario this many times (best kept)")
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated sections of {', '.join(SECTIONS)}")
    parser.add_argument("--startup-runs", type=int, default=7)
    args = parser.parse_args()
    only = set(args.only.split(","))
    if only - set(SECTIONS):
        print(f"--only: unknown section {', '.join(sorted(only - set(SECTIONS)))}", file=sys.stderr)
        return 2
    if "startup" in only:
        print(f"# {uptime()}")
        startup(args.startup_runs)
        if only == {"startup"}:
            return 0
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    procs: list[subprocess.Popen[str]] = []
    try:
        backend = subprocess.Popen([sys.executable, "-c", BACKEND], stdout=subprocess.PIPE, text=True)
        procs.append(backend)
        backend_port = int(backend.stdout.readline())  # type: ignore[union-attr]
        server = subprocess.Popen(
            [sys.executable, "-m", "harness", "toxiproxy", "--port", "0"], stdout=subprocess.PIPE, text=True,
        )
        procs.append(server)
        api = server.stdout.readline().split()[-1]  # type: ignore[union-attr]
        client = ToxiproxyClient(api)
        proxy = client.create_proxy(ProxySpec("bench", "127.0.0.1:0", f"127.0.0.1:{backend_port}"))
        direct_url = f"http://127.0.0.1:{backend_port}/"
        proxy_url = f"http://127.0.0.1:{proxy.listen_port}/"
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
            f.write(WRK_SCRIPT)
        script = Path(f.name)
        print(f"# {uptime()}")
        print(f"# cores={os.cpu_count()} duration={args.duration}s connections={args.connections} wrk -t1")
        wrk(direct_url, 1.0, args.connections, script)  # warm-up
        wrk(proxy_url, 1.0, args.connections, script)
        if "never-early" in only:
            never_early(client, proxy_url, script, max(args.duration, 10.0))
        if "flood" in only:
            flood(api, proxy.listen_port)
        if "throughput" not in only:
            return 0

        def best(url: str) -> dict[str, float]:
            runs = [wrk(url, args.duration, args.connections, script) for _ in range(args.rounds)]
            return max(runs, key=lambda r: r["rps"])

        scenarios: list[tuple[str, dict[str, float], dict[str, float]]] = []
        for label, toxic in (("no toxic", None), ("latency 0", 0), ("latency 50 ms", 50)):
            if toxic is not None:
                client.add_toxic("bench", "lat", "latency", attributes={"latency": toxic})
            direct = best(direct_url)
            through = best(proxy_url)
            if toxic is not None:
                client.remove_toxic("bench", "lat")
            scenarios.append((label, direct, through))
        print(f"{'scenario':<15}{'direct rps':>11}{'proxy rps':>11}{'added ms p50':>14}{'p95':>8}{'p99':>8}"
              f"{'proxy ms p50':>14}{'p95':>8}{'p99':>8}{'errors':>8}")
        for label, direct, through in scenarios:
            added = [(through[p] - direct[p]) / 1000 for p in ("p50", "p95", "p99")]
            absolute = [through[p] / 1000 for p in ("p50", "p95", "p99")]
            print(
                f"{label:<15}{direct['rps']:>11.0f}{through['rps']:>11.0f}"
                f"{added[0]:>14.3f}{added[1]:>8.3f}{added[2]:>8.3f}"
                f"{absolute[0]:>14.3f}{absolute[1]:>8.3f}{absolute[2]:>8.3f}{through['errors']:>8.0f}"
            )
        print(f"# {uptime()}")
        script.unlink()
        client.close()
    finally:
        for proc in reversed(procs):
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
