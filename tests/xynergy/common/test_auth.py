"""API keys: 401 without, 403 wrong, hashed storage; preflights and probes pass."""

from __future__ import annotations

import pytest

from tests.xynergy.platform_testing import API_KEY, OTHER_KEY, config, running
from xynergy import create_app
from xynergy.common.auth import KeyStore


def test_key_store_keeps_only_digests_and_checks_every_key() -> None:
    store = KeyStore([API_KEY, OTHER_KEY])
    assert store.check(API_KEY) and store.check(OTHER_KEY)
    assert not store.check("test-key-3") and not store.check("")
    assert API_KEY.encode() not in b"".join(store._digests)


@pytest.mark.anyio
@pytest.mark.parametrize("service", ["security-governance", "internal-ai-service", "system-runtime"])
async def test_v1_endpoints_answer_401_without_a_key_and_403_with_a_wrong_one(service: str) -> None:
    path = {"security-governance": "/v1/policies/acme", "internal-ai-service": "/v1/models",
            "system-runtime": "/v1/runtime/connections"}[service]
    async with running(create_app(config(service))) as client:
        assert (await client.get(path)).status_code == 401
        assert (await client.get(path, headers={"x-api-key": "nope"})).status_code == 403
        assert (await client.get(path, headers={"x-api-key": OTHER_KEY})).status_code == 200
        assert (await client.get("/healthz")).status_code == 200


@pytest.mark.anyio
async def test_routing_engine_refuses_route_requests_without_a_valid_key() -> None:
    app = create_app(config("ai-routing-engine", upstreams={"internal-ai.primary": "http://127.0.0.1:9"}))
    async with running(app) as client:
        body = {"tenant": "acme", "prompt": "hello"}
        assert (await client.post("/v1/route", json=body)).status_code == 401
        assert (await client.post("/v1/route", json=body, headers={"x-api-key": "x"})).status_code == 403


@pytest.mark.anyio
async def test_cors_preflight_needs_no_key() -> None:
    async with running(create_app(config("security-governance"))) as client:
        response = await client.options("/v1/validate", headers={
            "origin": "https://app.xynergy.com", "access-control-request-method": "POST"})
        assert response.status_code == 204
