"""One module per service; each exposes ``create_app(config) -> FastAPI``."""

from __future__ import annotations

__all__: list[str] = []
