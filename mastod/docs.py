"""`python -m mastod.docs [--check] [PATH]`: write the method reference (docs/methods.md) from
`rpc.discover`, the OpenRPC document the daemon serves, so the reference a user reads in a
clone is the one the daemon answers with. `--check` writes nothing and exits 1 if PATH is stale.

The document comes from the daemon's own method table, built as `mastod serve` builds it (no
listener is started, nothing reaches the network). Rendering reads only the document, and
passes on what it does not know: a method's `errors`, and any `x-` extension (scopes, say),
are listed as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_PATH = Path("docs") / "methods.md"
COMMAND = "python -m mastod.docs"

_INTRO = """\
Every JSON-RPC method of mastod: its parameters (JSON types, required or the default) and
what it returns. Parameters go by name (an object); methods marked *by position too* also
take an array in the documented order. Every `*_id` takes a string or an integer. The 59
Mastodon actions also answer as `mastodon.<name>`, and each takes the optional `base_url`
and `access_token` of a per-call override.

Ask a running daemon for the same document with `mastod call rpc.discover`."""


def discover() -> dict[str, Any]:
    """The `rpc.discover` document of a daemon built from a throwaway config."""
    from mastod.app import build
    from mastod.config import load_config

    with tempfile.TemporaryDirectory(prefix="mastod-docs-") as tmp:
        config = load_config(
            None,
            env={},
            overrides={
                "mastodon": {"base_url": "https://mastodon.example"},
                "rpc": {
                    "unix_socket": str(Path(tmp) / "mastod.sock"),
                    "http": None,
                    "token_file": str(Path(tmp) / "rpc.token"),
                },
                "notifications": {"source": "none"},
                "state_dir": tmp,
            },
        )
        daemon = build(config, rpc_token=None)
        assert daemon.unix is not None
        method = daemon.unix.dispatcher.registry.get("rpc.discover")
        assert method is not None

        async def call() -> dict[str, Any]:
            document: dict[str, Any] = await method.fn()
            return document

        return asyncio.run(call())


def render(document: Mapping[str, Any]) -> str:
    methods = document["methods"]
    lines = [
        "# Method reference",
        "",
        f"<!-- Generated from rpc.discover by `{COMMAND}`: do not edit by hand. -->",
        "",
        _INTRO,
        "",
        f"mastod {document['info']['version']}: {len(methods)} methods.",
        "",
        "| method | what it does |",
        "|---|---|",
        *(_index_row(m) for m in methods),
    ]
    errors = document.get("components", {}).get("errors", {})
    for method in methods:
        lines += ["", *_method(method, errors)]
    return "\n".join(lines) + "\n"


def _index_row(method: Mapping[str, Any]) -> str:
    name = method["name"]
    return f"| [`{name}`](#{_anchor(name)}) | {_cell(method.get('summary', ''))} |"


def _method(method: Mapping[str, Any], errors: Mapping[str, Any]) -> list[str]:
    lines = [f"## {method['name']}", ""]
    if method.get("summary"):
        lines += [method["summary"], ""]
    if method.get("description"):
        lines += [_paragraphs(method["description"]), ""]
    params = method.get("params", [])
    if params:
        positional = method.get("paramStructure") == "either"
        described = any(_description(p) for p in params)
        lines += [
            "| parameter | type | required / default |" + (" description |" if described else ""),
            "|---|---|---|" + ("---|" if described else ""),
            *(_param(p, described) for p in params),
            "",
        ]
        if positional:
            lines += ["*By position too.*", ""]
    else:
        lines += ["No parameters.", ""]
    result = method.get("result")
    if result is not None:
        lines += [f"**Result:** {_type(result.get('schema', {}))}" + _described(result), ""]
    for error in (_resolved(e, errors) for e in method.get("errors", [])):
        lines += [f"- error `{error.get('code')}`: {_cell(error.get('message', ''))}"]
    if method.get("errors"):
        lines.append("")
    for key in sorted(k for k in method if k.startswith("x-")):
        value = _value(method[key])
        gap = "" if value.startswith("\n") else " "  # a list starts on its own line
        lines += [f"**{key.removeprefix('x-')}:**{gap}{value}", ""]
    return lines[:-1] if lines[-1] == "" else lines


def _resolved(error: Mapping[str, Any], errors: Mapping[str, Any]) -> Mapping[str, Any]:
    """An error, or the one under `components.errors` it refers to (`$ref`)."""
    ref = error.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/components/errors/"):
        found: Mapping[str, Any] = errors.get(ref.removeprefix("#/components/errors/"), error)
        return found
    return error


def _param(param: Mapping[str, Any], described: bool) -> str:
    schema = param.get("schema", {})
    need = "required" if param.get("required") else f"default `{json.dumps(schema.get('default'))}`"
    row = f"| `{param['name']}` | {_type(schema)} | {need} |"
    return row + (f" {_cell(_description(param))} |" if described else "")


def _description(param: Mapping[str, Any]) -> str:
    text: str = param.get("description") or param.get("schema", {}).get("description") or ""
    return text


def _type(schema: Mapping[str, Any]) -> str:
    """A JSON Schema as a short phrase: `string`, `integer (1-40)`, `"a" | "b"`, `array of ...`."""
    if "enum" in schema:
        text = " \\| ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    elif "anyOf" in schema or "oneOf" in schema:
        text = " or ".join(_type(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    elif "const" in schema:
        text = f"`{json.dumps(schema['const'])}`"
    else:
        kind = schema.get("type", "any")
        kinds = kind if isinstance(kind, list) else [kind]
        text = " or ".join(
            f"array of {_inner(schema['items'])}" if k == "array" and "items" in schema else str(k)
            for k in kinds
        )
    bounds = [
        f"{word} {schema[key]}"
        for key, word in (
            ("minimum", ">="),
            ("maximum", "<="),
            ("minLength", "length >="),
            ("maxLength", "length <="),
            ("minItems", "items >="),
            ("maxItems", "items <="),
        )
        if key in schema
    ]
    return text + (f" ({', '.join(bounds)})" if bounds else "")


def _inner(schema: Mapping[str, Any]) -> str:
    text = _type(schema)
    return f"({text})" if " or " in text else text


def _described(part: Mapping[str, Any]) -> str:
    text = part.get("description") or part.get("schema", {}).get("description")
    return f". {_paragraphs(text)}" if text else ""


def _value(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(v, dict) and "name" in v for v in value):
        # named entries (the messages a subscription receives): each name and its summary
        return "".join(f"\n- `{v['name']}`: {_cell(str(v.get('summary', '')))}" for v in value)
    if isinstance(value, list):
        return ", ".join(f"`{v}`" if isinstance(v, str) else json.dumps(v) for v in value)
    return f"`{value}`" if isinstance(value, str) else f"`{json.dumps(value)}`"


def _paragraphs(text: str) -> str:
    """Docstring text (hard-wrapped) as Markdown paragraphs."""
    blocks = [" ".join(line.strip() for line in b.splitlines()) for b in text.split("\n\n")]
    return "\n\n".join(b for b in blocks if b)


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _anchor(name: str) -> str:
    """GitHub's heading anchor: lower case, punctuation but `-` and `_` dropped."""
    return "".join(c for c in name.lower() if c.isalnum() or c in "-_")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__.split("\n\n")[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    parser.add_argument("--check", action="store_true", help="exit 1 if PATH is stale")
    args = parser.parse_args(argv)
    text = render(discover())
    if args.check:
        current = args.path.read_text(encoding="utf-8") if args.path.exists() else ""
        if current != text:
            print(f"{args.path} is stale: regenerate it with `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
