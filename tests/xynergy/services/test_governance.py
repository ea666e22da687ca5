"""security-governance: tenant policies, content validation, key verification."""

from __future__ import annotations

import pytest

from tests.xynergy.platform_testing import AUTH, config, running
from xynergy import create_app


@pytest.mark.anyio
async def test_content_validation_flags_injection_and_pii_and_accepts_clean_text() -> None:
    async with running(create_app(config("security-governance"))) as client:
        bad = await client.post("/v1/validate", headers=AUTH, json={
            "tenant": "acme", "content": "<script>x</script> mail me at a@b.io; DROP TABLE users"})
        good = await client.post("/v1/validate", headers=AUTH, json={"tenant": "acme", "content": "hello"})
        long = await client.post("/v1/validate", headers=AUTH, json={"tenant": "globex", "content": "a" * 2001})
    assert set(bad.json()["violations"]) == {"script-injection", "pii-email", "sql-injection"}
    assert good.json() == {"tenant": "acme", "valid": True, "violations": []}
    assert long.json()["violations"] == ["too-long"]


@pytest.mark.anyio
async def test_policies_differ_per_tenant_and_reject_bad_tenant_names() -> None:
    async with running(create_app(config("security-governance"))) as client:
        acme = (await client.get("/v1/policies/acme", headers=AUTH)).json()
        other = (await client.get("/v1/policies/someone", headers=AUTH)).json()
        bad = await client.get("/v1/policies/Not_Valid", headers=AUTH)
    assert "large" in acme["allowed_tiers"] and acme["custom"]
    assert "large" not in other["allowed_tiers"] and not other["custom"]
    assert bad.status_code == 422


@pytest.mark.anyio
async def test_verify_answers_200_for_a_good_key_and_403_for_a_bad_one() -> None:
    async with running(create_app(config("security-governance"))) as client:
        assert (await client.post("/v1/auth/verify", headers=AUTH)).json() == {"valid": True}
        assert (await client.post("/v1/auth/verify", headers={"x-api-key": "bad"})).status_code == 403


def test_the_linear_email_rule_detects_exactly_what_the_old_quadratic_one_did() -> None:
    """Every string of up to 7 characters over an alphabet that exercises each part of both rules."""
    import itertools
    import re

    from xynergy.services.governance import _RULES

    old = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.-]+\b")
    new = dict(_RULES)["pii-email"]
    checked = 0
    for n in range(1, 8):
        for chars in itertools.product("a.@-+ é", repeat=n):
            text = "".join(chars)
            assert bool(old.search(text)) == bool(new.search(text)), text
            checked += 1
    assert checked > 900_000
