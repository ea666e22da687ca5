"""A user's own locustfile: importing the harness plugin alone gives the SLO gate.

    locust -f scenarios/examples/own_locustfile.py --headless -u 5 -r 5 -t 20s --host http://127.0.0.1:PORT

No SLO files needed: without `--slo-dir` (and no ./slos) the built-in SLOs
apply to every request (p95 < 100 ms, errors < 1 %), judged per revision
from exact samples. The exit code is the verdict: 0 pass, 1 breach, 2
invalid SLO files or too few samples. `PacedUser` is optional: it adds
open-model pacing (`--rps`) and coordinated-omission-corrected latency.
"""

from __future__ import annotations

from locust import FastHttpUser, between, task

import harness.locust  # noqa: F401  - the plugin: samples, verdict table, exit code


class Visitor(FastHttpUser):
    """Closed-model user: samples are still exact, intended start = actual start."""

    wait_time = between(0.05, 0.2)

    @task(3)
    def home(self) -> None:
        self.client.get("/")

    @task(1)
    def health(self) -> None:
        self.client.get("/healthz")
