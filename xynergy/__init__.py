"""The reference Xynergy platform: five FastAPI services with the review's fixes.

Run one with ``python -m xynergy SERVICE --port N`` (see ``docs/platform.md``),
or build its app in-process with ``create_app(ServiceConfig(...))``.
"""

from __future__ import annotations

from xynergy.app import create_app
from xynergy.config import SERVICES, ConfigurationError, ServiceConfig, load_api_keys
from xynergy.defects import PRESETS, Defects, parse_defects

__all__ = [
    "ConfigurationError",
    "Defects",
    "PRESETS",
    "SERVICES",
    "ServiceConfig",
    "create_app",
    "load_api_keys",
    "parse_defects",
]
