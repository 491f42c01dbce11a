"""Parameter types: one walk over a Python annotation gives both the check applied to an
incoming value and the JSON Schema that `rpc.discover` publishes, so the two cannot disagree.

The vocabulary is deliberately small: str, int, float, bool, None, Any, unions, `Literal` of
strings, `list[X]` (and the read-only sequence ABCs), `dict[str, X]` (and `Mapping`) and
`TypedDict` (an object with known keys; unknown keys are refused).

An integer parameter also takes an integral float (`2.0`): JSON Schema counts it as an
integer, and clients whose numbers are all floats send it so.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Annotated, Any, Literal, Union

_ENUM_SHOWN = 6
_LIST_ORIGINS = (list, tuple, collections.abc.Sequence, collections.abc.Iterable)
_DICT_ORIGINS = (dict, collections.abc.Mapping)


class InvalidParams(ValueError):
    """A parameter value does not fit the method's signature; the text names the parameter."""


def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema for values of annotation `tp`."""
    if tp is Any or tp is object:
        return {}
    if tp is type(None) or tp is None:
        return {"type": "null"}
    if tp is bool:
        return {"type": "boolean"}
    if tp is int:
        return {"type": "integer"}
    if tp is float:
        return {"type": "number"}
    if tp is str:
        return {"type": "string"}
    if typing.is_typeddict(tp):
        return _typeddict_schema(tp)
    if typing.get_origin(tp) is Annotated:
        base, *extras = typing.get_args(tp)
        return {**json_schema(base), **_bounds(extras)}
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if all(isinstance(arg, str) for arg in args):  # typed, for generated clients
            return {"type": "string", "enum": list(args)}
        return {"enum": list(args)}
    if origin in (Union, types.UnionType):
        return _union_schema([json_schema(arg) for arg in args])
    if origin in _LIST_ORIGINS:
        return {"type": "array", "items": json_schema(args[0]) if args else {}}
    if origin in _DICT_ORIGINS or tp in (dict, collections.abc.Mapping):
        schema: dict[str, Any] = {"type": "object"}
        if len(args) == 2 and args[1] is not Any:
            schema["additionalProperties"] = json_schema(args[1])
        return schema
    if tp is list:
        return {"type": "array"}
    raise TypeError(f"unsupported parameter annotation: {tp!r}")


def _bounds(extras: list[Any]) -> dict[str, int]:
    """`minimum`/`maximum` of the Annotated metadata that has them (e.g. actions' `Range`)."""
    found: dict[str, int] = {}
    for extra in extras:
        for key in ("minimum", "maximum"):
            value = getattr(extra, key, None)
            if isinstance(value, int):
                found[key] = value
    return found


def _check_bounds(value: Any, bounds: dict[str, int], where: str) -> Any:
    low, high = bounds.get("minimum"), bounds.get("maximum")
    if isinstance(value, int) and (
        (low is not None and value < low) or (high is not None and value > high)
    ):
        if high is None:
            raise InvalidParams(f"{where}: must be at least {low}, got {value}")
        if low is None:
            raise InvalidParams(f"{where}: must be at most {high}, got {value}")
        raise InvalidParams(f"{where}: must be between {low} and {high}, got {value}")
    return value


def _typeddict_schema(tp: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(tp)
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {name: json_schema(hint) for name, hint in hints.items()},
        "additionalProperties": False,
    }
    required = [name for name in hints if name in tp.__required_keys__]
    if required:
        schema["required"] = required
    return schema


def _union_schema(schemas: list[dict[str, Any]]) -> dict[str, Any]:
    """Fold a union of plain `type` schemas into one `type` list; otherwise `anyOf`."""
    if all(set(s) == {"type"} for s in schemas):
        names: list[str] = []
        for s in schemas:
            for name in s["type"] if isinstance(s["type"], list) else [s["type"]]:
                if name not in names:
                    names.append(name)
        return {"type": names[0] if len(names) == 1 else names}
    return {"anyOf": schemas}


def check(value: Any, tp: Any, where: str) -> Any:
    """Return `value` if it is a valid JSON value of annotation `tp`; else raise InvalidParams.

    `where` names the parameter (`status_id`, `media_ids[2]`) for the error text.
    """
    if tp is Any or tp is object:
        return value
    if tp is type(None) or tp is None:
        if value is None:
            return None
        raise _wrong(where, "null", value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise _wrong(where, "a boolean", value)
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise _wrong(where, "an integer", value)
    if tp is float:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
        raise _wrong(where, "a number", value)
    if tp is str:
        if isinstance(value, str):
            if not value.isascii():
                _valid_unicode(value, where)
            return value
        raise _wrong(where, "a string", value)
    if typing.is_typeddict(tp):
        return _check_typeddict(value, tp, where)
    if typing.get_origin(tp) is Annotated:
        base, *extras = typing.get_args(tp)
        return _check_bounds(check(value, base, where), _bounds(extras), where)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Literal:
        if value in args and isinstance(value, str | int | bool):
            return value
        allowed = ", ".join(repr(a) for a in args[:_ENUM_SHOWN])
        if len(args) > _ENUM_SHOWN:  # the error stays one readable line
            allowed += f", ... ({len(args)} values, listed in rpc.discover)"
        raise InvalidParams(f"{where}: must be one of {allowed}, got {_show(value)}")
    if origin in (Union, types.UnionType):
        present = [arg for arg in args if arg is not type(None)]
        if len(present) == 1 and value is not None:  # `X | None`: X's own error is clearer
            return check(value, present[0], where)
        for arg in args:
            try:
                return check(value, arg, where)
            except InvalidParams:
                continue
        raise _wrong(where, _describe(tp), value)
    if origin in _LIST_ORIGINS or tp is list:
        if not isinstance(value, list):
            raise _wrong(where, "an array", value)
        item = args[0] if args else Any
        return [check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
    if origin in _DICT_ORIGINS or tp in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            raise _wrong(where, "an object", value)
        item = args[1] if len(args) == 2 else Any
        return {k: check(v, item, f"{where}.{k}") for k, v in value.items()}
    raise TypeError(f"unsupported parameter annotation: {tp!r}")


def _check_typeddict(value: Any, tp: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    hints = typing.get_type_hints(tp)
    unknown = sorted(set(value) - set(hints))
    if unknown:
        raise InvalidParams(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(hints)})")
    missing = [name for name in hints if name in tp.__required_keys__ and name not in value]
    if missing:
        raise InvalidParams(f"{where}.{missing[0]}: is required")
    return {k: check(v, hints[k], f"{where}.{k}") for k, v in value.items()}


def _describe(tp: Any) -> str:
    schema = json_schema(tp)
    choices = [v for part in schema.get("anyOf", [schema]) for v in part.get("enum", [])]
    if choices:  # an optional Literal: say which values would do
        nullable = any(part.get("type") == "null" for part in schema.get("anyOf", []))
        return "one of " + ", ".join(repr(c) for c in choices) + (" or null" if nullable else "")
    if "anyOf" in schema:
        each = [k for sub in schema["anyOf"] if isinstance(k := sub.get("type"), str)]
        if len(each) == len(schema["anyOf"]):
            return " or ".join(each)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return " or ".join(kinds)
    if isinstance(kinds, str):
        return kinds
    return "a valid value"


def _show(value: Any) -> str:
    if isinstance(value, str):
        text = value if len(value) <= 40 else value[:37] + "..."
        return repr(text)
    if isinstance(value, bool) or value is None:
        return "true" if value is True else "false" if value is False else "null"
    if isinstance(value, int | float):
        return repr(value)
    return "an array" if isinstance(value, list) else "an object"


def _wrong(where: str, expected: str, value: Any) -> InvalidParams:
    return InvalidParams(f"{where}: must be {expected}, got {_show(value)}")


def _valid_unicode(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParams(f"{where}: not valid Unicode (a lone surrogate)") from None
