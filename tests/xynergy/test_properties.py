"""Property-based tests (hypothesis) of the platform's input handling: the CORS matcher and the JSON guard."""

from __future__ import annotations

import json
import math
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xynergy.common.cors import OriginPolicy
from xynergy.common.guard import BodyRefused, check_json

POLICY = OriginPolicy()
LABEL = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
NASTY = st.text(alphabet=st.sampled_from(list("abcxyz.-:/@?#*%0123456789 \t\\_AZ\u00e9\u0000")), max_size=40)


@settings(max_examples=200, deadline=None)
@given(st.one_of(
    NASTY,
    st.builds(lambda s, h: f"{s}://{h}", st.sampled_from(["http", "https", "ftp", "HTTPS", "javascript"]), NASTY),
    st.builds(lambda labels, tail: "https://" + ".".join(labels) + tail, st.lists(LABEL, min_size=1, max_size=4),
              st.sampled_from([".xynergy.com", ".xynergy.com.", ".xynergy.com:443", ".xynergy.com:8443",
                               "xynergy.com", ".xynergy.com/", ".xynergy.com.evil.io", "-xynergy.com",
                               ".xynergy.dev", ""])),
))
def test_an_origin_is_granted_only_if_it_is_allowlisted_exactly_or_a_clean_subdomain(origin: str) -> None:
    if not POLICY.allows(origin):
        return
    parts = urlsplit(origin)
    assert parts.scheme == "https" and origin == origin.strip()
    assert not (parts.path or parts.query or parts.fragment or parts.username or parts.password)
    assert parts.port in (None, 443)
    host = parts.hostname or ""
    assert host in ("xynergy-platform.com", "api.xynergy.dev") or (
        host.endswith(".xynergy.com") and all(label and not label.startswith("-") and not label.endswith("-")
                                               for label in host[: -len(".xynergy.com")].split("."))
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(LABEL, min_size=1, max_size=3))
def test_every_clean_subdomain_of_the_wildcard_is_granted(labels: list[str]) -> None:
    assert POLICY.allows("https://" + ".".join(labels) + ".xynergy.com")


FINITE_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)


@settings(max_examples=150, deadline=None)
@given(FINITE_JSON)
def test_any_json_with_finite_numbers_passes_the_guard(value: object) -> None:
    check_json(json.dumps(value).encode())


@settings(max_examples=150, deadline=None)
@given(FINITE_JSON, st.sampled_from([math.nan, math.inf, -math.inf]))
def test_a_non_finite_number_anywhere_is_refused_with_422(value: object, bad: float) -> None:
    body = json.dumps([value, {"x": [bad]}]).encode()  # the standard library writes NaN / Infinity
    with pytest.raises(BodyRefused) as refused:
        check_json(body)
    assert refused.value.status == 422


@pytest.mark.parametrize("text", ["1e400", "-1e400", "1" + "0" * 400 + ".5", "[" * 100_000 + "]" * 100_000,
                                  "1" * 5000])
def test_numbers_past_float_or_int_limits_and_absurd_depth_are_refused(text: str) -> None:
    with pytest.raises(BodyRefused):
        check_json(text.encode())


def test_malformed_json_is_left_to_the_framework() -> None:
    check_json(b'{"tenant": ')
