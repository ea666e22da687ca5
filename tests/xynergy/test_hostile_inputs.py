"""Hostile input handled in-process: non-finite JSON, loose booleans, bad WebSocket params, 500s that close."""

from __future__ import annotations

import pytest
from fastapi import APIRouter

from tests.xynergy.platform_testing import AUTH, config, running
from tests.xynergy.services.test_edge import platform
from xynergy import create_app
from xynergy.common.app import ServiceParts, service_app
from xynergy.common.observability import Metrics

NON_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"]


def _bodies(template: bytes) -> list[bytes]:
    return [template.replace(b"@", literal) for literal in NON_FINITE]


@pytest.mark.anyio
@pytest.mark.parametrize("service,path,template", [
    ("security-governance", "/v1/validate", b'{"tenant": "acme", "content": "x", "extra": @}'),
    ("security-governance", "/v1/validate", b'{"tenant": @, "content": "x"}'),
    ("internal-ai-service", "/v1/infer", b'{"model": "xyn-small-v1", "prompt": @, "tier": "small"}'),
    ("ai-routing-engine", "/v1/route", b'{"tenant": "acme", "prompt": "hi", "max_tokens": @}'),
    ("edge", "/admin/traffic", b'{"service": "ai-routing-engine", "canary_percent": @}'),
])
async def test_non_finite_json_numbers_are_422_in_every_service(service: str, path: str, template: bytes) -> None:
    extra = {"upstreams": {"internal-ai.primary": "http://ai"}} if service == "ai-routing-engine" else {}
    app = create_app(config(service, **extra))
    async with app.router.lifespan_context(app):
        import httpx

        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for body in _bodies(template):
                method = "PUT" if path == "/admin/traffic" else "POST"
                response = await client.request(method, path, content=body,
                                                headers={**AUTH, "content-type": "application/json"})
                assert response.status_code == 422, (body, response.status_code, response.text)
                assert "non-finite" in response.text


@pytest.mark.anyio
async def test_a_boolean_is_not_a_canary_percent() -> None:
    app, _ = platform()
    async with running(app) as client:
        for bad in (True, False, "10", 10.5):
            put = await client.put("/admin/traffic", json={"service": "ai-routing-engine", "canary_percent": bad},
                                   headers=AUTH)
            assert put.status_code == 422, bad
        assert (await client.get("/admin/traffic", headers=AUTH)).json()["ai-routing-engine"]["canary_percent"] == 0


@pytest.mark.anyio
async def test_an_unhandled_error_is_a_500_that_closes_its_connection_and_shows_no_traceback() -> None:
    """A client must never pool a connection the server is about to close (another tenant's request would 502)."""
    router = APIRouter()

    @router.post("/v1/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    cfg = config("security-governance")
    app = service_app(cfg, Metrics(cfg.service, cfg.revision, cfg.region), ServiceParts(router=router))
    import httpx

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/v1/boom", headers=AUTH)
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert "secret internals" not in response.text and "Traceback" not in response.text
    assert response.json()["detail"] == "internal error"


@pytest.mark.anyio
async def test_a_preflight_that_declares_a_body_is_refused_and_nothing_is_forwarded() -> None:
    app, links = platform()
    headers = {"origin": "https://xynergy-platform.com", "access-control-request-method": "POST"}
    async with running(app) as client:
        before = len(links["ai-routing-engine"].seen)
        refused = await client.request("OPTIONS", "/v1/route", headers=headers, content=b"x" * 100_000)
        plain = await client.options("/v1/route", headers=headers)
    assert refused.status_code == 400 and refused.headers["connection"] == "close"
    assert plain.status_code == 204
    assert len(links["ai-routing-engine"].seen) == before + 1  # only the body-less preflight


@pytest.mark.anyio
async def test_a_body_over_the_limit_is_413_and_is_not_forwarded() -> None:
    app, links = platform(max_body_bytes=64 * 1024)
    async with running(app) as client:
        big = await client.post("/v1/route", content=b'{"tenant": "acme", "prompt": "' + b"a" * 70_000 + b'"}',
                                headers={**AUTH, "content-type": "application/json"})
        small = await client.post("/v1/route", json={"tenant": "acme", "prompt": "hi"}, headers=AUTH)
    assert big.status_code == 413 and big.headers["connection"] == "close"
    assert small.status_code == 200
    assert all(len(r.content) < 64 * 1024 for r in links["ai-routing-engine"].seen)


@pytest.mark.anyio
async def test_a_chunked_body_over_the_limit_is_413_while_it_is_read() -> None:
    gov = create_app(config("security-governance", max_body_bytes=10_000))

    async def chunks():  # no content-length: the limit must hold while reading
        for _ in range(100):
            yield b"a" * 1000

    async with running(gov) as client:
        response = await client.post("/v1/validate", content=chunks(),
                                     headers={**AUTH, "content-type": "application/json"})
    assert response.status_code == 413


@pytest.mark.anyio
async def test_route_answers_say_cache_and_tier_through_the_edge_also_on_errors() -> None:
    app, links = platform()
    async with running(app) as client:
        first = await client.post("/v1/route", json={"tenant": "acme", "prompt": "cost me"}, headers=AUTH)
        second = await client.post("/v1/route", json={"tenant": "acme", "prompt": "cost me"}, headers=AUTH)
        # every AI region down: the routing engine still knows tier and cache state
        routing_app = links["ai-routing-engine"].inner.app
        for transport in routing_app.state.router.clients.values():
            transport._transport.down = True  # type: ignore[attr-defined]
        failed = await client.post("/v1/route", json={"tenant": "acme", "prompt": "never cached"}, headers=AUTH)
    assert (first.headers["x-xynergy-cache"], second.headers["x-xynergy-cache"]) == ("miss", "hit")
    assert first.headers["x-xynergy-tier"] == second.headers["x-xynergy-tier"] == first.json()["tier"]
    assert failed.status_code in (502, 503)
    assert failed.headers["x-xynergy-cache"] == "miss" and failed.headers["x-xynergy-tier"] in ("small", "medium")
