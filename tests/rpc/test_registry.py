"""`Method.bind` decides as `Signature.bind` does, with its words, for every shape of params."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mastod.rpc.registry import describe


async def method(a: int, /, b: int, c: int = 0, *, d: int | None = None) -> int:
    """Add."""
    return a + b + c + (d or 0)


CASES: list[tuple[list[Any], dict[str, Any]]] = [
    ([1, 2], {}),
    ([1], {"b": 2}),
    ([1, 2, 3], {"d": 4}),
    ([], {"b": 2}),  # `a` is positional-only
    ([], {"a": 1, "b": 2}),
    ([1], {}),
    ([1, 2, 3, 4], {}),
    ([1], {"b": 2, "e": 5}),
    ([1, 2], {"b": 2}),
    ([], {}),
]


@pytest.mark.parametrize(("args", "kwargs"), CASES)
def test_bind_agrees_with_signature_bind(args: list[Any], kwargs: dict[str, Any]) -> None:
    described = describe(method)
    assert _outcome(lambda: described.bind(args, kwargs)) == _outcome(
        lambda: described.signature.bind(*args, **kwargs)
    )


def _outcome(call: Callable[[], object]) -> str:
    try:
        call()
    except TypeError as exc:
        return f"TypeError: {exc}"
    return "binds"


def test_keyword_params_that_bind_skip_nothing_required() -> None:
    described = describe(method)
    assert described.keywords == {"b", "c", "d"}
    assert described.required == {"a", "b"}
