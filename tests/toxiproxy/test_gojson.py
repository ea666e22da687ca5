"""Go-style JSON decoding and float32 printing, as the real server's clients see them."""

from __future__ import annotations

import pytest

from harness.toxiproxy._gojson import GoJSONError, bind_fields, decode_first, format_float32


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "EOF"),
        (b"   \n", "EOF"),
        (b'{"name": ', "unexpected EOF"),
        (b"{bad", "invalid character 'b' looking for beginning of object key string"),
        (b'{"a" 1}', "invalid character '1' after object key"),
        (b'{"a": NaN}', "invalid character 'N' looking for beginning of value"),
    ],
)
def test_syntax_errors_read_like_go(body, message):
    with pytest.raises(GoJSONError) as exc:
        decode_first(body)
    assert str(exc.value) == message


def test_only_the_first_value_is_read():
    assert decode_first(b'{"a": 1} {"b": 2} garbage') == {"a": 1}


def test_fields_bind_case_insensitively_skipping_unknown_keys_and_nulls():
    fields = {"name": "string", "enabled": "bool"}
    assert bind_fields({"NAME": "x", "Enabled": None, "other": 1}, fields, "Proxy") == {"name": "x"}


@pytest.mark.parametrize(("literal", "shown"), [(b"1.5", "number 1.5"), (b"100.0", "number 100.0"), (b"1e2", "number 1e2")])
def test_integers_written_as_floats_are_rejected_with_the_literal(literal, shown):
    with pytest.raises(GoJSONError, match=f"cannot unmarshal {shown} into Go struct field T.n of type int64"):
        bind_fields(decode_first(b'{"n": ' + literal + b"}"), {"n": "int64"}, "T")


def test_a_non_object_names_the_go_type():
    with pytest.raises(GoJSONError, match="cannot unmarshal array into Go value of type toxiproxy.Proxy"):
        bind_fields([], {"name": "string"}, "Proxy", top_type="toxiproxy.Proxy")


@pytest.mark.parametrize(("value", "printed"), [(1.0, 1), (0.7, 0.7), (0.2, 0.2), (-3, -3), (0.5, 0.5), (1 / 3, 0.33333334)])
def test_float32_values_print_as_go_prints_them(value, printed):
    assert format_float32(value) == printed and type(format_float32(value)) is type(printed)
