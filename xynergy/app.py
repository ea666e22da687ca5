"""``create_app(config)``: the one factory that builds any service's ASGI app."""

from __future__ import annotations

import importlib

from fastapi import FastAPI

from xynergy.config import ServiceConfig, validate_config

__all__ = ["create_app"]

_MODULES = {
    "edge": "xynergy.services.edge",
    "security-governance": "xynergy.services.governance",
    "ai-routing-engine": "xynergy.services.routing_engine",
    "internal-ai-service": "xynergy.services.inference",
    "system-runtime": "xynergy.services.runtime",
}


def create_app(config: ServiceConfig) -> FastAPI:
    """Validate ``config`` and build its service's app (raises ``ConfigurationError``).

    Example::

        app = create_app(ServiceConfig("security-governance", api_keys=("k1",)))
    """
    validate_config(config)
    module = importlib.import_module(_MODULES[config.service])
    app: FastAPI = module.create_app(config)
    return app
