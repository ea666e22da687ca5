"""internal-ai-service: region labels, tier latency, and a model registry that stays bounded."""

from __future__ import annotations

import pytest

from tests.xynergy.platform_testing import AUTH, config, running
from xynergy import create_app
from xynergy.services.inference import ModelRegistry


def test_model_registry_stays_bounded_after_10000_distinct_models() -> None:
    registry = ModelRegistry(max_models=16)
    for i in range(10_000):
        registry.get(f"model-{i}", "small")
    assert len(registry) == 16
    assert registry.loads == 10_000 and registry.evictions == 10_000 - 16
    assert registry.names() == [f"model-{i}" for i in range(10_000 - 16, 10_000)]


def test_recently_used_models_survive_eviction() -> None:
    registry = ModelRegistry(max_models=2)
    a = registry.get("a", "small")
    registry.get("b", "small")
    registry.get("a", "small")
    registry.get("c", "small")
    assert registry.names() == ["a", "c"] and registry.get("a", "small") is a


@pytest.mark.anyio
async def test_serving_many_distinct_models_over_http_keeps_the_registry_at_its_maximum() -> None:
    app = create_app(config("internal-ai-service", model_registry_size=8,
                            tier_latency_ms={"small": 0.0, "medium": 0.0, "large": 0.0}))
    async with running(app) as client:
        for i in range(300):
            r = await client.post("/v1/infer", json={"model": f"custom-{i}", "prompt": "x"}, headers=AUTH)
            assert r.status_code == 200
        models = (await client.get("/v1/models", headers=AUTH)).json()
        metrics = (await client.get("/metrics")).text
    assert models["loaded"] == 8 and models["loads"] == 300
    assert 'xynergy_models_loaded{revision="baseline"} 8.0' in metrics


@pytest.mark.anyio
async def test_answers_carry_the_region_and_the_tier() -> None:
    app = create_app(config("internal-ai-service", region="europe-west1"))
    async with running(app) as client:
        r = await client.post("/v1/infer", json={"model": "xyn-large-v1", "prompt": "hello"}, headers=AUTH)
    assert r.headers["x-xynergy-region"] == "europe-west1"
    assert r.headers["x-xynergy-tier"] == "large"
    assert r.json()["region"] == "europe-west1"
