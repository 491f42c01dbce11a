"""Request parameters the Rails way: query and body merged, `key[]` lists, `key[a][b]` hashes.

Bodies may be JSON, `application/x-www-form-urlencoded` or `multipart/form-data`; form
booleans are cast like `ActiveModel::Type::Boolean` ("0", "f", "false", "off" are false).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, TypeAlias
from urllib.parse import parse_qsl

from mastod.sandbox.errors import ApiError, param_missing

_FALSE = frozenset({"0", "f", "F", "false", "FALSE", "False", "off", "OFF", "Off"})
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart body."""

    filename: str
    content_type: str
    data: bytes


FormValue: TypeAlias = str | Upload
FormPairs: TypeAlias = list[tuple[str, FormValue]]


@dataclass(frozen=True)
class Body:
    """A parsed request body: form pairs (form or multipart) or a JSON value, never both."""

    pairs: FormPairs | None = None
    json: Any = None
    is_json: bool = False


def parse_body(raw: bytes, content_type: str) -> Body:
    """Parse a body by its media type; raise 400 for a body that does not parse."""
    mime = content_type.split(";", 1)[0].strip().lower()
    if not raw:
        return Body()
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return Body(json=json.loads(raw), is_json=True)
        except ValueError as exc:
            raise ApiError(400, "Error while parsing request body") from exc
    if mime == "multipart/form-data":
        return Body(pairs=_multipart(raw, content_type))
    if mime == "application/x-www-form-urlencoded":
        return Body(pairs=list(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True)))
    return Body()


def _multipart(raw: bytes, content_type: str) -> FormPairs:
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    message = BytesParser(policy=HTTP).parsebytes(head + raw)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise ApiError(400, "Error while parsing request body")
    pairs: FormPairs = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        filename = part.get_filename()
        if filename is None:
            charset = part.get_content_charset() or "utf-8"
            pairs.append((name, data.decode(charset, "replace")))
        else:
            pairs.append((name, Upload(filename, part.get_content_type(), data)))
    return pairs


def nest(pairs: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Build Rails' nested params from flat `a[b][]`-style keys."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            root[key] = value
            continue
        parts = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        _assign(root, parts, value)
    return root


def _assign(node: dict[str, Any], parts: list[str], value: Any) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        node[head] = value
        return
    if rest[0] == "":
        items = node.get(head)
        if not isinstance(items, list):
            items = node[head] = []
        if len(rest) == 1:
            items.append(value)
            return
        last = items[-1] if items else None
        if not isinstance(last, dict) or rest[1] in last:
            last = {}
            items.append(last)
        _assign(last, rest[1:], value)
        return
    child = node.get(head)
    if not isinstance(child, dict):
        child = node[head] = {}
    _assign(child, rest, value)


def cast_bool(value: Any) -> bool | None:
    """`ActiveModel::Type::Boolean#cast`: None for blank, False for the false words, else True."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    return str(value) not in _FALSE


class Params:
    """Typed access to merged request parameters."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    @classmethod
    def merge(cls, query: list[tuple[str, str]], body: Body) -> Params:
        merged = nest(query)
        if body.is_json:
            merged.update(body.json if isinstance(body.json, dict) else {"_json": body.json})
        elif body.pairs is not None:
            merged.update(nest(body.pairs))
        return cls(merged)

    def has(self, name: str) -> bool:
        return name in self.data

    def string(self, name: str) -> str | None:
        value = self.data.get(name)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        return None

    def text(self, name: str, default: str = "") -> str:
        value = self.string(name)
        return default if value is None else value

    def required(self, name: str) -> str:
        value = self.string(name)
        if value is None or not value.strip():
            raise param_missing(name)
        return value

    def flag(self, name: str, default: bool) -> bool:
        value = cast_bool(self.data.get(name))
        return default if value is None else value

    def integer(self, name: str) -> int | None:
        value = self.string(name)
        if value is None or value == "":
            return None
        match = re.match(r"\s*[-+]?\d+", value)
        return int(match.group(0)) if match else 0

    def array(self, name: str) -> list[str]:
        """An array param; a scalar is dropped, as `permit(key: [])` drops it."""
        value = self.data.get(name)
        if not isinstance(value, list):
            return []
        return [str(v).lower() if isinstance(v, bool) else str(v) for v in value]

    def sub(self, name: str) -> Params:
        value = self.data.get(name)
        return Params(value if isinstance(value, dict) else {})

    def upload(self, name: str) -> Upload | None:
        value = self.data.get(name)
        return value if isinstance(value, Upload) else None
