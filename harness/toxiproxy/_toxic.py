"""The toxic model of the embedded server: types, attributes, JSON in and out.

Parsing follows the real server's order of checks and its error texts
(`AddToxicJson` / `UpdateToxicJson` in toxic_collection.go), so a client sees
the same status and body from either server. Attribute values on which the
real server crashes are refused with a 400 instead (one documented policy,
`_refuse_pathological`).
"""

from __future__ import annotations

from typing import Any

from harness.toxiproxy._gojson import GoJSONError, bind_fields, decode_first, format_float32, go_type_name

__all__ = [
    "TOXIC_TYPES",
    "Toxic",
    "ToxicError",
    "parse_new_toxic",
    "parse_toxic_update",
    "wrap64",
]

#: Toxic type → (Go struct name, {attribute: Go type}) — the built-in toxics of 2.12.0.
TOXIC_TYPES: dict[str, tuple[str, dict[str, str]]] = {
    "noop": ("NoopToxic", {}),
    "latency": ("LatencyToxic", {"latency": "int64", "jitter": "int64"}),
    "bandwidth": ("BandwidthToxic", {"rate": "int64"}),
    "slow_close": ("SlowCloseToxic", {"delay": "int64"}),
    "timeout": ("TimeoutToxic", {"timeout": "int64"}),
    "reset_peer": ("ResetToxic", {"timeout": "int64"}),
    "slicer": ("SlicerToxic", {"average_size": "int", "size_variation": "int", "delay": "int"}),
    "limit_data": ("LimitDataToxic", {"bytes": "int64"}),
}

_WRAPPER_FIELDS = {"name": "string", "type": "string", "stream": "string", "toxicity": "float32"}


class ToxicError(Exception):
    """A request the API answers with an error: `status` and the Go-style message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _bad_body(exc: GoJSONError) -> ToxicError:
    return ToxicError(400, f"bad request body: {exc}")


class Toxic:
    """One toxic of a proxy. Links read `attributes` live, so an update reaches open connections.

    A plain slotted class, not a dataclass: the server process then never
    needs `dataclasses` (and the `inspect` it imports) for itself.
    """

    __slots__ = ("name", "type", "stream", "toxicity", "attributes")

    def __init__(
        self, name: str, type: str, stream: str, toxicity: float, attributes: dict[str, int] | None = None
    ) -> None:
        self.name = name
        self.type = type
        self.stream = stream  # as given by the client ("UPSTREAM" is echoed back as such)
        self.toxicity = toxicity
        self.attributes: dict[str, int] = {} if attributes is None else attributes

    def __repr__(self) -> str:
        return f"Toxic({self.name!r}, {self.type!r}, {self.stream!r}, {self.toxicity!r}, {self.attributes!r})"

    @property
    def direction(self) -> str:
        """`upstream` (client → server) or `downstream` (server → client)."""
        return self.stream.lower()

    def attr(self, key: str) -> int:
        """An integer attribute (0 when unset, as in Go)."""
        return self.attributes.get(key, 0)

    def to_json(self) -> dict[str, Any]:
        """The API object, key order as the real server emits it."""
        return {
            "attributes": dict(self.attributes),
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": format_float32(self.toxicity),
        }


def _parse_attributes(raw: Any, toxic_type: str, base: dict[str, int]) -> dict[str, int]:
    struct, spec = TOXIC_TYPES[toxic_type]
    if raw is not None and not isinstance(raw, dict):
        raise _bad_body(
            GoJSONError(
                f"json: cannot unmarshal {go_type_name(raw)} into Go struct field "
                f"{struct}.attributes of type toxics.{struct}"
            )
        )
    try:
        given = bind_fields(raw, spec, f"{struct}.attributes")
    except GoJSONError as exc:
        raise _bad_body(exc) from None
    merged = {**base, **given}
    _refuse_pathological(toxic_type, merged)
    return merged


def wrap64(value: int) -> int:
    """`value` as Go's int64 arithmetic leaves it (two's-complement wrap-around)."""
    return (value + 2**63) % 2**64 - 2**63


def _refuse_pathological(toxic_type: str, attrs: dict[str, int]) -> None:
    """Values on which toxiproxy-server 2.12.0 crashes are a 400 here (docs/toxiproxy.md).

    Each rule is the condition under which the real server's code panics or
    recurses without end once data flows; everything else is accepted.
    """
    def refuse(message: str) -> None:
        raise ToxicError(400, f"invalid {toxic_type} attributes: {message}")

    if toxic_type == "latency" and attrs.get("jitter", 0) >= 2**62:
        refuse("jitter must be below 2^62 (toxiproxy-server's rand.Int63n(2*jitter) overflows and panics)")
    elif toxic_type == "bandwidth" and wrap64(attrs.get("rate", 0) * 100) < 0:
        refuse("rate must not be negative (toxiproxy-server slices data[:rate*100] and panics)")
    elif toxic_type == "slicer":
        average, variation = attrs.get("average_size", 0), attrs.get("size_variation", 0)
        if average + variation < 1:
            refuse(
                "average_size must be at least 1 - size_variation "
                "(less makes toxiproxy-server recurse until its stack overflows)"
            )
        if variation > average + 1:
            refuse(
                "size_variation may exceed average_size by at most 1 "
                "(more makes toxiproxy-server cut outside the data and panic)"
            )


def parse_new_toxic(body: bytes, existing_names: set[str]) -> Toxic:
    """Parse `POST /proxies/{p}/toxics` in the real server's order of checks."""
    try:
        data = decode_first(body)
        fields = bind_fields(data, _WRAPPER_FIELDS, "ToxicWrapper", top_type="toxics.ToxicWrapper")
    except GoJSONError as exc:
        raise _bad_body(exc) from None
    stream = fields.get("stream", "downstream")
    if stream.lower() not in ("upstream", "downstream"):
        raise ToxicError(400, "stream was invalid, can be either upstream or downstream")
    toxic_type = fields.get("type", "")
    name = fields.get("name") or f"{toxic_type}_{stream}"
    if toxic_type not in TOXIC_TYPES:
        raise ToxicError(400, "invalid toxic type")
    if name in existing_names:
        raise ToxicError(409, "toxic already exists")
    raw_attrs = _find_key(data, "attributes")
    defaults = {key: 0 for key in TOXIC_TYPES[toxic_type][1]}
    attributes = _parse_attributes(raw_attrs, toxic_type, defaults)
    return Toxic(name=name, type=toxic_type, stream=stream, toxicity=fields.get("toxicity", 1.0), attributes=attributes)


def parse_toxic_update(body: bytes, toxic: Toxic) -> tuple[float, dict[str, int]]:
    """Parse `POST/PATCH .../toxics/{t}`: attributes merge, toxicity kept when absent."""
    try:
        data = decode_first(body)
        fields = bind_fields(data, {"toxicity": "float32"}, "", top_type="struct { Attributes interface {}; Toxicity float32 }")
    except GoJSONError as exc:
        raise _bad_body(exc) from None
    attributes = _parse_attributes(_find_key(data, "attributes"), toxic.type, toxic.attributes)
    return fields.get("toxicity", toxic.toxicity), attributes


def _find_key(data: Any, key: str) -> Any:
    """The value of `key` matched case-insensitively, last match winning (Go's rule)."""
    found = None
    if isinstance(data, dict):
        for name, value in data.items():
            if name.lower() == key:
                found = value
    return found
