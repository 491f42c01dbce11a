"""JSON-RPC frames as text: the one decoder every transport's frames go through, the one
encoder of every answer, and what a parsed frame is."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from mastod.jsontext import fast_dumps
from mastod.rpc import errors


def encode(obj: Any) -> str:
    """Compact JSON, always encodable as UTF-8: a lone surrogate (valid as a JSON escape, not
    as Unicode) that came in with a request is escaped again on the way out."""
    try:
        return fast_dumps(obj)
    except TypeError:
        pass  # a value only the stdlib's rules decide (`mastod.jsontext`)
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400: JSON has no infinity, and we could not echo it
        raise ValueError("number out of range")
    return number


# One decoder for every frame: `json.loads` with an option builds a new one per call.
decode = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite).decode


def error_frame(error: errors.RpcError, id_: Any = None) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "error": error.as_dict(), "id": id_}


class FrameTooLarge(Exception):
    """A frame over the limit for what it asks; each transport refuses it its own way."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"Invalid request: frame larger than {limit} bytes")
        self.limit = limit
        self.error = errors.RpcError(errors.INVALID_REQUEST, str(self))


@dataclass(slots=True)  # per frame: frozen, each field would be set by object.__setattr__
class Frame:
    """A parsed frame: the request or batch (`doc`), or the encoded error that answers it.
    `calls` is how many calls it runs, what the per-connection in-flight bound counts."""

    doc: Any = None
    refusal: str | None = None
    calls: int = 1
