"""Property-based tests of the embedded server's parsers: HTTP requests and Go-style JSON.

Bounded (a few hundred examples each, small sizes) so the file runs in a few
seconds. The claims: any way the bytes are split gives the same requests;
chunked bodies decode to what was encoded; JSON round-trips; and arbitrary
input only ever yields a value or the parser's own error, never a crash.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.toxiproxy._gojson import GoJSONError, bind_fields, decode_first, format_float32
from harness.toxiproxy._httpparse import YIELD, Head, HttpError, RequestParser, clean_path, split_target

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TOKEN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.!~*'", min_size=1, max_size=12)
PATH = st.lists(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_.~%20", min_size=0, max_size=8), max_size=4).map(
    lambda parts: "/" + "/".join(p.replace("%", "") for p in parts)
)
HEADER_VALUE = st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(str.strip)


@st.composite
def requests_(draw: st.DrawFn) -> tuple[bytes, str, str, bytes]:
    """(wire bytes, method, target, body) of one valid HTTP/1.1 request."""
    method = draw(st.sampled_from(["GET", "POST", "PATCH", "DELETE"]))
    target = draw(PATH)
    body = draw(st.binary(max_size=300))
    headers = [("Host", "toxiproxy")]
    headers += draw(st.lists(st.tuples(TOKEN.filter(lambda t: t.lower() not in (
        "host", "content-length", "transfer-encoding", "connection", "expect")), HEADER_VALUE), max_size=4))
    if draw(st.booleans()):
        sizes = draw(st.lists(st.integers(1, 40), max_size=20))
        chunks, rest = [], body
        for size in sizes:
            if not rest:
                break
            chunks.append(rest[:size])
            rest = rest[size:]
        if rest:
            chunks.append(rest)
        encoded = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        encoded = body
        headers.append(("Content-Length", str(len(body))))
    head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    return head.encode() + encoded, method, target, body


def parse_all(pieces: list[bytes]) -> list[tuple[Head, bytes]]:
    """Feed pieces one by one, collecting every complete request (HttpError propagates)."""
    parser = RequestParser()
    done: list[tuple[Head, bytes]] = []
    for piece in pieces:
        parser.feed(piece)
        while True:
            head = parser.head()
            if head is None:
                break
            body = parser.body()
            while body is YIELD:
                body = parser.body()
            if body is None:
                break
            assert isinstance(body, bytes)
            done.append((head, body))
    return done


def split(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True)]


@FAST
@given(st.lists(requests_(), min_size=1, max_size=4), st.lists(st.integers(0, 10_000), max_size=12))
def test_requests_parse_the_same_however_the_bytes_are_split(reqs, cuts):
    wire = b"".join(r[0] for r in reqs)
    parsed = parse_all(split(wire, cuts))
    assert [(h.method, h.target, body) for h, body in parsed] == [(m, t, b) for _, m, t, b in reqs]
    assert parse_all([wire]) == parsed


@FAST
@given(st.binary(max_size=400), st.lists(st.integers(0, 1000), max_size=6))
def test_arbitrary_bytes_are_requests_or_an_http_error_never_a_crash(data, cuts):
    try:
        parse_all(split(data, cuts))
    except HttpError as exc:
        assert exc.status in (400, 413, 431, 501, 505)


@FAST
@given(st.binary(max_size=200))
def test_garbage_after_a_valid_head_is_a_request_or_an_http_error(tail):
    try:
        parse_all([b"POST /proxies HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + tail])
    except HttpError as exc:
        assert exc.status in (400, 413)


@FAST
@given(st.text(max_size=60))
def test_a_target_splits_or_is_a_400(target):
    try:
        path, _query = split_target(target)
    except HttpError as exc:
        assert exc.status == 400
    else:
        assert isinstance(path, str)


@FAST
@given(st.text(alphabet="/.ab", max_size=30))
def test_clean_paths_are_rooted_idempotent_and_free_of_dot_segments(path):
    cleaned = clean_path(path)
    assert cleaned.startswith("/") and clean_path(cleaned) == cleaned
    assert "//" not in cleaned and "/./" not in cleaned + "/" and "/../" not in cleaned + "/"


# -- JSON ----------------------------------------------------------------------------

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=20)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, int | float) and isinstance(b, int | float) and math.isclose(a, b, rel_tol=0, abs_tol=0)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return bool(a == b and type(a) is type(b))


@FAST
@given(VALUES)
def test_json_values_round_trip(value):
    assert same(decode_first(json.dumps(value, ensure_ascii=False).encode()), value)


@FAST
@given(st.lists(VALUES, max_size=3) | st.dictionaries(st.text(max_size=5), VALUES, max_size=3), st.binary(max_size=30))
def test_only_the_first_value_is_read_whatever_follows_it(value, garbage):
    assert same(decode_first(json.dumps(value).encode() + garbage), value)


@FAST
@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_a_go_error(data):
    try:
        decode_first(data)
    except GoJSONError as exc:
        assert str(exc)


@FAST
@given(st.text(alphabet='[]{}",:0123456789.eE-+tfrunlsa \\u', max_size=80))
def test_json_shaped_text_decodes_or_raises_a_go_error(text):
    try:
        decode_first(text.encode())
    except GoJSONError as exc:
        assert str(exc)


@FAST
@given(VALUES, st.dictionaries(st.sampled_from(["name", "enabled", "latency", "toxicity"]),
                               st.sampled_from(["string", "bool", "int64", "int", "float32"]), max_size=4))
def test_binding_any_value_gives_fields_or_a_go_error(value, fields):
    try:
        bound = bind_fields(value, fields, "T")
    except GoJSONError as exc:
        assert str(exc).startswith("json: cannot unmarshal ")
    else:
        assert set(bound) <= set(fields)


@FAST
@given(st.integers(20, 6000), st.sampled_from(["int64", "float32"]))
def test_numbers_too_big_for_the_field_are_refused_naming_their_literal(digits, go_type):
    literal = "9" * digits
    value = decode_first(f'{{"n": {literal}}}'.encode())
    if go_type == "float32" and digits <= 38:
        assert bind_fields(value, {"n": go_type}, "T")["n"] == float(literal)
        return
    try:
        bind_fields(value, {"n": go_type}, "T")
    except GoJSONError as exc:
        assert str(exc) == f"json: cannot unmarshal number {literal} into Go struct field T.n of type {go_type}"
    else:
        raise AssertionError("accepted")


@FAST
@given(st.floats(width=32, allow_nan=False, allow_infinity=False))
def test_float32_values_print_so_that_they_read_back_exactly(value):
    printed = format_float32(value)
    assert struct.pack("<f", float(printed)) == struct.pack("<f", value) or value == 0


@FAST
@given(st.text(max_size=30))
def test_a_listen_address_from_any_server_gives_a_port_or_zero(listen):
    from harness.toxiproxy import ProxyInfo

    port = ProxyInfo(name="p", listen=listen, upstream="u", enabled=True).listen_port
    assert 0 <= port <= 99999


@FAST
@given(st.recursive(st.text(alphabet=st.characters(blacklist_categories=()), max_size=10) | st.integers() | st.booleans() | st.none(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
                    max_leaves=10))
def test_any_stored_value_encodes_as_utf8_json(value):
    """Even a lone surrogate (refused on input) cannot make a response fail to encode."""
    from harness.toxiproxy._api import _dumps

    json.loads(_dumps(value).decode("utf-8"))
