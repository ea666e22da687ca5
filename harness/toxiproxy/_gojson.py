"""JSON decoding with the leniency and the error texts of Go's `encoding/json`.

The real server decodes request bodies with `json.NewDecoder(body).Decode(&v)`;
clients depend on what that accepts (only the first value is read, keys match
case-insensitively, unknown keys and `null`s are ignored) and its error texts
reach users (`bad request body: json: cannot unmarshal string into Go struct
field Proxy.enabled of type bool`). This module reproduces both closely enough
for every client we know of.

Hostile input is an error, never a crash: nesting deeper than Go's limit
(10 000) is Go's `exceeded max depth`, numbers of any length keep their
literal instead of going through `int()` (which refuses more than 4 300
digits), and a lone UTF-16 surrogate (`"\\ud800"`) is refused, because such a
string cannot be encoded as UTF-8 again (Go silently turns it into U+FFFD).
Every failure is a `GoJSONError`.
"""

from __future__ import annotations

import gc
import itertools
import json
import math
import re
import struct
import sys
from collections.abc import Mapping
from typing import Any

__all__ = ["GoJSONError", "decode_first", "GoFloat", "bind_fields", "go_type_name", "format_float32", "MAX_DEPTH"]

_INT64 = (-(2**63), 2**63 - 1)
#: Go's `maxNestingDepth` in encoding/json's scanner.
MAX_DEPTH = 10_000
# With at most this many `[`/`{` the C decoder cannot get near the interpreter's
# recursion limit, so the common case needs no special handling.
_SAFE_OPENERS = 256


class GoJSONError(ValueError):
    """A decoding error whose message is the Go error text (without `bad request body: `)."""


class GoFloat(float):
    """A JSON number written with a fraction or exponent, or too long for int64; keeps its literal."""

    literal: str

    def __new__(cls, literal: str) -> GoFloat:
        obj = super().__new__(cls, float(literal))
        obj.literal = literal
        return obj


def _int(literal: str) -> int | GoFloat:
    # int() refuses more than 4 300 digits (and is quadratic below that); no int64 needs 21 characters
    return int(literal) if len(literal) <= 20 else GoFloat(literal)


def _no_constants(name: str) -> Any:
    raise GoJSONError(f"invalid character '{name[0]}' looking for beginning of value")


_DECODER = json.JSONDecoder(parse_float=GoFloat, parse_constant=_no_constants, strict=True)
# Integers go through the C scanner's own int() (a Python hook per integer made a body of a
# million of them cost 0.3 s); only a body with one over int()'s 4 300-digit limit is decoded
# again with the hook.
_LONG_INT_DECODER = json.JSONDecoder(parse_float=GoFloat, parse_int=_int, parse_constant=_no_constants, strict=True)
_FLOAT32_MAX = 3.4028234663852886e38
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEX = "0123456789abcdefABCDEF"
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v"}
_LITERALS = {"t": "true", "f": "false", "n": "null"}
_CONTEXTS = {
    "Expecting property name enclosed in double quotes": "looking for beginning of object key string",
    "Expecting value": "looking for beginning of value",
    "Expecting ':' delimiter": "after object key",
    "Expecting ',' delimiter": "after object key:value pair",
}


def _quote_char(char: str) -> str:
    """Go's `quoteChar`: the scanner sees bytes, so a multi-byte character shows as its first byte."""
    byte = char.encode("utf-8", "surrogatepass")[0]
    if byte == 0x27:
        return "'\\''"
    shown = _GO_ESCAPES.get(chr(byte)) or repr(chr(byte))[1:-1]
    return f"'{shown}'" if byte != 0x22 else "'\"'"


def _syntax_error(text: str, exc: json.JSONDecodeError) -> GoJSONError:
    pos, msg = exc.pos, exc.msg
    eof = GoJSONError("unexpected EOF")

    def at(i: int, context: str) -> GoJSONError:
        return eof if i >= len(text) else GoJSONError(f"invalid character {_quote_char(text[i])} {context}")

    if msg.startswith("Invalid control character"):
        return at(pos, "in string literal")
    if msg == "Invalid \\escape":
        return at(pos + 1, "in string escape code")
    if msg == "Invalid \\uXXXX escape":
        for i in range(pos + 1, pos + 5):
            if i >= len(text) or text[i] not in _HEX:
                return at(i, "in \\u hexadecimal character escape")
    if pos >= len(text.rstrip()) or msg.startswith("Unterminated string"):
        return eof
    char = text[pos]
    if msg == "Expecting value" and char == "-":
        return at(pos + 1, "in numeric literal")
    if msg == "Expecting value" and char in _LITERALS:
        word = _LITERALS[char]
        for i, expected in enumerate(word):
            if pos + i >= len(text):
                return eof
            if text[pos + i] != expected:
                return at(pos + i, f"in literal {word} (expecting {_quote_char(expected)})")
    context = _CONTEXTS.get(msg, "looking for beginning of value")
    if msg == "Expecting ',' delimiter" and _inside_array(text, pos):
        context = "after array element"
    return GoJSONError(f"invalid character {_quote_char(char)} {context}")


_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"?', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}


def _brackets(text: str) -> tuple[str, list[int]]:
    """The brackets of `text` outside strings, and the nesting depth after each (C-speed passes)."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    return brackets, list(itertools.accumulate(map(_DELTA.__getitem__, brackets)))


def _inside_array(text: str, pos: int) -> bool:
    """Whether the innermost container open at `pos` is an array (for Go's error context).

    Asked of the C decoder, not a Python loop over the text: with a `]` at
    `pos` an array closes and decoding gets past `pos`; an object fails there again.
    """
    try:
        _raw_decode(text[:pos] + "]" + text[pos + 1 :])
    except json.JSONDecodeError as exc:
        return exc.pos != pos
    except GoJSONError:
        return True  # got past `pos` (to a NaN, say)
    return True


def _frames() -> int:
    frame, count = sys._getframe(), 0
    while frame is not None:
        count += 1
        frame = frame.f_back  # type: ignore[assignment]
    return count


def _recursion_depth() -> int:
    """The interpreter's recursion depth here, C calls included (an event loop adds unseen levels)."""
    old = sys.getrecursionlimit()
    limit = _frames() + 300
    sys.setrecursionlimit(limit)
    calls = 0

    def down() -> None:
        nonlocal calls
        calls += 1
        down()

    try:
        down()
    except RecursionError:
        pass
    finally:
        sys.setrecursionlimit(old)
    return limit - calls


def _raw_decode(text: str) -> Any:
    """The first value of `text`; nesting deeper than Go's limit is Go's error, never a RecursionError.

    The cyclic garbage collector is off while decoding: JSON values hold no
    cycles, and its passes over a million fresh objects were two thirds of the
    time a hostile 2 MiB body held the event loop.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        try:
            return _decode_nested(_DECODER, text)
        except ValueError as exc:
            if isinstance(exc, json.JSONDecodeError) or "digits" not in str(exc):
                raise
            return _decode_nested(_LONG_INT_DECODER, text)
    finally:
        if collecting:
            gc.enable()


def _decode_nested(decoder: json.JSONDecoder, text: str) -> Any:
    if text.count("[") + text.count("{") <= _SAFE_OPENERS:
        return decoder.raw_decode(text)[0]
    # The C decoder counts one recursion level per `[`/`{`: a limit of exactly MAX_DEPTH
    # levels above the current depth makes RecursionError mean "deeper than Go allows"
    # (a 50 000-deep decode was measured safe on an 8 MiB stack, so 10 000 has room).
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(_recursion_depth() + MAX_DEPTH + 1)
    try:
        return decoder.raw_decode(text)[0]
    except RecursionError:
        raise GoJSONError(f"invalid character '{_deep_opener(text)}' exceeded max depth") from None
    finally:
        sys.setrecursionlimit(old)


def _deep_opener(text: str) -> str:
    """The bracket that crossed MAX_DEPTH (the character Go's error names)."""
    brackets, depths = _brackets(text)
    try:
        return brackets[depths.index(MAX_DEPTH + 1)]
    except ValueError:
        return "["


def _lone_surrogate(value: Any) -> str | None:
    """The first lone surrogate in any string (key or value) of a decoded value, or None."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            match = _SURROGATE.search(item)
            if match:
                return match.group()
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def decode_first(body: bytes) -> Any:
    """Decode the first JSON value of `body`, ignoring whatever follows it (like Go's Decoder)."""
    text = body.decode("utf-8", errors="replace")
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise GoJSONError("EOF")
    try:
        value = _raw_decode(stripped)
    except json.JSONDecodeError as exc:
        raise _syntax_error(stripped, exc) from None
    if _SURROGATE_ESCAPE.search(stripped):
        lone = _lone_surrogate(value)
        if lone is not None:
            raise GoJSONError(f"lone surrogate \\u{ord(lone):04x} in string literal (not valid UTF-8)")
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


def _literal(value: int | float) -> str:
    return value.literal if isinstance(value, GoFloat) else str(value)


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
            raise fail(f"number {_literal(value)}")
        return int(value)
    if go_type == "float32":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise fail(go_type_name(value))
        try:
            as_float = float(value)
        except OverflowError:  # an int beyond float's range
            as_float = math.inf
        if not abs(as_float) <= _FLOAT32_MAX:
            raise fail(f"number {_literal(value)}")
        return as_float
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
        if abs(candidate) <= _FLOAT32_MAX and struct.unpack("<f", struct.pack("<f", candidate))[0] == f32:
            return candidate  # (a shorter form near float32's maximum can round past it: skipped)
    return f32
