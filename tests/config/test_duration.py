"""The one duration grammar: `500ms`, `30s`, `2m`, `1h`; bare numbers refused with a hint."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness._duration import duration_arg, format_duration, parse_duration
from harness._exceptions import ConfigError


@pytest.mark.parametrize(("text", "seconds"), [("500ms", 0.5), ("30s", 30.0), ("2m", 120.0), ("1h", 3600.0), (" 1.5s ", 1.5)])
def test_the_grammar(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bare", [60, 2.5, "60", " 2.5 "])
def test_a_bare_number_is_refused_with_a_hint_whether_typed_or_written(bare: object) -> None:
    with pytest.raises(ConfigError, match="a bare number is ambiguous: write .*s or .*ms"):
        parse_duration(bare, source="f.yaml", field="at")


@pytest.mark.parametrize("bad", ["soon", "-1s", "1d", "", True, None, "9" * 5000 + "s", "1" * 100_000])
def test_anything_else_is_one_short_line_naming_source_and_field(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        parse_duration(bad, source="f.yaml", field="at")
    assert str(info.value).startswith("f.yaml: at: ") and len(str(info.value)) < 200


def test_duration_arg_is_an_argparse_type_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="bare number"):
        duration_arg("60")
    assert duration_arg("1h") == 3600.0


@settings(max_examples=100, deadline=None, database=None)
@given(st.integers(min_value=0, max_value=10**7).map(lambda ms: ms / 1000))
def test_format_duration_reads_back_exactly(seconds: float) -> None:
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-9, abs=1e-9)
