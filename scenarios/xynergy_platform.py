"""The Xynergy platform's traffic mix, against the edge (open model, exact samples, SLO gate).

    XYNERGY_API_KEY=... locust -f scenarios/xynergy_platform.py --headless -u 50 -r 50 -t 60s \
        --host http://127.0.0.1:PORT --rps 200

Journeys, weighted: AI routing (tenants, a prompt pool whose reuse gives a
realistic cache-hit ratio, prompts of every complexity tier), governance
validation and policy reads with a valid key, security checks (no key must
get 401, a wrong key 403, an evil Origin no CORS grant, an allowlisted Origin
its grant; anything else there is a `security` failure sample), WebSocket
status sessions (connect, first event, clean close), and health probes.
Every sample carries the revision that served it (`x-xynergy-revision`).
"""

from __future__ import annotations

import os
import random
import sys
import time
from typing import Any

import websocket
from locust import FastHttpUser, events, task

from harness.locust import PacedUser, SecurityFailure

API_KEY_ENV = "XYNERGY_API_KEY"
TENANTS = ("acme", "globex", "initech", "umbrella", "hooli")
EVIL_ORIGINS = ("https://evil-xynergy.com", "https://xynergy.com.evil.io", "http://app.xynergy.com", "null")
ALLOWED_ORIGINS = ("https://app.xynergy.com", "https://xynergy-platform.com", "https://api.xynergy.dev")
PREFLIGHT_PATHS = (("/v1/route", "POST"), ("/v1/governance/validate", "POST"), ("/v1/runtime/status", "GET"))
PROTECTED = (("POST", "/v1/route"), ("GET", "/v1/governance/policies/acme"), ("GET", "/admin/traffic"))

_SMALL = ("What is the status of order {n}?", "Hello, what time is it in Paris?", "Give me a synonym for quick.")
_MEDIUM = ("Explain the difference between TCP and UDP for case {n}.", "Summarize this ticket: printer {n} is offline.")
_LARGE = (
    "Analyze and compare these two designs, derive their costs, then optimize the architecture "
    "of service {n} and explain the algorithm step by step with code. " + "Context sentence. " * 60,
)


def _prompt_pool(size: int = 120, seed: int = 7) -> list[tuple[str, int | None]]:
    """Prompts with their max_tokens: ~60 % small, 30 % medium, 10 % large tier."""
    rng = random.Random(seed)
    pool: list[tuple[str, int | None]] = []
    for n in range(size):
        roll = rng.random()
        if roll < 0.6:
            pool.append((rng.choice(_SMALL).format(n=n), None))
        elif roll < 0.9:
            pool.append((rng.choice(_MEDIUM).format(n=n), 400))
        else:
            pool.append((rng.choice(_LARGE).format(n=n), 1600))
    return pool


PROMPTS = _prompt_pool()
#: Zipf-like popularity: a few prompts are asked often (cache hits), the tail rarely.
PROMPT_WEIGHTS = [1.0 / (rank + 1) for rank in range(len(PROMPTS))]
UNIQUE_SHARE = 0.25  # never-seen prompts: guaranteed cache misses


def _require_key(environment: Any, **_: Any) -> None:
    opts = environment.parsed_options
    if opts is not None and not getattr(opts, "worker", False) and not os.environ.get(API_KEY_ENV):
        print(f"harness: error: scenarios/xynergy_platform.py: env {API_KEY_ENV} is not set (the edge's API key)", file=sys.stderr)
        raise SystemExit(2)


events.init.add_listener(_require_key)  # type: ignore[no-untyped-call]


class PlatformUser(PacedUser, FastHttpUser):
    """One client of the platform, paced to its share of --rps."""

    default_rps_per_user = 2.0
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.key = os.environ.get(API_KEY_ENV, "")
        self.auth = {"X-API-Key": self.key}

    @task(50)
    def route(self) -> None:
        if random.random() < UNIQUE_SHARE:
            prompt, max_tokens = f"Tell me something new about ticket {random.getrandbits(48)}", None
        else:
            prompt, max_tokens = random.choices(PROMPTS, PROMPT_WEIGHTS)[0]
        body: dict[str, Any] = {"tenant": random.choice(TENANTS), "prompt": prompt}
        if max_tokens:
            body["max_tokens"] = max_tokens
        self.client.post("/v1/route", json=body, headers=self.auth, name="POST /v1/route")

    @task(12)
    def governance_validate(self) -> None:
        content = random.choice(("a plain note", "call me at 555-0100", "<script>alert(1)</script>", "ok " * 50))
        body = {"tenant": random.choice(TENANTS), "content": content}
        self.client.post("/v1/governance/validate", json=body, headers=self.auth, name="POST /v1/governance/validate")

    @task(8)
    def governance_policies(self) -> None:
        tenant = random.choice(TENANTS)
        self.client.get(f"/v1/governance/policies/{tenant}", headers=self.auth, name="GET /v1/governance/policies/{tenant}")

    @task(4)
    def missing_key(self) -> None:
        self._expect_refusal({}, 401, "security: no key")

    @task(4)
    def wrong_key(self) -> None:
        self._expect_refusal({"X-API-Key": f"xk-wrong-{random.getrandbits(32):08x}"}, 403, "security: wrong key")

    @task(3)
    def cors_evil_origin(self) -> None:
        self._preflight(random.choice(EVIL_ORIGINS), grant_expected=False, name="security: cors evil origin")

    @task(3)
    def cors_allowed_origin(self) -> None:
        self._preflight(random.choice(ALLOWED_ORIGINS), grant_expected=True, name="security: cors allowed origin")

    @task(4)
    def runtime_websocket(self) -> None:
        self._ws_session()

    @task(8)
    def health(self) -> None:
        self.client.get("/healthz", name="GET /healthz")

    # -- helpers ---------------------------------------------------------------
    def _expect_refusal(self, headers: dict[str, str], expected: int, name: str) -> None:
        method, path = random.choice(PROTECTED)
        body = {"tenant": "acme", "prompt": "hi"} if method == "POST" else None
        with self.client.request(method, path, headers=headers, json=body, name=name, catch_response=True) as resp:
            if resp.status_code == expected:
                resp.success()
            elif 200 <= resp.status_code < 300:
                resp.failure(SecurityFailure(f"{method} {path} answered {resp.status_code} instead of {expected}"))
            else:
                resp.failure(f"{method} {path}: expected {expected}, got {resp.status_code}")

    def _preflight(self, origin: str, *, grant_expected: bool, name: str) -> None:
        path, method = random.choice(PREFLIGHT_PATHS)
        headers = {
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "x-api-key, content-type",
        }
        with self.client.request("OPTIONS", path, headers=headers, name=name, catch_response=True) as resp:
            granted = (resp.headers or {}).get("access-control-allow-origin")
            if grant_expected and granted != origin:
                resp.failure(f"allowlisted origin {origin} got no grant on {path} ({granted!r})")
            elif not grant_expected and granted in (origin, "*"):
                resp.failure(SecurityFailure(f"evil origin {origin} was granted CORS on {path} ({granted!r})"))
            else:
                resp.success()

    def _ws_session(self) -> None:
        """Connect, wait for the first status event, close cleanly; one sample per session."""
        url = (self.host or "").replace("http://", "ws://", 1).rstrip("/") + "/v1/runtime/ws?interval=0.05"
        start = time.time()
        revision, exc, length = "", None, 0
        ws = None
        try:
            ws = websocket.create_connection(url, header=[f"X-API-Key: {self.key}"], timeout=5)
            revision = (ws.getheaders() or {}).get("x-xynergy-revision", "")
            length = len(ws.recv())
        except Exception as error:  # every failure is a sample, never a crash of the user
            exc = error
        elapsed_ms = (time.time() - start) * 1000.0
        if ws is not None:
            try:
                ws.close(timeout=2)
            except Exception as error:
                exc = exc or error
        self.environment.events.request.fire(  # type: ignore[no-untyped-call]
            request_type="WS", name="WS /v1/runtime/ws first event", response_time=elapsed_ms,
            response_length=length, response=None, exception=exc, start_time=start,
            context={**self.context(), "revision": revision}, url=url,
        )  # fmt: skip
