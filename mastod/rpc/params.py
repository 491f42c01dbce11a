"""Parameter types: one reading of a Python annotation (`mastod.hints`) gives both the check
applied to an incoming value and the JSON Schema that `rpc.discover` publishes, so the two
cannot disagree.

The vocabulary is deliberately small: str, int, float, bool, None, Any, unions, `Literal` of
strings, `list[X]` (and the read-only sequence ABCs), `dict[str, X]` (and `Mapping`) and
`TypedDict` (an object with known keys; unknown keys are refused).

An integer parameter also takes an integral float (`2.0`): JSON Schema counts it as an
integer, and clients whose numbers are all floats send it so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mastod import hints
from mastod.hints import Hint

_ENUM_SHOWN = 6


class InvalidParams(ValueError):
    """A parameter value does not fit the method's signature; the text names the parameter."""


def json_schema(tp: Any) -> dict[str, Any]:
    """The JSON Schema for values of annotation `tp`."""
    return _schema(_param_hint(tp))


def _param_hint(tp: Any) -> Hint:
    hint = tp if isinstance(tp, Hint) else hints.read_hint(tp)
    if hint.kind in (hints.PATH, hints.DATACLASS):
        raise TypeError(f"unsupported parameter annotation: {hint.tp!r}")
    return hint


def _schema(hint: Hint) -> dict[str, Any]:
    kind = hint.kind
    schema: dict[str, Any]
    if kind in _SCHEMAS:
        schema = dict(_SCHEMAS[kind])
    elif kind == hints.TYPEDDICT:
        schema = {
            "type": "object",
            "properties": {name: _schema(sub) for name, sub in hint.fields.items()},
            "additionalProperties": False,
        }
        required = [name for name in hint.fields if name in hint.required]
        if required:
            schema["required"] = required
    elif kind == hints.LITERAL:
        if all(isinstance(arg, str) for arg in hint.values):  # typed, for generated clients
            schema = {"type": "string", "enum": list(hint.values)}
        else:
            schema = {"enum": list(hint.values)}
    elif kind == hints.UNION:
        schema = _union_schema([_schema(_param_hint(arg)) for arg in hint.args])
    elif kind == hints.ARRAY:
        schema = {"type": "array"}
        if hint.tp is not list:
            schema["items"] = _schema(_param_hint(hint.args[0]))
    elif kind == hints.OBJECT:
        schema = {"type": "object"}
        if hint.item is not None:
            schema["additionalProperties"] = _schema(_param_hint(hint.item))
    else:
        raise TypeError(f"unsupported parameter annotation: {hint.tp!r}")
    return {**schema, **hint.bounds}


_SCHEMAS: dict[str, dict[str, Any]] = {
    hints.ANY: {},
    hints.NULL: {"type": "null"},
    hints.BOOL: {"type": "boolean"},
    hints.INT: {"type": "integer"},
    hints.FLOAT: {"type": "number"},
    hints.STR: {"type": "string"},
}


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
    """Return `value` if it is a valid JSON value of annotation `tp` (or its `Hint`); else
    raise InvalidParams.

    `where` names the parameter (`status_id`, `media_ids[2]`) for the error text.
    """
    hint = _param_hint(tp)
    checked = _CHECKS[hint.kind](value, hint, where)
    if hint.bounds:
        _check_bounds(checked, hint.bounds, where)
    return checked


def _any(value: Any, hint: Hint, where: str) -> Any:
    return value


def _null(value: Any, hint: Hint, where: str) -> Any:
    if value is None:
        return None
    raise _wrong(where, "null", value)


def _bool(value: Any, hint: Hint, where: str) -> Any:
    if isinstance(value, bool):
        return value
    raise _wrong(where, "a boolean", value)


def _int(value: Any, hint: Hint, where: str) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    raise _wrong(where, "an integer", value)


def _float(value: Any, hint: Hint, where: str) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    raise _wrong(where, "a number", value)


def _str(value: Any, hint: Hint, where: str) -> Any:
    if isinstance(value, str):
        if not value.isascii():
            _valid_unicode(value, where)
        return value
    raise _wrong(where, "a string", value)


def _literal(value: Any, hint: Hint, where: str) -> Any:
    args = hint.values
    if value in args and isinstance(value, str | int | bool):
        return value
    allowed = ", ".join(repr(a) for a in args[:_ENUM_SHOWN])
    if len(args) > _ENUM_SHOWN:  # the error stays one readable line
        allowed += f", ... ({len(args)} values, listed in rpc.discover)"
    raise InvalidParams(f"{where}: must be one of {allowed}, got {_show(value)}")


def _union(value: Any, hint: Hint, where: str) -> Any:
    present = [arg for arg in hint.args if arg.kind != hints.NULL]
    if len(present) == 1 and value is not None:  # `X | None`: X's own error is clearer
        return check(value, present[0], where)
    for arg in hint.args:
        try:
            return check(value, arg, where)
        except InvalidParams:
            continue
    raise _wrong(where, _describe(hint), value)


def _array(value: Any, hint: Hint, where: str) -> Any:
    if not isinstance(value, list):
        raise _wrong(where, "an array", value)
    item = hint.args[0]
    return [check(v, item, f"{where}[{i}]") for i, v in enumerate(value)]


def _object(value: Any, hint: Hint, where: str) -> Any:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    item = hint.args[0]
    return {k: check(v, item, f"{where}.{k}") for k, v in value.items()}


def _typeddict(value: Any, hint: Hint, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _wrong(where, "an object", value)
    fields = hint.fields
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise InvalidParams(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(fields)})")
    missing = [name for name in fields if name in hint.required and name not in value]
    if missing:
        raise InvalidParams(f"{where}.{missing[0]}: is required")
    return {k: check(v, fields[k], f"{where}.{k}") for k, v in value.items()}


_CHECKS: dict[str, Callable[[Any, Hint, str], Any]] = {
    hints.ANY: _any,
    hints.NULL: _null,
    hints.BOOL: _bool,
    hints.INT: _int,
    hints.FLOAT: _float,
    hints.STR: _str,
    hints.LITERAL: _literal,
    hints.UNION: _union,
    hints.ARRAY: _array,
    hints.OBJECT: _object,
    hints.TYPEDDICT: _typeddict,
}


def _describe(hint: Hint) -> str:
    schema = _schema(hint)
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
