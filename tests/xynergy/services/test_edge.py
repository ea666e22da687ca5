"""edge: routing, the canary split, fail-closed key verification, CORS pass-through."""

from __future__ import annotations

import pytest

from tests.xynergy.platform_testing import API_KEY, AUTH, OTHER_KEY, SwitchableTransport, config, running, sample
from xynergy import create_app, parse_defects


def platform(*, canary_defect: str | None = None, governance_keys: tuple[str, ...] | None = None, **edge):
    """An edge wired in-process to real governance, routing (+ internal-ai) and runtime apps."""
    ai = create_app(config("internal-ai-service", region="region-a"))
    ai_link = {"internal-ai.primary": SwitchableTransport(ai)}

    def routing(revision: str):
        return create_app(config("ai-routing-engine", revision=revision, transports=ai_link,
                                 upstreams={"internal-ai.primary": "http://ai"}))

    gov_kw = {"api_keys": governance_keys} if governance_keys else {}
    links = {
        "ai-routing-engine": SwitchableTransport(routing("baseline")),
        "ai-routing-engine@canary": SwitchableTransport(routing("canary")),
        "security-governance": SwitchableTransport(create_app(config("security-governance", **gov_kw))),
        "security-governance@canary": SwitchableTransport(create_app(config(
            "security-governance", revision="canary", defects=parse_defects(canary_defect)))),
        "system-runtime": SwitchableTransport(create_app(config("system-runtime"))),
    }
    app = create_app(config("edge", upstreams={name: f"http://{name.replace('@', '-')}" for name in links},
                            transports=links, **edge))
    return app, links


def route_body(i: int = 0) -> dict[str, str]:
    return {"tenant": "acme", "prompt": f"hello {i}"}


@pytest.mark.anyio
async def test_edge_routes_each_prefix_to_its_upstream_and_stamps_the_serving_revision() -> None:
    app, links = platform()
    async with running(app) as client:
        route = await client.post("/v1/route", json=route_body(), headers={**AUTH, "x-request-id": "req-123"})
        policy = await client.get("/v1/governance/policies/acme", headers=AUTH)
        runtime = await client.get("/v1/runtime/connections", headers=AUTH)
        missing = await client.get("/v1/nothing", headers=AUTH)
    assert route.status_code == 200 and route.headers["x-xynergy-revision"] == "baseline"
    assert route.headers["x-xynergy-region"] == "region-a" and route.headers["x-request-id"] == "req-123"
    assert links["ai-routing-engine"].seen[-1].headers["x-request-id"] == "req-123"
    assert policy.json()["tenant"] == "acme"
    assert links["security-governance"].seen[-1].url.path == "/v1/policies/acme"
    assert runtime.json() == {"connections": 0}
    assert missing.status_code == 404
    labels = {"service": "edge", "revision": "baseline", "route": "/v1/route", "method": "POST", "status": "200"}
    assert sample(app, "xynergy_http_requests_total", labels) == 1


@pytest.mark.anyio
async def test_admin_traffic_moves_requests_between_baseline_and_canary() -> None:
    app, _ = platform(canary_weights={"ai-routing-engine": 50})
    async with running(app) as client:
        split = [(await client.post("/v1/route", json=route_body(i), headers=AUTH)).headers["x-xynergy-revision"]
                 for i in range(200)]
        assert 50 <= split.count("canary") <= 150  # 50 % ± a wide margin
        put = await client.put("/admin/traffic", json={"service": "ai-routing-engine", "canary_percent": 100},
                               headers=AUTH)
        assert put.status_code == 200 and put.json()["ai-routing-engine"]["canary_percent"] == 100
        assert {(await client.post("/v1/route", json=route_body(i), headers=AUTH)).headers["x-xynergy-revision"]
                for i in range(20)} == {"canary"}
        await client.put("/admin/traffic", json={"service": "ai-routing-engine", "canary_percent": 0}, headers=AUTH)
        assert {(await client.post("/v1/route", json=route_body(i), headers=AUTH)).headers["x-xynergy-revision"]
                for i in range(20)} == {"baseline"}
        assert (await client.get("/admin/traffic")).status_code == 401
        bad = await client.put("/admin/traffic", json={"service": "ai-routing-engine", "canary_percent": 101},
                               headers=AUTH)
        unknown = await client.put("/admin/traffic", json={"service": "nope", "canary_percent": 1}, headers=AUTH)
        no_canary = await client.put("/admin/traffic", json={"service": "system-runtime", "canary_percent": 5},
                                     headers=AUTH)
    assert (bad.status_code, unknown.status_code, no_canary.status_code) == (422, 404, 422)


@pytest.mark.anyio
async def test_edge_fails_closed_when_governance_is_unreachable_but_keeps_known_good_keys() -> None:
    app, links = platform()
    async with running(app) as client:
        assert (await client.post("/v1/route", json=route_body(), headers=AUTH)).status_code == 200
        links["security-governance"].down = True
        known = await client.post("/v1/route", json=route_body(1), headers=AUTH)
        unknown = await client.post("/v1/route", json=route_body(2), headers={"x-api-key": OTHER_KEY})
        wrong = await client.post("/v1/route", json=route_body(3), headers={"x-api-key": "wrong"})
        missing = await client.post("/v1/route", json=route_body(4))
    assert known.status_code == 200  # verified moments ago, still in the short positive cache
    assert unknown.status_code == 503 and unknown.headers["retry-after"] == "1"
    assert (wrong.status_code, missing.status_code) == (403, 401)


@pytest.mark.anyio
async def test_a_key_governance_rejects_is_refused_even_if_the_edge_knows_it() -> None:
    app, _ = platform(governance_keys=(API_KEY,))
    async with running(app) as client:
        refused = await client.post("/v1/route", json=route_body(), headers={"x-api-key": OTHER_KEY})
        accepted = await client.post("/v1/route", json=route_body(), headers=AUTH)
    assert (refused.status_code, accepted.status_code) == (403, 200)


@pytest.mark.anyio
async def test_cors_preflights_pass_through_so_a_canary_regression_is_visible() -> None:
    app, _ = platform(canary_defect="cors-wildcard")
    preflight = {"origin": "https://evil-xynergy.com", "access-control-request-method": "POST"}
    async with running(app) as client:
        baseline = await client.options("/v1/governance/validate", headers=preflight)
        good = await client.options("/v1/governance/validate",
                                    headers={**preflight, "origin": "https://app.xynergy.com"})
        await client.put("/admin/traffic", json={"service": "security-governance", "canary_percent": 100},
                         headers=AUTH)
        canary = await client.options("/v1/governance/validate", headers=preflight)
    assert "access-control-allow-origin" not in baseline.headers
    assert good.headers["access-control-allow-origin"] == "https://app.xynergy.com"
    assert canary.headers["access-control-allow-origin"] == "https://evil-xynergy.com"
    assert canary.headers["x-xynergy-revision"] == "canary"


@pytest.mark.anyio
async def test_an_unreachable_upstream_is_a_502_labelled_with_its_revision() -> None:
    app, links = platform(canary_weights={"ai-routing-engine": 100})
    links["ai-routing-engine@canary"].down = True
    async with running(app) as client:
        response = await client.post("/v1/route", json=route_body(), headers=AUTH)
    assert response.status_code == 502 and response.headers["x-xynergy-revision"] == "canary"


@pytest.mark.anyio
async def test_a_known_key_is_not_refused_when_its_cache_entry_expires_while_governance_is_down() -> None:
    """Fail-closed must not turn into an outage for clients governance accepted a moment ago."""
    import asyncio

    app, links = platform(auth_cache_ttl_s=0.05, auth_stale_s=60.0)
    async with running(app) as client:
        assert (await client.post("/v1/route", json=route_body(), headers=AUTH)).status_code == 200
        links["security-governance"].down = True
        await asyncio.sleep(0.1)  # past the fresh TTL: the edge must re-ask governance
        asked = links["security-governance"].attempts
        known = await client.post("/v1/route", json=route_body(1), headers=AUTH)
        unknown = await client.post("/v1/route", json=route_body(2), headers={"x-api-key": OTHER_KEY})
        await asyncio.sleep(0.05)
        assert links["security-governance"].attempts > asked  # it did re-ask, in the background
    assert known.status_code == 200
    assert unknown.status_code == 503


@pytest.mark.anyio
async def test_a_key_governance_revokes_is_refused_once_the_recheck_answers() -> None:
    import asyncio

    app, links = platform(auth_cache_ttl_s=0.05)
    async with running(app) as client:
        assert (await client.post("/v1/route", json=route_body(), headers=AUTH)).status_code == 200
        gov_app = links["security-governance"].inner.app
        revoked = create_app(config("security-governance", api_keys=(OTHER_KEY,)))
        links["security-governance"].inner = type(links["security-governance"].inner)(app=revoked)
        await asyncio.sleep(0.1)
        await client.post("/v1/route", json=route_body(1), headers=AUTH)  # stale: served, re-checked behind it
        await asyncio.sleep(0.1)
        after = await client.post("/v1/route", json=route_body(2), headers=AUTH)
        assert gov_app is not None
    assert after.status_code == 403
