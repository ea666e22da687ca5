"""A Chaos Toolkit extension: the harness's load and SLO verdicts inside `chaos run`.

An SRE who already writes Chaos Toolkit experiments keeps them, and gets the
harness's exact samples and SLO judgement as activities:

- `harness.ctk.actions.run_load`: Locust against a loopback host for a bounded
  time, samples into a directory (run it with `"background": true` to keep
  load going while faults are injected);
- `harness.ctk.actions.mark`: remember "now" under a name (e.g. `fault`);
- `harness.ctk.probes.slo_verdict` / `slo_passed`: the SLO verdict over the
  last N seconds of those samples (PASS / FAIL / INCONCLUSIVE, never a guess);
- `harness.ctk.probes.failover_time`: seconds from a mark to the first
  sustained healthy traffic.

Every function takes the `configuration`/`secrets` keywords Chaos Toolkit
passes, and failures raise `chaoslib.exceptions.ActivityFailed` so the
journal records them as such. `discover()` describes the activities for
`chaos discover`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["discover"]

__version__ = "0.1.0"


def discover(discover_system: bool = True) -> dict[str, Any]:
    """The extension's activities, in the shape `chaos discover` expects."""
    from chaoslib.discovery.discover import discover_actions, discover_probes, initialize_discovery_result

    result: dict[str, Any] = initialize_discovery_result("xynergy-harness", __version__, "harness")
    result["activities"].extend(discover_actions("harness.ctk.actions"))
    result["activities"].extend(discover_probes("harness.ctk.probes"))
    return result
