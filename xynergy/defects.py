"""Defect profiles: deliberate regressions a revision can be started with.

The harness must prove it catches each regression, so a canary can be started
with one or more defects. The syntax is a comma-separated list of items, each
either a preset name (sensible defaults that clearly breach the SLOs) or
``name=value``:

    latency=150ms@0.3     add 150 ms to 30 % of /v1/ requests (``@`` part optional: all)
    errors=0.05           answer 5 % of /v1/ requests with HTTP 500 (``5%`` also accepted)
    slow-start=4s         sleep 4 s during start-up, before the port accepts connections
    memory-growth=4MiB/s  retain 4 MiB more every second (capped at the memory budget)
    cors-wildcard         CORS regresses to granting any origin (``*`` / reflected)
    breaker-off           ai-routing-engine: no circuit breaker, no fast failover

Example: ``latency,errors=0.02`` (the latency preset plus 2 % errors).
``parse_defects`` raises ``ValueError`` naming the bad item; a service accepts
``--defect`` only when ``XYNERGY_ALLOW_DEFECTS=1`` is also set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

__all__ = ["Defects", "PRESETS", "parse_defects", "ALLOW_DEFECTS_ENV"]

ALLOW_DEFECTS_ENV = "XYNERGY_ALLOW_DEFECTS"


@dataclass(frozen=True)
class Defects:
    """The regressions one revision carries; all off by default."""

    latency_s: float = 0.0
    """Extra delay added to an affected /v1/ request, seconds."""
    latency_fraction: float = 0.0
    """Share of /v1/ requests that get the extra delay (0..1)."""
    error_ratio: float = 0.0
    """Share of /v1/ requests answered with HTTP 500 (0..1)."""
    slow_start_s: float = 0.0
    """Seconds slept at start-up before the service accepts connections."""
    memory_growth_bytes_per_s: int = 0
    """Bytes retained per second, forever (up to the memory budget)."""
    cors_wildcard: bool = False
    """CORS grants every origin: the review's ``allow_origins=["*"]`` regression."""
    breaker_off: bool = False
    """No circuit breaker: every request tries the primary region with its full timeout."""

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def describe(self) -> str:
        """The canonical spec string (``parse_defects(d.describe()) == d``)."""
        items: list[str] = []
        if self.latency_s and self.latency_fraction:
            items.append(f"latency={self.latency_s * 1000:g}ms@{self.latency_fraction:g}")
        if self.error_ratio:
            items.append(f"errors={self.error_ratio:g}")
        if self.slow_start_s:
            items.append(f"slow-start={self.slow_start_s:g}s")
        if self.memory_growth_bytes_per_s:
            items.append(f"memory-growth={self.memory_growth_bytes_per_s}B/s")
        if self.cors_wildcard:
            items.append("cors-wildcard")
        if self.breaker_off:
            items.append("breaker-off")
        return ",".join(items) or "none"


PRESETS: dict[str, str] = {
    # Half of the canary's requests +150 ms: its own p95 lands near 160 ms (> 100 ms SLO).
    "latency": "latency=150ms@0.5",
    "errors": "errors=0.1",
    "slow-start": "slow-start=5s",
    "memory-growth": "memory-growth=4MiB/s",
    "cors-wildcard": "cors-wildcard",
    "breaker-off": "breaker-off",
}
"""Preset name → the spec it stands for."""

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
_SIZE_RATE = re.compile(r"^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)/s$")
_SIZE_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3}
_FLAGS = {"cors-wildcard": "cors_wildcard", "breaker-off": "breaker_off"}


def _duration(item: str, text: str) -> float:
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"defect {item!r}: duration must look like 150ms or 4s, got {text!r}")
    value = float(match.group(1))
    return value / 1000 if match.group(2) == "ms" else value


def _fraction(item: str, text: str) -> float:
    text = text.strip()
    try:
        value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"defect {item!r}: expected a fraction like 0.3 or 30%, got {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"defect {item!r}: fraction must be in (0, 1], got {text!r}")
    return value


def _parse_item(item: str, values: dict[str, object]) -> None:
    name, sep, value = item.partition("=")
    name = name.strip()
    if not sep:
        if name in _FLAGS:
            values[_FLAGS[name]] = True
            return
        if name in PRESETS:
            _parse_item(PRESETS[name], values)
            return
        raise ValueError(f"unknown defect {name!r} (known: {', '.join(PRESETS)})")
    if name in _FLAGS:
        raise ValueError(f"defect {name!r} takes no value, got {item!r}")
    if name == "latency":
        delay, at, fraction = value.partition("@")
        values["latency_s"] = _duration(item, delay)
        values["latency_fraction"] = _fraction(item, fraction) if at else 1.0
        if values["latency_s"] == 0:
            raise ValueError(f"defect {item!r}: latency must be > 0")
    elif name == "errors":
        values["error_ratio"] = _fraction(item, value)
    elif name == "slow-start":
        values["slow_start_s"] = _duration(item, value)
    elif name == "memory-growth":
        match = _SIZE_RATE.match(value.strip())
        if not match:
            raise ValueError(f"defect {item!r}: rate must look like 4MiB/s, got {value!r}")
        rate = int(float(match.group(1)) * _SIZE_UNITS[match.group(2)])
        if rate <= 0:
            raise ValueError(f"defect {item!r}: rate must be > 0")
        values["memory_growth_bytes_per_s"] = rate
    else:
        raise ValueError(f"unknown defect {name!r} (known: {', '.join(PRESETS)})")


def parse_defects(spec: str | None) -> Defects:
    """Parse a defect spec such as ``latency=150ms@0.3,breaker-off`` or a preset name.

    ``None``, ``""`` and ``"none"`` mean no defects. Raises ``ValueError`` with a
    message naming the offending item. A later item overrides an earlier one of
    the same kind.
    """
    if spec is None or spec.strip() in ("", "none"):
        return Defects()
    values: dict[str, object] = {}
    for raw in spec.split(","):
        item = raw.strip()
        if not item:
            raise ValueError(f"empty item in defect spec {spec!r}")
        _parse_item(item, values)
    return Defects(**values)  # type: ignore[arg-type]
