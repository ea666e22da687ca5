"""A small scenario for the rollout's end-to-end test: AI routing requests only.

The shipped scenarios/ model the full traffic mix; this one keeps the test
short and focused on the service under rollout (ai-routing-engine).
"""

from __future__ import annotations

import os
import random

from locust import FastHttpUser, task

from harness.locust import PacedUser

PROMPTS = [f"summarise ticket {i}" for i in range(40)] + ["explain the architecture trade-offs in detail " * 4]


class RouteUser(PacedUser, FastHttpUser):
    default_rps_per_user = 5.0

    @task
    def route(self) -> None:
        body = {"tenant": f"t{random.randint(1, 3)}", "prompt": random.choice(PROMPTS)}
        self.client.post("/v1/route", json=body, headers={"X-API-Key": os.environ.get("XYNERGY_API_KEY", "")})
