"""The SLO verdicts in Locust's web UI: a "SLO verdict" tab and `GET /harness/verdicts`.

Uses Locust's documented extension points (its `examples/extend_web_ui.py`):
`extended_tabs`/`extended_tables` in the web UI's template arguments declare
the tab, and rows added as `extended_stats` to the `/stats/requests` JSON the
page polls every few seconds fill it. Only `harness.locust` imports this module
(Flask comes with Locust; the orchestrator never loads it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from typing import Any

from flask import Response, jsonify, request

from harness.load._verdict import RunVerdict, combine_runs
from harness._verdicts import op_symbol

__all__ = ["TAB_KEY", "install", "verdict_rows"]

TAB_KEY = "harness-slo-verdict"
_COLUMNS = (
    ("run", "Run"),
    ("name", "SLO"),
    ("scope", "Scope"),
    ("value", "Value"),
    ("objective", "Objective"),
    ("samples", "Samples"),
    ("verdict", "Verdict"),
    ("detail", "Detail"),
)


def _fmt(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value:.4g} {unit}".strip()


def verdict_rows(runs: Sequence[RunVerdict]) -> list[dict[str, str]]:
    """Table rows, newest run first: one per check, then the run's overall verdict."""
    rows: list[dict[str, str]] = []
    for index in range(len(runs), 0, -1):
        result = runs[index - 1]
        for c in result.checks:
            rows.append({
                "run": str(index), "name": c.name, "scope": c.scope, "value": _fmt(c.value, c.unit),
                "objective": f"{op_symbol(c.op)} {_fmt(c.objective, c.unit)}", "samples": str(c.samples),
                "verdict": c.verdict.value.upper(), "detail": c.detail,
            })  # fmt: skip
        rows.append({
            "run": str(index), "name": "verdict", "scope": f"SLOs from {result.slo_source}", "value": "",
            "objective": "", "samples": str(result.samples), "verdict": result.verdict.value.upper(),
            "detail": "; ".join((*result.warnings, f"exit code {result.exit_code}")),
        })  # fmt: skip
    return rows


def install(web_ui: Any, runs: Callable[[], Sequence[RunVerdict]], running: Callable[[], bool]) -> None:
    """Add the tab and the JSON route to one Locust `WebUI` (`environment.web_ui`)."""
    web_ui.template_args["extended_tabs"] = [{"title": "SLO verdict", "key": TAB_KEY}]
    web_ui.template_args["extended_tables"] = [
        {"key": TAB_KEY, "structure": [{"key": key, "title": title} for key, title in _COLUMNS]}
    ]
    app = web_ui.app

    @app.after_request  # type: ignore[untyped-decorator]
    def add_verdict_rows(response: Response) -> Response:
        if not request.path.endswith("/stats/requests") or not response.is_json:
            return response
        data = response.get_json(silent=True)
        if isinstance(data, dict):
            extended = [e for e in data.get("extended_stats") or [] if e.get("key") != TAB_KEY]
            data["extended_stats"] = [*extended, {"key": TAB_KEY, "data": verdict_rows(runs())}]
            response.set_data(json.dumps(data))
        return response

    def verdicts() -> Response:
        """Every test run's verdict so far (the verdict file's JSON, numbered), and the exit code at quit."""
        done = list(runs())
        body = {
            "runs": [{"run": n, **r.to_dict()} for n, r in enumerate(done, 1)],
            "running": running(),
            "exit_code": combine_runs(done) if done else None,
        }
        return jsonify(body)

    app.add_url_rule("/harness/verdicts", "harness_verdicts", web_ui.auth_required_if_enabled(verdicts))
