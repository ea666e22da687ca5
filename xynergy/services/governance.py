"""security-governance: tenant policies, content validation, key verification.

``POST /v1/auth/verify`` is how the edge asks "is this key good?": the key to
check travels in ``X-API-Key`` like on any other call, so the answer comes from
the same constant-time check (200 valid, 401 missing, 403 wrong).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, FastAPI, HTTPException
from prometheus_client import Counter
from pydantic import BaseModel, Field

from xynergy.common.app import ServiceParts, service_app
from xynergy.common.observability import Metrics
from xynergy.config import ServiceConfig

__all__ = ["create_app", "POLICIES", "DEFAULT_POLICY", "validate_content"]

DEFAULT_POLICY: dict[str, Any] = {
    "max_content_chars": 8000, "allowed_tiers": ["small", "medium"], "requests_per_minute": 600,
    "pii_allowed": False,
}
POLICIES: dict[str, dict[str, Any]] = {
    "acme": {**DEFAULT_POLICY, "allowed_tiers": ["small", "medium", "large"], "requests_per_minute": 3000},
    "globex": {**DEFAULT_POLICY, "max_content_chars": 2000},
}
_TENANT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("script-injection", re.compile(r"<\s*script", re.I)),
    ("sql-injection", re.compile(r"\b(drop\s+table|union\s+select)\b", re.I)),
    ("pii-card-number", re.compile(r"\b(?:\d[ -]?){13,16}\b")),
    ("pii-email", re.compile(r"\w[.+-]*@[\w-]+\.[\w.-]+\b")),
)
r"""Each rule runs in time linear in the content (Python's engine backtracks).

The e-mail rule was ``\b[\w.+-]+@…``: from every start position its local
part ran to the end of a long ``a.a.a.…`` before failing, quadratic in the
content (200 000 chars: minutes). A local part ``\b[\w.+-]+`` exists before
an ``@`` exactly when the run of ``[\w.+-]`` before it holds a word
character, i.e. when the last word character before the ``@`` is followed only
by ``.+-``: ``\w[.+-]*@``, which only that one start position can reach. The
domain part scans the run after its ``@`` once. Same detections, linear time
(``test_governance`` checks both rules agree on every short string).
"""


class ValidateRequest(BaseModel):
    tenant: str = Field(min_length=1, max_length=63)
    content: str = Field(max_length=200_000)


def policy_for(tenant: str) -> dict[str, Any]:
    """The tenant's policy (the default one for tenants without their own)."""
    return POLICIES.get(tenant, DEFAULT_POLICY)


def validate_content(tenant: str, content: str) -> list[str]:
    """Names of the rules ``content`` violates under ``tenant``'s policy."""
    policy = policy_for(tenant)
    violations = []
    if len(content) > policy["max_content_chars"]:
        violations.append("too-long")
    for name, pattern in _RULES:
        if name.startswith("pii-") and policy["pii_allowed"]:
            continue
        if pattern.search(content):
            violations.append(name)
    return violations


def create_app(config: ServiceConfig) -> FastAPI:
    """Build the security-governance app."""
    metrics = Metrics(config.service, config.revision, config.region)
    checks = Counter("xynergy_content_validations", "Content validations by outcome.",
                     ["outcome", "revision"], registry=metrics.registry)
    api = APIRouter()

    @api.get("/v1/policies/{tenant}")
    async def policies(tenant: str) -> dict[str, Any]:
        if not _TENANT.match(tenant):
            raise HTTPException(422, "tenant must be lower-case letters, digits and '-'")
        return {"tenant": tenant, "custom": tenant in POLICIES, **policy_for(tenant)}

    @api.post("/v1/validate")
    async def validate(body: ValidateRequest) -> dict[str, Any]:
        violations = validate_content(body.tenant, body.content)
        checks.labels("rejected" if violations else "accepted", config.revision).inc()
        return {"tenant": body.tenant, "valid": not violations, "violations": violations}

    @api.post("/v1/auth/verify")
    async def verify() -> dict[str, bool]:
        return {"valid": True}

    return service_app(config, metrics, ServiceParts(router=api))
