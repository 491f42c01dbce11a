"""JSON text on the hot paths: orjson where its answer is the stdlib's, the stdlib's rules
where the two would differ.

`fast_dumps` is orjson (compact, UTF-8, what `json.dumps(..., ensure_ascii=False,
separators=(",", ":"), allow_nan=False)` gives, an order of magnitude faster). It raises
TypeError for every value on which orjson's rules are not the stdlib's — an int beyond 64
bits, a string with a lone surrogate, a non-string key, a dataclass or datetime, a
`NonFinite` — and the caller then encodes with the stdlib, which decides as before.

The one value orjson would get silently wrong is a NaN or an infinity (it writes `null`).
None comes from a caller (the request decoder refuses them); Mastodon's JSON, decoded with
the stdlib, can hold them, so its decoder marks them with `mark_constant`/`mark_float`.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

_OPTIONS = orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME


class NonFinite(float):
    """A NaN or infinity decoded from JSON: orjson refuses the subclass, the stdlib sees
    the float."""


def mark_constant(name: str) -> float:
    """`parse_constant` for a decoder: NaN, Infinity, -Infinity, marked."""
    return NonFinite(name)


def mark_float(text: str) -> float:
    """`parse_float` for a decoder: a number beyond a double's range (1e400), marked."""
    number = float(text)
    return number if math.isfinite(number) else NonFinite(number)


def fast_dumps(obj: Any) -> str:
    """Compact JSON text by orjson; TypeError where the stdlib's rules must decide."""
    return orjson.dumps(obj, option=_OPTIONS).decode()
