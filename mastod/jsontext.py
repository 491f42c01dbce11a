"""JSON text on the hot paths: orjson where its answer is the stdlib's, the stdlib's rules
where the two would differ.

`loads` is `json.loads` for bytes, by orjson (several times faster) unless the text may hold
what orjson reads otherwise (an integer beyond 64 bits, which it makes a float) or refuses
where the stdlib reads it (NaN, Infinity, 1e400, a lone surrogate escape, UTF-16): those take
the stdlib (`orjson_loads` says which: it answers REFUSED for them).

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

import json
import math
from typing import Any, Final

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


# A run of 20 digits, or a minus and 19, may be an integer beyond 64 bits. The digits of a
# text mapped to "0", its minus signs kept, everything else to " ": such a run anywhere (in a
# string too, which costs only the slower decoder) sends the text to the stdlib.
_DIGITS = bytes(
    0x30 if 0x30 <= byte <= 0x39 else byte if byte == 0x2D else 0x20 for byte in range(256)
)
_LONG_NUMBER = b"0" * 20
_LONG_NEGATIVE = b"-" + b"0" * 19


REFUSED: Final = object()  # what `orjson_loads` answers where the stdlib must decide


def orjson_loads(text: bytes) -> Any:
    """orjson's reading of `text` where it is the stdlib's; REFUSED for a text that may hold
    an integer orjson would make a float, or that orjson refuses (not JSON, or JSON only the
    stdlib reads)."""
    digits = text.translate(_DIGITS)
    if _LONG_NUMBER in digits or _LONG_NEGATIVE in digits:
        return REFUSED
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return REFUSED


def loads(text: bytes) -> Any:
    """`json.loads(text)`, by orjson wherever its answer is the same; ValueError (the
    stdlib's) for what is not JSON."""
    value = orjson_loads(text)
    return json.loads(text) if value is REFUSED else value
