"""Hypothesis strategies for JSON-RPC frames, built from the daemon's `rpc.discover` document:
the shrinkable half of the RPC fuzzing (the seeded `garbage` generator gives the volume)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from tests.fuzz.garbage import BASE_URLS, FILE_PARAMS, FILE_VALUES, NASTY, NASTY_IDS, MethodSpec

# JSON scalars of every kind; text is any Unicode, lone surrogates included now and then.
SCALARS: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.text(st.characters(codec=None, categories=["Cs", "Lu", "Nd"]), max_size=4),
    st.sampled_from(NASTY),
)
JSON_VALUES: st.SearchStrategy[Any] = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
IDS: st.SearchStrategy[Any] = st.one_of(
    st.integers(), st.text(max_size=20), st.none(), st.floats(allow_nan=False, allow_infinity=False)
)


def value_for(name: str, schema: dict[str, Any], base_url: str) -> st.SearchStrategy[Any]:
    """Values that fit `schema` (on loopback, never an existing file)."""
    if name == "base_url":
        return st.sampled_from([v for v in BASE_URLS if isinstance(v, str)] + [base_url])
    if name in FILE_PARAMS:
        return st.sampled_from([v for v in FILE_VALUES if isinstance(v, str)])
    if name == "pages":
        return st.integers(min_value=-1, max_value=3)
    if name == "limit":
        return st.integers(min_value=-2, max_value=100)
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of([value_for(name, s, base_url) for s in schema["anyOf"]])
    kind = schema.get("type")
    if isinstance(kind, list):
        return st.one_of([value_for(name, {**schema, "type": k}, base_url) for k in kind])
    if kind == "string":
        if name.endswith("_id"):
            return st.one_of(st.sampled_from(NASTY_IDS), st.text(max_size=12))
        return st.one_of(st.text(max_size=40), st.sampled_from(NASTY))
    if kind == "integer":
        return st.integers(min_value=-(2**65), max_value=2**65)
    if kind == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        return st.lists(value_for(name, schema.get("items", {}), base_url), max_size=4)
    if kind == "object":
        extra = schema.get("additionalProperties")
        values = value_for(name, extra, base_url) if isinstance(extra, dict) else JSON_VALUES
        return st.dictionaries(st.text(max_size=10), values, max_size=3)
    return JSON_VALUES


def params_for(spec: MethodSpec, base_url: str) -> st.SearchStrategy[Any]:
    """By name (required ones always, optional ones sometimes), by position, or garbage."""
    required = {n: value_for(n, s, base_url) for n, req, s in spec.params if req}
    optional = {n: value_for(n, s, base_url) for n, req, s in spec.params if not req}
    named = st.fixed_dictionaries(required, optional=optional)
    positional = st.tuples(*required.values()).map(list)
    wrong = st.dictionaries(
        st.sampled_from([n for n, _, _ in spec.params] or ["x"]), JSON_VALUES, max_size=4
    )
    return st.one_of(named, named, positional, wrong, st.lists(JSON_VALUES, max_size=4))


@st.composite
def request_objects(
    draw: st.DrawFn, methods: Sequence[MethodSpec], base_url: str
) -> dict[str, Any] | Any:
    """A request object: mostly well-formed with a real method, sometimes not at all."""
    shape = draw(st.integers(min_value=0, max_value=9))
    if shape == 0:
        return draw(JSON_VALUES)
    spec = draw(st.sampled_from(methods))
    obj: dict[str, Any] = {"jsonrpc": "2.0", "method": spec.name}
    if shape == 1:
        obj["method"] = draw(st.text(max_size=30))
    if shape == 2:
        obj["jsonrpc"] = draw(st.one_of(SCALARS, st.just("2.0")))
    if draw(st.booleans()) or shape != 3:  # shape 3 may be a notification
        obj["id"] = draw(st.one_of(IDS, JSON_VALUES) if shape == 4 else IDS)
    with_params = bool(spec.params) or draw(st.booleans())
    if with_params:
        obj["params"] = draw(params_for(spec, base_url) if shape != 5 else JSON_VALUES)
    if shape == 6:
        obj[draw(st.text(max_size=8))] = draw(SCALARS)
    if shape == 7:
        del obj[draw(st.sampled_from(sorted(obj)))]
    return obj


def dump(value: Any) -> bytes:
    """UTF-8 JSON, or ASCII JSON (\\u escapes) when it holds a lone surrogate."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:
        return json.dumps(value).encode()


@st.composite
def frames(draw: st.DrawFn, methods: Sequence[MethodSpec], base_url: str) -> bytes:
    """One frame: a request, a batch, or bytes near (or far from) JSON."""
    requests = request_objects(methods, base_url)
    kind = draw(st.integers(min_value=0, max_value=7))
    if kind <= 2:
        return dump(draw(requests))
    if kind == 3:
        return dump(draw(st.lists(requests, max_size=6)))
    if kind == 4:  # bytes inserted into a request: invalid JSON or invalid UTF-8
        text = dump(draw(requests))
        at = draw(st.integers(min_value=0, max_value=len(text)))
        return text[:at] + draw(st.binary(min_size=1, max_size=6)) + text[at:]
    if kind == 5:  # a request cut short
        text = dump(draw(requests))
        return text[: draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))]
    if kind == 6:
        return draw(st.binary(max_size=64))
    return dump(draw(JSON_VALUES))
