"""Form and multipart bodies read the way Rails reads them, then typed by a JSON schema.

Kept apart from `mastod.sandbox.params` on purpose: the schema check must not share the
sandbox's parser, or it would agree with the sandbox's mistakes.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

_FALSE_WORDS = {"0", "f", "F", "false", "FALSE", "False", "off", "OFF", "Off"}


def decode_form(raw: bytes, content_type: str) -> dict[str, Any]:
    """`a[b][]=1` pairs of a urlencoded or multipart body as nested dicts and lists.

    A file part becomes its filename: the schema describes files as strings.
    """
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "multipart/form-data":
        head = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(head + raw)
        pairs = []
        if isinstance(message, EmailMessage):
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""
                pairs.append((str(name), part.get_filename() or text))
        return rails_nest(pairs)
    return rails_nest(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))


def rails_nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = re.fullmatch(r"([^\[\]]+)((?:\[[^\[\]]*\])*)", key)
        if match is None:
            root[key] = value
            continue
        names = [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]
        node: Any = root
        for position, name in enumerate(names):
            last = position == len(names) - 1
            if name == "":
                # `key[]` appends; `key[][field]` starts a new hash when the field repeats.
                if last:
                    node.append(value)
                    break
                field = names[position + 1]
                if not node or not isinstance(node[-1], dict) or field in node[-1]:
                    node.append({})
                node = node[-1]
                continue
            upcoming = names[position + 1] if not last else None
            if last:
                node[name] = value
            else:
                empty: Any = [] if upcoming == "" else {}
                if not isinstance(node.get(name), type(empty)):
                    node[name] = empty
                node = node[name]
    return root


def rails_bool(value: str) -> bool | None:
    """ActiveModel::Type::Boolean: blank is nil, the false words are false, the rest true."""
    if value == "":
        return None
    return value not in _FALSE_WORDS


def coerce(value: Any, schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """Give form strings the types the schema expects, as the Rails controller would use them."""
    parts = _flatten(schema, spec)
    types = {t for part in parts for t in _types(part)}
    items: dict[str, Any] = next((p["items"] for p in parts if "items" in p), {})
    if isinstance(value, dict):
        properties: dict[str, Any] = {}
        for part in parts:
            properties.update(part.get("properties", {}))
        if "array" in types and value and all(k.isdigit() for k in value):
            return [coerce(value[k], items, spec) for k in sorted(value, key=int)]
        return {k: coerce(v, properties.get(k, {}), spec) for k, v in value.items()}
    if isinstance(value, list):
        return [coerce(v, items, spec) for v in value]
    if isinstance(value, str):
        if "boolean" in types:
            return rails_bool(value)
        if "integer" in types and re.fullmatch(r"-?\d+", value):
            return int(value)
        if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", value):
            return float(value)
    return value


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    """Follow local `$ref`s (`#/components/...`), keeping sibling keywords."""
    while "$ref" in schema:
        node: Any = spec
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _flatten(schema: dict[str, Any], spec: dict[str, Any]) -> list[dict[str, Any]]:
    """A schema and every schema it combines (oneOf/anyOf/allOf), references resolved."""
    schema = resolve(schema, spec)
    parts = [schema]
    for key in ("oneOf", "anyOf", "allOf"):
        for sub in schema.get(key, []):
            parts.extend(_flatten(sub, spec))
    return parts


def _types(schema: dict[str, Any]) -> list[str]:
    found = schema.get("type", [])
    return [found] if isinstance(found, str) else list(found)
