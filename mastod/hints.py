"""The one reader of type hints: an annotation in, a `Hint` out that says what kind of value it
describes. RPC parameters (`rpc/params.py`: the check and the JSON Schema) and the config
loader (`config/loader.py`) each apply their own rules to a `Hint`; neither looks at `typing`
internals itself.

A hint is read once (cached) and is cheap to walk: checking a call's parameters per request
dispatches on `kind` instead of unpacking `Annotated`/`Union`/`Literal` again each time.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import functools
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

ANY = "any"
NULL = "null"
BOOL = "bool"
INT = "int"
FLOAT = "float"
STR = "str"
PATH = "path"
LITERAL = "literal"
UNION = "union"
ARRAY = "array"  # list[X], tuple[X, ...] and the read-only sequence ABCs
OBJECT = "object"  # dict[str, X] and Mapping
TYPEDDICT = "typeddict"
DATACLASS = "dataclass"

_SCALARS: dict[Any, str] = {
    Any: ANY,
    object: ANY,
    None: NULL,
    type(None): NULL,
    bool: BOOL,
    int: INT,
    float: FLOAT,
    str: STR,
    Path: PATH,
}
_ARRAY_ORIGINS = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
_OBJECT_ORIGINS = (dict, collections.abc.Mapping)


@dataclass(frozen=True, slots=True, eq=False)
class Hint:
    """What an annotation allows. `args`: the members of a union, the item of an array or
    object (none: any item); `values`: a Literal's; `fields`: a TypedDict's or dataclass's
    keys with their hints; `required`: the TypedDict keys that must be present; `bounds`:
    `minimum`/`maximum` from `Annotated` metadata (e.g. the actions' `Range`)."""

    kind: str
    tp: Any
    args: tuple[Hint, ...] = ()
    values: tuple[Any, ...] = ()
    fields: dict[str, Hint] = field(default_factory=dict)
    required: frozenset[str] = frozenset()
    bounds: dict[str, int] = field(default_factory=dict)
    origin: Any = None  # the container type (`tuple` for `tuple[X, ...]`), None for others

    @property
    def item(self) -> Hint | None:
        """An array's or object's item hint; None when any item will do."""
        return self.args[0] if self.args and self.args[0].kind != ANY else None


def read_hint(tp: Any) -> Hint:
    """The hint for annotation `tp`; TypeError for one outside the vocabulary above."""
    try:
        return _read_cached(tp)
    except TypeError as exc:  # unhashable metadata in Annotated: read it uncached
        if "unhashable" not in str(exc):
            raise
        return _read_hint(tp)


@functools.cache
def _read_cached(tp: Any) -> Hint:
    return _read_hint(tp)


def _read_hint(tp: Any) -> Hint:
    kind = _SCALARS.get(tp) if isinstance(tp, type) or tp is None or tp is Any else None
    if kind is not None:
        return Hint(kind, tp)
    if typing.is_typeddict(tp):
        hints = typing.get_type_hints(tp)
        return Hint(
            TYPEDDICT,
            tp,
            fields={name: read_hint(hint) for name, hint in hints.items()},
            required=frozenset(tp.__required_keys__),
        )
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        return Hint(DATACLASS, tp)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        base = read_hint(args[0])
        return dataclasses.replace(base, bounds={**base.bounds, **_bounds(args[1:])})
    if origin is Literal:
        return Hint(LITERAL, tp, values=args)
    if origin in (Union, types.UnionType):
        return Hint(UNION, tp, args=tuple(read_hint(arg) for arg in args))
    if origin in _ARRAY_ORIGINS or tp in (list, tuple):
        item = args[0] if args else Any
        return Hint(ARRAY, tp, args=(read_hint(item),), origin=origin or tp)
    if origin in _OBJECT_ORIGINS or tp in (dict, collections.abc.Mapping):
        item = args[1] if len(args) == 2 else Any
        return Hint(OBJECT, tp, args=(read_hint(item),), origin=origin or tp)
    raise TypeError(f"unsupported annotation: {tp!r}")


def _bounds(extras: tuple[Any, ...]) -> dict[str, int]:
    found: dict[str, int] = {}
    for extra in extras:
        for key in ("minimum", "maximum"):
            value = getattr(extra, key, None)
            if isinstance(value, int):
                found[key] = value
    return found


@functools.cache
def dataclass_fields(cls: type) -> dict[str, Hint]:
    """A dataclass's fields with their hints, in declaration order."""
    hints = typing.get_type_hints(cls)
    return {f.name: read_hint(hints[f.name]) for f in dataclasses.fields(cls)}
