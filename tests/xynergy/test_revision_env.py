"""On Cloud Run the services name the revision that served from ``K_REVISION``."""

from __future__ import annotations

import httpx

from tests.xynergy.platform_testing import AUTH
from xynergy.cli import revision_from


def test_k_revision_names_the_serving_revision_on_every_answer(spawn) -> None:
    gov = spawn("security-governance", env={"K_REVISION": "xynergy-governance-00042-abc"})
    answer = httpx.get(f"{gov.url}/v1/policies/acme", headers=AUTH)
    refused = httpx.get(f"{gov.url}/v1/policies/acme")
    assert answer.headers["x-xynergy-revision"] == "xynergy-governance-00042-abc"
    assert refused.status_code == 401 and refused.headers["x-xynergy-revision"] == "xynergy-governance-00042-abc"
    assert httpx.get(f"{gov.url}/healthz").json()["revision"] == "xynergy-governance-00042-abc"


def test_an_explicit_revision_flag_wins_over_k_revision_and_baseline_is_the_last_resort() -> None:
    assert revision_from("canary", {"K_REVISION": "svc-00001-xyz"}) == "canary"
    assert revision_from(None, {"K_REVISION": "svc-00001-xyz"}) == "svc-00001-xyz"
    assert revision_from(None, {"K_REVISION": "  "}) == "baseline"
    assert revision_from(None, {}) == "baseline"
