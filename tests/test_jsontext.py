"""`jsontext.loads`: `json.loads` for bytes, by orjson only where the answer is the same."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from mastod.jsontext import loads

SAME = [
    b'{"notification_id":113000000000000123,"title":"t","body":"\\u00e9 \\ud83d\\ude00"}',
    b'{"aud":"https://a.example","exp":1790000000,"sub":"mailto:a@b"}',
    b"[0.1, -2.5e-3, 1e308, 9223372036854775807, -9223372036854775808, 18446744073709551615]",
    b'{"a":1,"a":2}',  # the last of a repeated key, as the stdlib keeps it
    b'"\xc3\xa9"',
    b"null",
]
STDLIB_ONLY = [
    b"[123456789012345678901234567890]",  # beyond 64 bits: orjson would make it a float
    b"-9223372036854775809",  # 19 digits, below int64
    b'{"a":"\\ud800"}',  # a lone surrogate orjson refuses
    b"[NaN, Infinity, -Infinity, 1e400]",
    '{"a":"b"}'.encode("utf-16"),  # the stdlib detects UTF-16, orjson reads UTF-8 only
]


@pytest.mark.parametrize("text", SAME + STDLIB_ONLY)
def test_the_stdlibs_answer(text: bytes) -> None:
    expected = json.loads(text)
    decoded = loads(text)
    assert _typed(decoded) == _typed(expected)


def _typed(value: Any) -> Any:
    """Values with their types, NaN comparable: 1 and 1.0 differ here."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    if isinstance(value, float) and math.isnan(value):
        return ("nan",)
    return (type(value).__name__, value)


@pytest.mark.parametrize("text", [b"{oops", b"[1,]", b'{"a":1}x', b"", b"\xff", b"[" * 100_000])
def test_what_is_not_json_is_a_value_error(text: bytes) -> None:
    with pytest.raises((ValueError, RecursionError)):
        json.loads(text)
    with pytest.raises((ValueError, RecursionError)):
        loads(text)
