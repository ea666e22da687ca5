"""A small game-day scenario: AI routing (mostly cache misses) and unauthenticated attempts.

The shipped scenarios model the full traffic mix; this one keeps the chaos
tests short and makes every routing request reach an AI region, so a region
outage shows in the samples. A 2xx to a request without a valid key is
recorded as a `security` failure, as the shipped scenarios do.
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, task

from harness.locust import PacedUser, SecurityFailure


class GameDayUser(PacedUser, FastHttpUser):
    default_rps_per_user = 5.0
    network_timeout = 5.0
    connection_timeout = 3.0

    @task(8)
    def route(self) -> None:
        body = {"tenant": f"t{random.randint(1, 3)}", "prompt": f"game day {random.getrandbits(48):012x}"}
        self.client.post("/v1/route", json=body, headers={"X-API-Key": os.environ.get("XYNERGY_API_KEY", "")},
                         name="POST /v1/route")

    @task(2)
    def wrong_key(self) -> None:
        headers = {"X-API-Key": f"xk-wrong-{random.getrandbits(32):08x}"}
        with self.client.post("/v1/route", json={"tenant": "t1", "prompt": "hi"}, headers=headers,
                              name="security: wrong key", catch_response=True) as resp:
            if 200 <= resp.status_code < 300:
                resp.failure(SecurityFailure(f"a wrong key was answered {resp.status_code}"))
            else:
                resp.success()  # refused (401/403, or 503 when governance is unreachable): fail closed
