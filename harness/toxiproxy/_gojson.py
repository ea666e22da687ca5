"""JSON decoding with the leniency and the error texts of Go's `encoding/json`.

The real server decodes request bodies with `json.NewDecoder(body).Decode(&v)`;
clients depend on what that accepts (only the first value is read, keys match
case-insensitively, unknown keys and `null`s are ignored) and its error texts
reach users (`bad request body: json: cannot unmarshal string into Go struct
field Proxy.enabled of type bool`). This module reproduces both closely enough
for every client we know of.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping
from typing import Any

__all__ = ["GoJSONError", "decode_first", "GoFloat", "bind_fields", "go_type_name", "format_float32"]

_INT64 = (-(2**63), 2**63 - 1)


class GoJSONError(ValueError):
    """A decoding error whose message is the Go error text (without `bad request body: `)."""


class GoFloat(float):
    """A JSON number written with a fraction or exponent; keeps its literal for error texts."""

    literal: str

    def __new__(cls, literal: str) -> GoFloat:
        obj = super().__new__(cls, float(literal))
        obj.literal = literal
        return obj


def _no_constants(name: str) -> Any:
    raise GoJSONError(f"invalid character '{name[0]}' looking for beginning of value")


_DECODER = json.JSONDecoder(parse_float=GoFloat, parse_constant=_no_constants, strict=False)
_FLOAT32_MAX = 3.4028234663852886e38


def _syntax_error(text: str, exc: json.JSONDecodeError) -> GoJSONError:
    pos = exc.pos
    if pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string"):
        return GoJSONError("unexpected EOF")
    char = text[pos]
    shown = repr(char)[1:-1] if char != "'" else "\\'"
    context = {
        "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
        "Expecting value": "looking for beginning of value",
        "Expecting ':' delimiter": "after object key",
        "Expecting ',' delimiter": "after object key:value pair",
    }.get(exc.msg, "looking for beginning of value")
    if exc.msg == "Expecting ',' delimiter" and _inside_array(text, pos):
        context = "after array element"
    return GoJSONError(f"invalid character '{shown}' {context}")


def _inside_array(text: str, pos: int) -> bool:
    depth: list[str] = []
    in_string = escaped = False
    for char in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth.append(char)
        elif char in "]}" and depth:
            depth.pop()
    return bool(depth) and depth[-1] == "["


def decode_first(body: bytes) -> Any:
    """Decode the first JSON value of `body`, ignoring whatever follows it (like Go's Decoder)."""
    text = body.decode("utf-8", errors="replace")
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise GoJSONError("EOF")
    try:
        value, _ = _DECODER.raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise _syntax_error(stripped, exc) from None
    return value


def go_type_name(value: Any) -> str:
    """How Go names a JSON value in an UnmarshalTypeError ("string", "number", "object" ...)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _coerce(value: Any, go_type: str, where: str) -> Any:
    """Check one JSON value against a Go field type; return the Python value to store."""
    def fail(shown: str) -> GoJSONError:
        return GoJSONError(f"json: cannot unmarshal {shown} into Go struct field {where} of type {go_type}")

    if go_type == "string":
        if not isinstance(value, str):
            raise fail(go_type_name(value))
        return value
    if go_type == "bool":
        if not isinstance(value, bool):
            raise fail(go_type_name(value))
        return value
    if go_type in ("int", "int64"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(go_type_name(value))
        if isinstance(value, GoFloat) or not _INT64[0] <= value <= _INT64[1]:
            literal = value.literal if isinstance(value, GoFloat) else str(value)
            raise fail(f"number {literal}")
        return int(value)
    if go_type == "float32":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(go_type_name(value))
        if abs(value) > _FLOAT32_MAX:
            raise fail(f"number {value.literal if isinstance(value, GoFloat) else value}")
        return float(value)
    raise AssertionError(go_type)


def bind_fields(
    data: Any, fields: Mapping[str, str], struct: str, *, top_type: str | None = None
) -> dict[str, Any]:
    """Match a decoded JSON object onto a Go struct's fields, the Go way.

    `fields` maps each json key to its Go type. Keys match case-insensitively
    (the last match wins), unknown keys and `null` values are skipped; the
    result holds only the fields present. `top_type` names the Go type for
    the error when `data` is not an object at all.
    """
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise GoJSONError(f"json: cannot unmarshal {go_type_name(data)} into Go value of type {top_type or struct}")
    by_lower = {key.lower(): key for key in fields}
    out: dict[str, Any] = {}
    for key, value in data.items():
        field = by_lower.get(key.lower())
        if field is None or value is None:
            continue
        out[field] = _coerce(value, fields[field], f"{struct}.{field}")
    return out


def format_float32(value: float) -> int | float:
    """The JSON number Go prints for a float32: `1` for 1.0, `0.7` for 0.7f."""
    f32 = float(struct.unpack("<f", struct.pack("<f", value))[0])
    if f32 == int(f32) and abs(f32) < 1e21:
        return int(f32)
    for digits in range(1, 10):
        candidate = float(f"{f32:.{digits}g}")
        if struct.unpack("<f", struct.pack("<f", candidate))[0] == f32:
            return candidate
    return f32
