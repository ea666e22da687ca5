"""The one duration grammar of every flag and file: `500ms`, `30s`, `2m`, `1h`.

A bare number is refused: `60` could mean seconds or minutes, and a wrong
guess silently stretches or shortens a stage. `duration_arg` is the argparse
`type=` for duration flags, so every flag reads and refuses alike.
"""

from __future__ import annotations

import argparse
import math
import re

from harness._exceptions import ConfigError

__all__ = ["parse_duration", "duration_arg", "format_duration"]

_GRAMMAR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$")
_BARE = re.compile(r"^\s*\d{1,15}(?:\.\d{1,15})?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
HINT = "a number and a unit: 500ms, 30s, 2m or 1h"


def parse_duration(value: object, *, source: str | None = None, field: str | None = None) -> float:
    """Seconds from a duration string; ConfigError (naming source and field) otherwise."""
    if isinstance(value, str) and _BARE.match(value):  # `60` from a flag or a quoted YAML value
        value = float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        shown = f"{value:g}" if isinstance(value, float) or abs(value) < 10**15 else "N"
        raise ConfigError(f"a bare number is ambiguous: write {shown}s or {shown}ms ({HINT})",
                          source=source, field=field)
    match = _GRAMMAR.match(value) if isinstance(value, str) and len(value) <= 64 else None
    if match is None:
        shown = repr(value) if len(repr(value)) <= 64 else repr(value)[:61] + "..."
        raise ConfigError(f"expected a duration, {HINT}; got {shown}", source=source, field=field)
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if not math.isfinite(seconds):
        raise ConfigError(f"duration out of range: {value!r}", source=source, field=field)
    return seconds


def duration_arg(text: str) -> float:
    """argparse `type=`: the same grammar, reported by argparse as a one-line flag error."""
    try:
        return parse_duration(text)
    except ConfigError as exc:
        raise argparse.ArgumentTypeError(exc.problem) from None


def format_duration(seconds: float) -> str:
    """The shortest exact spelling in the grammar (`90s`, `2m`, `250ms`)."""
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:.12g}h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:.12g}m"
    if seconds >= 1 or seconds == 0:
        return f"{seconds:.12g}s"
    return f"{seconds * 1000:.12g}ms"
