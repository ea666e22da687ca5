"""CORS: the allowlist grants exactly the review's origins; evil look-alikes get nothing."""

from __future__ import annotations

import pytest

from tests.xynergy.platform_testing import config, running
from xynergy import create_app, parse_defects
from xynergy.common.cors import OriginPolicy

GOOD = ["https://xynergy-platform.com", "https://api.xynergy.dev", "https://app.xynergy.com",
        "https://a.b.xynergy.com", "https://APP.Xynergy.com", "https://app.xynergy.com:443"]
EVIL = ["https://evil-xynergy.com", "https://xynergy.com.evil.io", "http://a.xynergy.com", "null", "*",
        "https://xynergy.com", "https://.xynergy.com", "https://a..xynergy.com", "https://-a.xynergy.com",
        "https://a.xynergy.com:8443", "https://a.xynergy.com/path", "https://user@a.xynergy.com",
        "https://xynergy-platform.com.evil.io", "http://xynergy-platform.com", "https://api.xynergy.dev.evil"]


@pytest.mark.parametrize("origin", GOOD)
def test_allowlisted_origins_are_allowed(origin: str) -> None:
    assert OriginPolicy().allows(origin)


@pytest.mark.parametrize("origin", EVIL)
def test_evil_and_malformed_origins_are_refused(origin: str) -> None:
    assert not OriginPolicy().allows(origin)


def preflight(origin: str) -> dict[str, str]:
    return {"origin": origin, "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, x-api-key"}


@pytest.mark.anyio
async def test_evil_origins_get_no_cors_grant_from_a_service() -> None:
    async with running(create_app(config("security-governance"))) as client:
        for origin in ("https://evil-xynergy.com", "https://xynergy.com.evil.io", "null"):
            pre = await client.options("/v1/validate", headers=preflight(origin))
            assert "access-control-allow-origin" not in pre.headers
            assert "access-control-allow-credentials" not in pre.headers
            simple = await client.get("/v1/policies/acme", headers={"origin": origin, "x-api-key": "test-key-1"})
            assert simple.status_code == 200
            assert "access-control-allow-origin" not in simple.headers


@pytest.mark.anyio
async def test_allowlisted_origin_gets_its_own_origin_and_credentials_never_a_star() -> None:
    async with running(create_app(config("security-governance"))) as client:
        pre = await client.options("/v1/validate", headers=preflight("https://app.xynergy.com"))
        assert pre.status_code == 204
        assert pre.headers["access-control-allow-origin"] == "https://app.xynergy.com"
        assert pre.headers["access-control-allow-credentials"] == "true"
        simple = await client.get("/v1/policies/acme",
                                  headers={"origin": "https://api.xynergy.dev", "x-api-key": "test-key-1"})
        assert simple.headers["access-control-allow-origin"] == "https://api.xynergy.dev"


@pytest.mark.anyio
async def test_cors_wildcard_defect_regresses_to_granting_any_origin() -> None:
    app = create_app(config("security-governance", defects=parse_defects("cors-wildcard")))
    async with running(app) as client:
        pre = await client.options("/v1/validate", headers=preflight("https://evil-xynergy.com"))
        assert pre.headers["access-control-allow-origin"] == "https://evil-xynergy.com"
        assert pre.headers["access-control-allow-credentials"] == "true"
