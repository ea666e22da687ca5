"""internal-ai-service: simulated inference with tier-dependent latency.

The review found a memory leak in the global model state (every model ever
requested stayed loaded). Here the registry is an LRU with a fixed maximum, so
memory stays flat however many distinct models are asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections import OrderedDict

from fastapi import APIRouter, FastAPI, Response
from prometheus_client import Counter, Gauge
from pydantic import BaseModel, Field

from xynergy.common.app import ServiceParts, service_app
from xynergy.common.observability import Metrics
from xynergy.config import ServiceConfig

__all__ = ["ModelRegistry", "create_app", "TIERS"]

TIERS = ("small", "medium", "large")
WEIGHTS_BYTES = 64 * 1024
"""Simulated per-model weights, so an unbounded registry would really leak."""


class LoadedModel:
    """A 'loaded' model: a name, a tier and some resident bytes."""

    __slots__ = ("name", "tier", "weights")

    def __init__(self, name: str, tier: str) -> None:
        self.name, self.tier = name, tier
        self.weights = bytearray(WEIGHTS_BYTES)


def tier_of(model: str, requested: str | None) -> str:
    """The tier a request runs at: explicit, else named in the model, else medium."""
    if requested in TIERS:
        return requested
    return next((t for t in TIERS if t in model.lower()), "medium")


class ModelRegistry:
    """Loaded models, least recently used evicted beyond ``max_models``."""

    def __init__(self, max_models: int) -> None:
        if max_models < 1:
            raise ValueError("max_models must be >= 1")
        self.max_models = max_models
        self._models: OrderedDict[str, LoadedModel] = OrderedDict()
        self.loads = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._models)

    def names(self) -> list[str]:
        return list(self._models)

    def get(self, name: str, tier: str) -> LoadedModel:
        """Return the model, loading it (and evicting the LRU one) if needed."""
        model = self._models.get(name)
        if model is not None:
            self._models.move_to_end(name)
            return model
        model = LoadedModel(name, tier)
        self._models[name] = model
        self.loads += 1
        while len(self._models) > self.max_models:
            self._models.popitem(last=False)
            self.evictions += 1
        return model


class InferRequest(BaseModel):
    model: str = Field(min_length=1, max_length=200)
    prompt: str = Field(max_length=100_000)
    tier: str | None = None


def create_app(config: ServiceConfig) -> FastAPI:
    """Build the internal-ai-service app for one region."""
    metrics = Metrics(config.service, config.revision, config.region)
    registry = ModelRegistry(config.model_registry_size)
    inferences = Counter(
        "xynergy_inferences", "Inferences served.", ["tier", "region", "revision"], registry=metrics.registry
    )
    Gauge("xynergy_models_loaded", "Models resident in the registry.", ["revision"],
          registry=metrics.registry).labels(config.revision).set_function(lambda: len(registry))
    rng = random.Random()
    router = APIRouter()

    @router.post("/v1/infer")
    async def infer(body: InferRequest, response: Response) -> dict[str, object]:
        tier = tier_of(body.model, body.tier)
        model = registry.get(body.model, tier)
        base_ms = config.tier_latency_ms.get(tier, 10.0)
        await asyncio.sleep(base_ms * rng.uniform(0.8, 1.3) / 1000)
        inferences.labels(tier, config.region, config.revision).inc()
        digest = hashlib.sha256(f"{model.name}:{body.prompt}".encode()).hexdigest()[:16]
        response.headers["x-xynergy-region"] = config.region
        response.headers["x-xynergy-tier"] = tier
        return {
            "model": model.name, "tier": tier, "region": config.region, "revision": config.revision,
            "output": f"[{model.name}@{config.region}] {digest}", "tokens": len(body.prompt.split()),
        }

    @router.get("/v1/models")
    async def models() -> dict[str, object]:
        return {"loaded": len(registry), "max": registry.max_models, "loads": registry.loads,
                "evictions": registry.evictions}

    app = service_app(config, metrics, ServiceParts(router=router))
    app.state.registry = registry
    return app
