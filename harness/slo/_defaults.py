"""The defaults of judging: the SLOs a locustfile gets without SLO files (p95 < 100 ms,
errors < 1 %) and the fewest samples a verdict may rest on. No imports beyond the
standard library, so command-line parsers can show them without loading scipy.

They are the same documents as `slos/latency.yaml` and `slos/errors.yaml`
(a test keeps them equal), held here so an installed harness has them too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULT_MIN_SAMPLES", "DEFAULT_SLO_DOCUMENTS"]

DEFAULT_MIN_SAMPLES = 30
"""Fewest samples in a group a verdict may rest on; below it its checks are INCONCLUSIVE."""

_LATENCY: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "latency-p95", "displayName": "p95 latency below 100 ms"},
    "spec": {
        "service": "xynergy",
        "description": "95 % of requests are served in under 100 ms.",
        "indicator": {
            "metadata": {"name": "latency-p95-ms"},
            "spec": {
                "thresholdMetric": {
                    "metricSource": {"type": "harness", "spec": {"query": "p95(latency_ms)", "groupBy": ["revision"]}}
                }
            },
        },
        "timeWindow": [{"duration": "10m", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": "p95 < 100 ms", "op": "lt", "value": 100}],
    },
}

_ERRORS: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "error-ratio", "displayName": "error ratio below 1 %"},
    "spec": {
        "service": "xynergy",
        "indicator": {
            "metadata": {"name": "request-error-ratio"},
            "spec": {
                "thresholdMetric": {
                    "metricSource": {"type": "harness", "spec": {"query": "ratio(not ok)", "groupBy": ["revision"]}}
                }
            },
        },
        "timeWindow": [{"duration": "10m", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"displayName": "error ratio < 1 %", "op": "lt", "value": 0.01}],
    },
}

#: (source label, document) pairs for `harness.slo.parse_slo_documents`.
DEFAULT_SLO_DOCUMENTS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("<built-in>/latency.yaml", _LATENCY),
    ("<built-in>/errors.yaml", _ERRORS),
)
