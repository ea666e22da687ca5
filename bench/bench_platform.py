"""Benchmark the reference platform: spawn → ready per service, and /v1/route p50/p95 via the edge.

Spawns the five services directly (no Toxiproxy) on free loopback ports, each
as `python -m xynergy`, then drives `POST /v1/route` through the edge with an
open-model asyncio load loop (requests start on schedule whether or not earlier
ones finished; latency is measured from the *intended* start, so a stalled
server cannot hide behind a stalled client). Bounded in time and in-flight
count; every process is stopped at the end, also on Ctrl-C.

    .venv/bin/python bench/bench_platform.py [--rate 100,150,200] [--duration 20] [--redis]

The load generator shares the CPU with the services, so on a 2-core machine the
figures are an upper bound on what the platform itself costs.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass

import httpx
import numpy as np
import psutil

KEY = "bench-key"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Proc:
    name: str
    url: str
    popen: subprocess.Popen[bytes]
    ready_s: float = float("nan")


def spawn(name: str, service: str, *args: str) -> Proc:
    port = free_port()
    env = {**os.environ, "XYNERGY_API_KEYS": KEY}
    argv = [sys.executable, "-m", "xynergy", service, "--port", str(port), *args]
    start = time.monotonic()
    popen = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    proc = Proc(name, f"http://127.0.0.1:{port}", popen)
    deadline = start + 30
    while time.monotonic() < deadline:
        if popen.poll() is not None:
            raise SystemExit(f"{name} exited with {popen.returncode} during start-up")
        try:
            if httpx.get(f"{proc.url}/readyz", timeout=0.5).status_code == 200:
                proc.ready_s = time.monotonic() - start
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    popen.kill()  # not yet in the caller's list: stop it here, or it outlives the run
    popen.wait()
    raise SystemExit(f"{name} not ready after 30 s")


def start_redis() -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("redis-server")
    if binary is None:
        return None
    port = free_port()
    popen = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    return popen, f"redis://127.0.0.1:{port}/0"


PROMPTS_SHORT = ["hi", "status?", "hello there", "ping the model", "what time is it"]
PROMPT_LONG = "Analyze and compare the two designs and explain the trade-offs " + "in detail " * 30


def make_body(i: int, rng: random.Random, run: str) -> dict[str, object]:
    """80 % distinct prompts (cache misses), 20 % from a small repeated pool; mixed tiers."""
    if rng.random() < 0.2:
        return {"tenant": "acme", "prompt": rng.choice(PROMPTS_SHORT)}
    roll = rng.random()
    if roll < 0.6:
        return {"tenant": "acme", "prompt": f"{rng.choice(PROMPTS_SHORT)} #{run}-{i}"}
    if roll < 0.9:
        return {"tenant": "acme", "prompt": f"explain request {run}-{i} and summarize it " + "word " * 40}
    return {"tenant": "acme", "prompt": f"{PROMPT_LONG} #{run}-{i}", "max_tokens": 1500}


class RawConnection:
    """A keep-alive HTTP/1.1 connection on asyncio streams.

    The load generator shares two cores with six services; httpx costs several
    ms of CPU per request, which would be charged to the platform. This costs a
    fraction of that and is only ever pointed at our own loopback edge.
    """

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes) -> tuple[int, dict[str, str]]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        head = (f"POST {path} HTTP/1.1\r\nhost: {self.host}:{self.port}\r\nx-api-key: {KEY}\r\n"
                f"content-type: application/json\r\ncontent-length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("connection closed")
        headers: dict[str, str] = {}
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("connection", "").lower() == "close":
            self.writer.close()
        return int(status_line.split()[1]), headers

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def load(edge: str, rate: float, duration: float, warmup: float, max_in_flight: int) -> dict[str, object]:
    rng = random.Random(42)
    run = f"{rate:g}-{time.time_ns()}"  # distinct prompts per run: no hits left over from an earlier one
    host, port = edge.removeprefix("http://").split(":")
    idle: list[RawConnection] = []
    rows: list[tuple[float, float, float, int, str]] = []  # (intended, co_latency, service_time, status, cache)
    in_flight = 0
    dropped = 0

    async def one(i: int, intended: float) -> None:
        nonlocal in_flight
        conn = idle.pop() if idle else RawConnection(host, int(port))
        started = time.perf_counter()
        try:
            status, headers = await asyncio.wait_for(conn.post("/v1/route", json.dumps(make_body(i, rng, run)).encode()), 10)
            idle.append(conn)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            conn.close()
            status, headers = 0, {}
        finally:
            in_flight -= 1
        done = time.perf_counter()
        rows.append((intended, done - intended, done - started, status, headers.get("x-xynergy-cache", "")))

    t0 = time.perf_counter()
    total = int((warmup + duration) * rate)
    tasks = []
    for i in range(total):
        intended = t0 + i / rate
        delay = intended - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if in_flight >= max_in_flight:
            dropped += 1
            continue
        in_flight += 1
        tasks.append(asyncio.create_task(one(i, intended)))
    await asyncio.wait_for(asyncio.gather(*tasks), timeout=30)
    elapsed = time.perf_counter() - t0
    for conn in idle:
        conn.close()

    measured = [r for r in rows if r[0] >= t0 + warmup]
    ok = [r for r in measured if r[3] == 200]
    co = np.array([r[1] * 1000 for r in ok])
    service = np.array([r[2] * 1000 for r in ok])

    def pct(a: np.ndarray, q: float) -> float:
        return float(np.percentile(a, q)) if a.size else float("nan")

    return {
        "requests": len(measured), "errors": len(measured) - len(ok), "dropped_at_client": dropped,
        "achieved_rps": len(rows) / elapsed,
        "p50_ms": pct(co, 50), "p95_ms": pct(co, 95), "p99_ms": pct(co, 99),
        "max_ms": float(co.max()) if co.size else float("nan"),
        "service_p50_ms": pct(service, 50), "service_p95_ms": pct(service, 95),
        "cache_hits": sum(1 for r in measured if r[4] == "hit"),
        "statuses": dict(sorted(collections.Counter(r[3] for r in measured).items())),
    }


def run_load(edge: str, rate: float, duration: float, warmup: float) -> dict[str, object]:
    """Run the load loop on uvloop when available (less client CPU)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load(edge, rate, duration, warmup, max_in_flight=400))
    return uvloop.run(load(edge, rate, duration, warmup, max_in_flight=400))


def cpu_seconds(proc: Proc) -> float:
    """User + system CPU a service has used so far."""
    times = psutil.Process(proc.popen.pid).cpu_times()
    return float(times.user + times.system)


def stop_all(procs: list[Proc]) -> None:
    """SIGTERM every service, last started first; SIGKILL what has not exited within 20 s."""
    for p in reversed(procs):
        if p.popen.poll() is None:
            p.popen.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.popen.kill()
            p.popen.wait()


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", default="150", help="requests per second (open model); a comma list runs each")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (max 120)")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--redis", action="store_true", help="cache in a spawned redis-server")
    args = parser.parse_args()
    duration = min(args.duration, 120.0)
    procs: list[Proc] = []
    redis: tuple[subprocess.Popen[bytes], str] | None = None
    print(f"load before: {uptime()}")
    try:
        primary = spawn("internal-ai.primary", "internal-ai-service", "--region", "primary")
        backup = spawn("internal-ai.backup", "internal-ai-service", "--region", "backup")
        governance = spawn("security-governance", "security-governance")
        runtime = spawn("system-runtime", "system-runtime")
        procs += [primary, backup, governance, runtime]
        extra: list[str] = []
        if args.redis:
            redis = start_redis()
            if redis is None:
                print("redis-server not installed: using the in-process cache")
            else:
                extra = ["--redis-url", redis[1]]
        routing = spawn("ai-routing-engine", "ai-routing-engine", "--upstream", f"internal-ai.primary={primary.url}",
                        "--upstream", f"internal-ai.backup={backup.url}", *extra)
        procs.append(routing)
        edge = spawn("edge", "edge", "--upstream", f"ai-routing-engine={routing.url}",
                     "--upstream", f"security-governance={governance.url}", "--upstream", f"system-runtime={runtime.url}")
        procs.append(edge)
        print("\nstart-up (spawn → first 200 on /readyz):")
        for p in procs:
            print(f"  {p.name:22s} {p.ready_s * 1000:7.0f} ms")
        for rate in [float(r) for r in args.rate.split(",")]:
            print(f"\nload: POST /v1/route via the edge, {rate:g} req/s open model, "
                  f"{args.warmup:g} s warm-up + {duration:g} s measured, cache={'redis' if extra else 'in-process'}")
            cpu_before = {p.name: cpu_seconds(p) for p in procs}
            result = run_load(edge.url, rate, duration, args.warmup)
            sent = rate * (duration + args.warmup)
            cost = "  ".join(f"{p.name} {(cpu_seconds(p) - cpu_before[p.name]) / sent * 1000:.2f}" for p in procs)
            print(f"  requests {result['requests']}  errors {result['errors']}  "
                  f"client-dropped {result['dropped_at_client']}  achieved {result['achieved_rps']:.1f} req/s  "
                  f"cache hits {result['cache_hits']}  statuses {result['statuses']}")
            print(f"  latency from intended start: p50 {result['p50_ms']:.1f} ms  p95 {result['p95_ms']:.1f} ms  "
                  f"p99 {result['p99_ms']:.1f} ms  max {result['max_ms']:.1f} ms")
            print(f"  service time (send → answer): p50 {result['service_p50_ms']:.1f} ms  "
                  f"p95 {result['service_p95_ms']:.1f} ms")
            print(f"  CPU ms per request: {cost}")
            print(f"  load: {uptime()}")
        print(f"\nload after: {uptime()}")
    finally:
        stop_all(procs)
        if redis is not None:
            redis[0].terminate()
            redis[0].wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
