"""What JSON-RPC 2.0 says must come back for a frame, and a strict check of what did.

The oracle is written from the specification (and the README's documented choices: a blank
line is ignored, a member other than jsonrpc/method/params/id makes a request invalid, an
invalid request's usable id is echoed), not from the daemon's code.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
INTERNAL_ERROR_TEXT = "Internal error"
MAX_BATCH = 100  # rpc.max_batch's default: a longer batch is refused whole

_MEMBERS = frozenset(("jsonrpc", "method", "params", "id"))
_NOT_JSON = object()


@dataclass(frozen=True, slots=True)
class Reply:
    """One response object that must come back."""

    ids: tuple[Any, ...]  # the acceptable values of its `id`
    codes: frozenset[int] | None = None  # it must be an error with one of these codes


@dataclass(frozen=True, slots=True)
class Expect:
    """What a frame must produce: nothing, one response object, or an array of them; or,
    where the specification allows two answers, `alternative`."""

    batch: bool
    replies: tuple[Reply, ...]
    alternative: Expect | None = None
    ambiguous: bool = False  # whether anything comes back at all is the daemon's choice

    @property
    def answered(self) -> bool:
        return bool(self.replies)


NOTHING = Expect(batch=False, replies=())
PARSE_FAILURE = Expect(False, (Reply((None,), frozenset({PARSE_ERROR})),))


def _reject_constant(name: str) -> Any:
    raise ValueError(name)


def parse(frame: bytes | str) -> Any:
    """The frame's JSON value (RFC 8259: UTF-8, no NaN/Infinity), or `_NOT_JSON`."""
    try:
        text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
        return json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        return _NOT_JSON


def is_json(doc: Any) -> bool:
    return doc is not _NOT_JSON


def _valid_id(value: Any) -> bool:
    return value is None or (isinstance(value, str | int | float) and not isinstance(value, bool))


def _problem(item: Any) -> bool:
    if not isinstance(item, dict):
        return True
    if item.get("jsonrpc") != "2.0" or not isinstance(item.get("method"), str):
        return True
    if "params" in item and not isinstance(item["params"], list | dict):
        return True
    if "id" in item and not _valid_id(item["id"]):
        return True
    return bool(item.keys() - _MEMBERS)


def _one(item: Any, known: Collection[str]) -> Reply | None:
    if _problem(item):
        id_ = item.get("id") if isinstance(item, dict) else None
        ids = (None, id_) if id_ is not None and _valid_id(id_) else (None,)
        return Reply(ids, frozenset({INVALID_REQUEST}))
    if "id" not in item:
        return None  # a notification: nothing comes back, whatever happens
    method = item["method"]
    if known and method not in known and not method.startswith("mastodon."):
        return Reply((item["id"],), frozenset({METHOD_NOT_FOUND}))
    return Reply((item["id"],))


def expect(doc: Any, known: Collection[str] = ()) -> Expect:
    """What the parsed frame `doc` (from `parse`) must produce. `known`: real method names.

    A number too large for a double (1e400) is valid JSON that a parser may refuse (RFC 8259
    section 9 lets it limit the range): then a parse error is a right answer too.
    """
    want = _expect(doc, known)
    if doc is not _NOT_JSON and _has_non_finite(doc):
        if not want.answered:
            return Expect(False, (), ambiguous=True)
        return Expect(want.batch, want.replies, alternative=PARSE_FAILURE)
    return want


def _expect(doc: Any, known: Collection[str]) -> Expect:
    if doc is _NOT_JSON:
        return PARSE_FAILURE
    if isinstance(doc, list):
        if not doc or len(doc) > MAX_BATCH:
            return Expect(False, (Reply((None,), frozenset({INVALID_REQUEST})),))
        replies = tuple(r for r in (_one(item, known) for item in doc) if r is not None)
        return Expect(True, replies)
    reply = _one(doc, known)
    return NOTHING if reply is None else Expect(False, (reply,))


def expect_frame(frame: bytes | str, known: Collection[str] = ()) -> Expect:
    return expect(parse(frame), known)


def same(a: Any, b: Any) -> bool:
    """JSON equality that tells 1 from 1.0 and -0.0 from 0.0, as the wire does."""
    if type(a) is not type(b):
        return False
    if isinstance(a, str | int) or a is None:
        return bool(a == b)
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


class BadReply(AssertionError):
    pass


def check_object(obj: Any, reply: Reply) -> None:
    """`obj` is a valid JSON-RPC 2.0 response object meeting `reply`."""
    if not isinstance(obj, dict):
        raise BadReply(f"not a response object: {obj!r:.300}")
    if obj.get("jsonrpc") != "2.0":
        raise BadReply(f'"jsonrpc" is not "2.0": {obj!r:.300}')
    keys = set(obj)
    if keys not in ({"jsonrpc", "result", "id"}, {"jsonrpc", "error", "id"}):
        raise BadReply(f"members must be jsonrpc, id and one of result/error: {sorted(keys)}")
    if not any(same(obj["id"], id_) for id_ in reply.ids):
        raise BadReply(f"id {obj['id']!r:.100} is not one of {reply.ids!r:.200}")
    if "error" in obj:
        error = obj["error"]
        if not isinstance(error, dict) or not {"code", "message"} <= set(error):
            raise BadReply(f"error without code and message: {error!r:.300}")
        if set(error) - {"code", "message", "data"}:
            raise BadReply(f"unexpected error members: {sorted(error)}")
        code, message = error["code"], error["message"]
        if type(code) is not int or not isinstance(message, str):
            raise BadReply(f"error.code must be an integer, message a string: {error!r:.300}")
        if code == INTERNAL_ERROR and (message != INTERNAL_ERROR_TEXT or "data" in error):
            raise BadReply(f"an internal error must say only {INTERNAL_ERROR_TEXT!r}: {error}")
        if "Traceback (most recent call last)" in message:
            raise BadReply(f"a traceback reached the client: {message:.300}")
        if reply.codes is not None and code not in reply.codes:
            raise BadReply(f"error code {code}, expected one of {sorted(reply.codes)}: {error}")
    elif reply.codes is not None:
        raise BadReply(f"a result where an error {sorted(reply.codes)} was due: {obj!r:.300}")


def check(answer: Any, want: Expect) -> None:
    """`answer` (a parsed reply frame) is exactly what `want` (or its alternative) says."""
    try:
        _check(answer, want)
    except BadReply as first:
        if want.alternative is None:
            raise
        error = first
    else:
        return
    try:
        _check(answer, want.alternative)
    except BadReply:
        raise error from None


def _check(answer: Any, want: Expect) -> None:
    if not want.answered:
        raise BadReply(f"an answer where none was due: {answer!r:.300}")
    if want.batch:
        if not isinstance(answer, list):
            raise BadReply(f"a batch must be answered with an array: {answer!r:.300}")
        if len(answer) != len(want.replies):
            raise BadReply(f"{len(answer)} responses for {len(want.replies)} requests")
        for obj, reply in zip(answer, want.replies, strict=True):
            check_object(obj, reply)
    else:
        check_object(answer, want.replies[0])


def internal_errors(answer: Any) -> int:
    objs = answer if isinstance(answer, list) else [answer]
    return sum(
        1
        for obj in objs
        if isinstance(obj, dict)
        and isinstance(obj.get("error"), dict)
        and obj["error"].get("code") == INTERNAL_ERROR
    )


def _has_non_finite(value: Any) -> bool:
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            return True
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, dict):
            stack.extend(item.values())
    return False


def ids_of(answers: Iterable[Any]) -> list[Any]:
    found: list[Any] = []
    for answer in answers:
        for obj in answer if isinstance(answer, list) else [answer]:
            if isinstance(obj, dict) and "id" in obj:
                found.append(obj["id"])
    return found
