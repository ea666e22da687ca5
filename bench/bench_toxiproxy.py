"""Benchmark the embedded Toxiproxy data plane: wrk through the proxy versus direct.

Small HTTP requests on 16 keep-alive connections (wrk, one thread) against a
tiny uvloop HTTP responder, first direct, then through the embedded server
with no toxic, with a `latency: 0` toxic and with a `latency: 50` toxic.
Prints throughput and the latency added at p50/p95/p99, and the machine load
(`uptime`) before and after, because on a shared box the figures move with it.

    .venv/bin/python bench/bench_toxiproxy.py [--duration 5] [--connections 16]

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
import subprocess
import sys
import tempfile
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
  io.write(string.format("RESULT requests=%d duration_us=%d errors=%d p50=%d p95=%d p99=%d\\n",
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run (default 5)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1, help="repeat every scenario this many times (best kept)")
    args = parser.parse_args()
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
