"""A seeded generator of structured garbage for JSON-RPC frames: cheap enough for volume
(hypothesis drives the shrinkable, smaller part of each run), and aware of the daemon's real
methods and parameter schemas (from `rpc.discover`), so that it sends both valid-shaped calls
that reach the sandbox and calls that are wrong in exactly one place.

Nothing generated ever names a host other than 127.0.0.1 (per-call `base_url`) or an
existing file (the media parameters), so a run neither leaves the machine nor uploads files.
"""

from __future__ import annotations

import json
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MAX_FRAME = 1024 * 1024  # rpc.max_frame_bytes

FILE_PARAMS = frozenset({"file", "thumbnail", "avatar", "header"})

# Strings that have broken parsers, routers and encoders somewhere.
NASTY = [
    "",
    " ",
    "0",
    "-1",
    "1e3",
    "null",
    "true",
    "../../admin",
    "..%2F..%2Fadmin",
    "%2e%2e",
    "..",
    ".",
    "a/b",
    "?x=1",
    "#f",
    "\u2215\u2044\uff0f",  # unicode slashes
    "\x00",
    "a\r\nX-Injected: 1",
    "\t\n",
    "'\"\\",
    "<script>",
    "%00%ff",
    "\u202e\u200b\ufeff",
    "\U0001f418",
    "é" * 3,
    "A" * 5000,
    "{}",
    "[]",
    "mastodon.",
    "rpc.",
    "__class__",
    "constructor",
    "\ud800",  # lone surrogates: invalid UTF-8 as raw bytes, a \\ud800 escape as ASCII JSON
    "a\udfffb",
]
NASTY_IDS = ["1", "2", "3", "113000000000000001", "999999999999999999999", *NASTY[:24]]
BASE_URLS: list[Any] = [
    None,
    "not a url",
    "ftp://127.0.0.1/",
    "http://user:pw@127.0.0.1:1",
    "http://127.0.0.1:1",
    "http://127.0.0.1:1/?q=1#f",
    "https://[::1",
    "http://",
    "",
    7,
]
FILE_VALUES: list[Any] = [None, "", ".", "/", "/nonexistent/mastod-fuzz.png", "~nobody-here/x", 3]


@dataclass(frozen=True, slots=True)
class MethodSpec:
    name: str
    params: tuple[tuple[str, bool, dict[str, Any]], ...]  # (name, required, JSON schema)

    @classmethod
    def from_discover(cls, method: dict[str, Any]) -> MethodSpec:
        return cls(
            method["name"],
            tuple((p["name"], bool(p["required"]), p.get("schema", {})) for p in method["params"]),
        )


class Garbage:
    """Frames from a `random.Random(seed)`: the same seed gives the same frames."""

    def __init__(self, seed: int, methods: Sequence[MethodSpec], base_url: str) -> None:
        self.r = random.Random(seed)
        self.methods = list(methods)
        self.names = [m.name for m in self.methods]
        self.base_urls = [*BASE_URLS, base_url]
        kinds: list[tuple[int, Callable[[], bytes]]] = [
            (10, self._valid_call),
            (18, self._invalid_params_call),
            (8, self._unknown_method),
            (14, self._bad_envelope),
            (12, self._batch),
            (12, self._malformed_json),
            (6, self._invalid_utf8),
            (4, self._deep),
            (1, self._huge),
            (5, self._random_json),
            (3, self._random_bytes),
            (3, self._notification),
        ]
        self._kinds = [k for _, k in kinds]
        self._huge_cache: dict[int, bytes] = {}
        self._weights = [w for w, _ in kinds]

    # -- public --------------------------------------------------------------------------

    def dump(self, value: Any) -> bytes:
        """`value` as JSON: one time in five as ASCII JSON, else as UTF-8."""
        return _dump(value, ascii_only=self.r.random() < 0.2)

    def frame(self) -> bytes:
        """One input frame of at most `MAX_FRAME` bytes: any bytes (the line transport turns
        its newlines into spaces). Oversized frames are the security tests' subject."""
        while True:
            frame = self.r.choices(self._kinds, self._weights)[0]()
            if len(frame) <= MAX_FRAME:
                return frame

    def request_obj(self) -> Any:
        """One JSON value for a batch element or a request."""
        roll = self.r.random()
        if roll < 0.15:
            return self._call_obj(valid=True)
        if roll < 0.6:
            return self._call_obj(valid=False)
        if roll < 0.8:
            return self._envelope_obj()
        return self.json_value(2)

    # -- JSON values ---------------------------------------------------------------------

    def scalar(self) -> Any:
        r = self.r
        roll = r.randrange(12)
        if roll == 0:
            return None
        if roll == 1:
            return r.random() < 0.5
        if roll == 2:
            return r.choice([0, 1, -1, 2**31, 2**63, -(2**64), 10**30, r.randrange(-999, 999)])
        if roll == 3:
            return r.choice([0.0, -0.0, 1.5, 1e300, -1e-300, 5e-324, r.uniform(-1e6, 1e6)])
        if roll in (4, 5, 6):
            return r.choice(NASTY)
        if roll == 7:
            return "".join(r.choices(string.printable, k=r.randrange(0, 40)))
        if roll == 8:
            return "".join(chr(r.randrange(0x20, 0x2FFF)) for _ in range(r.randrange(1, 20)))
        if roll == 9:
            return "".join(
                chr(r.choice([r.randrange(0x10000, 0x10FFFF), r.randrange(0xE000, 0xFFFF)]))
                for _ in range(r.randrange(1, 6))
            )
        return self.r.choice(NASTY_IDS)

    def json_value(self, depth: int = 3) -> Any:
        r = self.r
        if depth <= 0 or r.random() < 0.55:
            return self.scalar()
        if r.random() < 0.5:
            return [self.json_value(depth - 1) for _ in range(r.randrange(0, 5))]
        return {self._key(): self.json_value(depth - 1) for _ in range(r.randrange(0, 5))}

    def _key(self) -> str:
        value = self.scalar()
        return value if isinstance(value, str) else json.dumps(value)

    def any_id(self) -> Any:
        """An id of any JSON type (valid ones most of the time)."""
        r = self.r
        roll = r.randrange(10)
        if roll < 3:
            return r.randrange(-(10**6), 10**6)
        if roll < 5:
            return self.scalar() if r.random() < 0.3 else f"id-{r.randrange(10**9)}"
        if roll == 5:
            return None
        if roll == 6:
            return r.choice([1.5, -0.0, 1e20, 10**40, "", " ", "\u0000"])
        if roll == 7:
            return r.choice([True, False, [], {}, [1], {"a": 1}])
        return r.randrange(10**18)

    # -- parameter values from a schema --------------------------------------------------

    def valid_value(self, name: str, schema: dict[str, Any]) -> Any:
        """A value that fits `schema` (and keeps the run on loopback, away from files)."""
        r = self.r
        if name == "base_url":
            return r.choice([*self.base_urls[-2:], None, None])
        if name in FILE_PARAMS:
            return r.choice([v for v in FILE_VALUES if isinstance(v, str)])
        if name == "access_token":
            return r.choice([None, None, None, "sandbox-owner-token", "wrong-token", "x" * 300])
        if name == "pages":
            return r.randrange(1, 3)
        if name == "limit":
            return r.choice([1, 2, 5, 40, 0, -1, 1000])
        if name == "method" and "paginate" in self.names:
            return r.choice(
                ["get_home_timeline", "get_bookmarked_statuses", "mastodon.get_home_timeline"]
            )
        if "enum" in schema:
            return r.choice(schema["enum"])
        if "anyOf" in schema:
            return self.valid_value(name, r.choice(schema["anyOf"]))
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = r.choice(kind)
        if kind == "string":
            if name.endswith("_id") or name.endswith("_ids"):
                return r.choice(NASTY_IDS)
            return self.scalar() if r.random() < 0.3 else r.choice([*NASTY, "hello", "fuzz"])
        if kind == "integer":
            if name.endswith("_id"):
                return r.choice([1, 2, 3, 0, -1, 10**20])
            return r.choice([0, 1, 2, -5, 2**31, 10**25])
        if kind == "number":
            return r.choice([0, 1.5, -2.0, 1e10])
        if kind == "boolean":
            return r.random() < 0.5
        if kind == "null":
            return None
        if kind == "array":
            items = schema.get("items", {})
            return [self.valid_value(name, items) for _ in range(r.randrange(0, 4))]
        if kind == "object":
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict):
                return {self._key(): self.valid_value(name, extra) for _ in range(r.randrange(3))}
            return {
                r.choice(["limit", "max_id", "local", "x"]): self.scalar()
                for _ in range(r.randrange(3))
            }
        return self.json_value(2)

    def invalid_value(self, schema: dict[str, Any]) -> Any:
        """A value of a JSON type `schema` does not allow (most of the time)."""
        allowed = _types_of(schema)
        for _ in range(8):
            value = self.json_value(2)
            if _json_type(value) not in allowed:
                return value
        return self.json_value(3)

    # -- frames --------------------------------------------------------------------------

    def _spec(self) -> MethodSpec:
        return self.r.choice(self.methods)

    def _params(self, spec: MethodSpec, valid: bool) -> Any:
        r = self.r
        named: dict[str, Any] = {}
        for name, required, schema in spec.params:
            if required or r.random() < 0.3:
                named[name] = self.valid_value(name, schema)
        if valid:
            if r.random() < 0.15:  # by position: the required ones, in order
                return [named[n] for n, req, _ in spec.params if req]
            return named
        mistake = r.randrange(7)
        if mistake == 0 and spec.params:  # one wrong type
            name, _, schema = r.choice(spec.params)
            named[name] = self.invalid_value(schema)
        elif mistake == 1 and named:  # a required one missing
            named.pop(r.choice(list(named)))
        elif mistake == 2:  # an unknown one
            named[r.choice(["bogus", "", "api", "self", "kwargs", "\u00e9", "limit "])] = 1
        elif mistake == 3:  # too many positionals
            return [self.scalar() for _ in range(len(spec.params) + r.randrange(1, 4))]
        elif mistake == 4:  # positional, wrong types
            return [self.json_value(1) for _ in range(r.randrange(0, len(spec.params) + 1))]
        elif mistake == 5 and spec.params:  # every one wrong
            return {n: self.invalid_value(s) for n, _, s in spec.params}
        else:  # params not a structure at all
            return self.scalar()
        return named

    def _call_obj(self, *, valid: bool) -> dict[str, Any]:
        spec = self._spec()
        name = spec.name
        if self.r.random() < 0.1 and not name.startswith("rpc.") and name != "status":
            name = "mastodon." + name
        obj: dict[str, Any] = {"jsonrpc": "2.0", "method": name, "id": self.any_id()}
        if valid and isinstance(obj["id"], bool | list | dict):
            obj["id"] = self.r.randrange(1000)
        params = self._params(spec, valid)
        if params != {} or self.r.random() < 0.5:
            obj["params"] = params
        return obj

    def _valid_call(self) -> bytes:
        return self.dump(self._call_obj(valid=True))

    def _invalid_params_call(self) -> bytes:
        return self.dump(self._call_obj(valid=False))

    def _unknown_method(self) -> bytes:
        r = self.r
        base = r.choice(self.names)
        name = r.choice(
            [
                base + "s",
                base[:-1],
                base.upper(),
                " " + base,
                base + "\x00",
                "mastodon." + base + ".x",
                "rpc.",
                "rpc.discover.",
                "",
                "mastodon.",
                "mastodon.status",
                "__init__",
                "../" + base,
                self._key(),
                "m" * r.randrange(1, 3000),
            ]
        )
        return self.dump({"jsonrpc": "2.0", "id": self.any_id(), "method": name})

    def _envelope_obj(self) -> Any:
        r = self.r
        obj: dict[str, Any] = {}
        for key in ("jsonrpc", "method", "params", "id"):
            if r.random() < 0.75:
                obj[key] = self.json_value(1)
        if "jsonrpc" in obj and r.random() < 0.6:
            obj["jsonrpc"] = r.choice(["2.0", "2", "1.0", 2.0, 2, None, "2.0 ", ""])
        if "method" in obj and r.random() < 0.6:
            obj["method"] = r.choice(self.names)
        if r.random() < 0.2:
            obj[self._key()] = self.json_value(1)
        return obj

    def _bad_envelope(self) -> bytes:
        return self.dump(self._envelope_obj())

    def _notification(self) -> bytes:
        obj = self._call_obj(valid=self.r.random() < 0.5)
        obj.pop("id", None)
        return self.dump(obj)

    def _batch(self) -> bytes:
        r = self.r
        roll = r.randrange(10)
        if roll == 0:
            return r.choice([b"[]", b"[[]]", b"[[], []]", b"[1]", b'[""]', b"[null, {}]"])
        items: list[Any] = []
        for _ in range(r.choices([1, 2, 3, 5, 10, 30], [30, 20, 15, 10, 4, 1])[0]):
            item = self.request_obj()
            if isinstance(item, dict) and r.random() < 0.2:
                item.pop("id", None)  # notifications among them
            items.append(item)
        if roll == 1:
            items = [items]  # a batch inside a batch
        return self.dump(items)

    def _malformed_json(self) -> bytes:
        r = self.r
        # as text whatever the bytes (undecodable bytes become surrogate escapes and back)
        text = self.dump(self.request_obj()).decode("utf-8", "surrogateescape")
        roll = r.randrange(12)
        if roll == 0 and len(text) > 1:
            out = text[: r.randrange(1, len(text))]
        elif roll == 1:
            i = r.randrange(len(text) + 1)
            out = text[:i] + r.choice("{}[]\",:\\'0-+.eE \t") + text[i:]
        elif roll == 2 and text:
            i = r.randrange(len(text))
            out = text[:i] + text[i + 1 :]
        elif roll == 3:
            out = r.choice(["NaN", "Infinity", "-Infinity", '{"id": NaN}', "[1,]"])
        elif roll == 4:
            out = text.replace('"', "'")
        elif roll == 5:
            out = text + r.choice([",", "}", "]", " x", text])
        elif roll == 6:
            out = "\ufeff" + text
        elif roll == 7:
            out = "/* c */" + text
        elif roll == 8:
            out = text.replace(":", "=", 1)
        elif roll == 9:
            out = r.choice(["{", "}", "[", '"', "{'jsonrpc': '2.0'}", "tru", "-", "01"])
        elif roll == 10:
            out = '{"jsonrpc":"2.0","jsonrpc":"1.0","method":"status","id":1}'
        else:
            out = "1" * r.choice([4301, 5000, 20000])
        return out.encode("utf-8", "surrogateescape")

    def _invalid_utf8(self) -> bytes:
        r = self.r
        bad = r.choice(
            [b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82"]
        )
        text = self.dump(self._call_obj(valid=True))
        i = r.randrange(len(text) + 1)
        return text[:i] + bad + text[i:]

    def _deep(self) -> bytes:
        r = self.r
        depth = r.choice([50, 500, 900, 990, 1000, 1100, 5000, 100_000, 400_000])
        open_, close = r.choice([("[", "]"), ('{"a":', "}")])
        inner = open_ * depth + "1" + close * depth
        if r.random() < 0.5:
            spec = self._spec()
            name = spec.params[0][0] if spec.params else "x"
            head = '{"jsonrpc":"2.0","id":1,"method":' + json.dumps(spec.name)
            return (head + ',"params":{' + json.dumps(name) + ":" + inner + "}}").encode()
        return inner.encode()

    def _huge(self) -> bytes:
        """A huge frame (made once per kind and method, then reused: they are costly)."""
        kind = self.r.randrange(7)
        if kind not in self._huge_cache:
            self._huge_cache[kind] = self._make_huge(kind, self._spec())
        return self._huge_cache[kind]

    def _make_huge(self, roll: int, spec: MethodSpec) -> bytes:
        r = self.r
        name = spec.params[0][0] if spec.params else "x"
        if roll == 0:
            value: Any = "x" * r.choice([70_000, 500_000, 1_000_000])
        elif roll == 1:
            value = int("9" * r.choice([1000, 4000, 4300]))
        elif roll == 2:
            value = list(range(r.choice([1000, 50_000])))
        elif roll == 3:
            value = {f"k{i}": i for i in range(r.choice([1000, 20_000]))}
        elif roll == 4:
            return b" " * r.randrange(1, 1000) + b"{}" + b" " * 100
        elif roll == 5:
            return self.dump([self._envelope_obj() for _ in range(2000)])
        else:
            return self.dump([{"jsonrpc": "2.0", "id": i, "method": "status"} for i in range(300)])
        return self.dump({"jsonrpc": "2.0", "id": 1, "method": spec.name, "params": {name: value}})

    def _random_json(self) -> bytes:
        return self.dump(self.json_value(4))

    def _random_bytes(self) -> bytes:
        r = self.r
        return bytes(r.randrange(256) for _ in range(r.randrange(1, 200)))


def _dump(value: Any, ascii_only: bool = False) -> bytes:
    """JSON bytes: as ASCII (\\u escapes, lone surrogates included), or as UTF-8 (where a
    lone surrogate becomes bytes that are not UTF-8)."""
    if ascii_only:
        return json.dumps(value).encode()
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _types_of(schema: dict[str, Any]) -> set[str]:
    if not schema:
        return {"null", "boolean", "integer", "number", "string", "array", "object"}
    if "enum" in schema:
        return set()  # any value outside the enum; a string may still be outside
    if "anyOf" in schema:
        return set().union(*(_types_of(s) for s in schema["anyOf"]))
    kind = schema.get("type", [])
    kinds = set(kind if isinstance(kind, list) else [kind])
    if "number" in kinds:
        kinds.add("integer")
    return kinds


def as_line(frame: bytes) -> bytes:
    """`frame` as one newline-delimited frame: its own newlines become spaces."""
    return frame.replace(b"\n", b" ")
