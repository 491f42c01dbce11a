"""Platypush's `POST /execute`, so a Platypush script switches to the daemon by changing URL.

Request, as Platypush's clients send it (`Content-Type: application/json`, the token as
`X-Token: <token>` or `Authorization: Bearer <token>`):

    {"type": "request", "action": "mastodon.publish_status", "args": {"status": "hi"}, "id": "..."}

Answer, HTTP 200 as Platypush gives it:

    {"id": ..., "type": "response", "target": ..., "origin": ..., "_timestamp": ...,
     "response": {"output": <result>, "errors": []}}

A result that is empty (`null`) is `{"success": true}`, as Platypush's plugins answer. On
failure `output` is null and `errors` holds one line: the JSON-RPC error's message (with
Mastodon's own message, when there is one). Only `mastodon.*` actions run: the call goes
through the one dispatcher as `mastodon.<name>`, the alias only actions have. A missing or
wrong token gets Platypush's `{"code": 401, "error": ..., "message": ...}` with status 401.
"""

from __future__ import annotations

import hmac
import json
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from mastod.jsontext import mark_float
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.http import LOOPBACK_NAMES
from mastod.rpc.wire import encode

PATH = "/execute"
ACTION_PREFIX = "mastodon."
_FORBIDDEN = {"code": 403, "error": "FORBIDDEN", "message": "Requests from web pages are refused"}
_UNAUTHORIZED = {"code": 401, "error": "INVALID_CREDENTIALS", "message": "Invalid credentials"}


class ExecutePeer:
    transport = "execute"


def register_execute(
    app: web.Application,
    dispatcher: Dispatcher,
    token: Callable[[], str | None],
    allowed_hosts: Iterable[str] = (),
) -> None:
    """Serve `POST /execute` on the RPC listener's app; `token()` is the one expected now
    (None: no token needed)."""
    peer = ExecutePeer()
    origin = socket.gethostname()  # Platypush answers with its device id, the host name
    hosts = LOOPBACK_NAMES | {h.lower() for h in allowed_hosts}

    async def execute(request: web.Request) -> web.Response:
        if _foreign_page(request.headers.get("Origin"), hosts):
            return web.json_response(_FORBIDDEN, status=403)
        expected = token()
        if expected is not None and not _authorized(request, expected):
            return web.json_response(_UNAUTHORIZED, status=401)
        try:
            body = json.loads(
                await request.read(), parse_constant=_not_json, parse_float=mark_float
            )
            problem = _problem(body)
            if problem is None:  # encoded here: NaN or 1e400 in args is bad JSON, not a bug
                params = body.get("args") or {}
                call = {"jsonrpc": "2.0", "method": body["action"], "params": params, "id": 1}
                frame = encode(call)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return _answer(None, origin, None, "Invalid request: the body is not JSON", 400)
        if problem is not None:
            message = body if isinstance(body, dict) else None
            return _answer(message, origin, None, f"Invalid request: {problem}", 400)
        answer = await dispatcher.handle(frame, peer)
        assert answer is not None  # a request with an id is always answered
        reply = json.loads(answer)
        if "error" in reply:
            return _answer(body, origin, None, _one_line(reply["error"]))
        result = reply.get("result")
        return _answer(body, origin, {"success": True} if result is None else result)

    app.router.add_post(PATH, execute)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _foreign_page(origin: str | None, hosts: frozenset[str]) -> bool:
    """Whether a web page elsewhere sent this (a browser names it in `Origin`): such a page
    could post here without the token when `rpc.require_token` is off. Browser extensions
    (Platypush's) have origins of their own scheme and are the user's, not a page's."""
    if origin is None:
        return False
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https"):
        return origin.strip() == "null"  # sandboxed frames and local files
    return (parts.hostname or "") not in hosts


def _authorized(request: web.Request, token: str) -> bool:
    given = request.headers.get("X-Token")
    if given is None:
        header = request.headers.get("Authorization", "")
        given = header[7:] if header.startswith("Bearer ") else ""
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode())


def _problem(body: Any) -> str | None:
    if not isinstance(body, dict):
        return "expected a JSON object"
    if body.get("type") != "request":
        return '"type" must be "request"'
    action = body.get("action")
    if not isinstance(action, str) or not action.startswith(ACTION_PREFIX):
        return f'"action" must be a {ACTION_PREFIX}* action'
    if not isinstance(body.get("args", {}), dict | type(None)):
        return '"args" must be an object'
    return None


def _one_line(error: dict[str, Any]) -> str:
    text = str(error.get("message", ""))
    data = error.get("data")
    if isinstance(data, dict) and isinstance(data.get("error"), str):
        text = f"{text}: {data['error']}"
    return " ".join(text.split())


def _answer(
    request: dict[str, Any] | None,
    origin: str,
    output: Any,
    error: str | None = None,
    status: int = 200,
) -> web.Response:
    request = request or {}
    id_ = request.get("id")
    document = {
        "id": id_ if isinstance(id_, str | int) and not isinstance(id_, bool) else None,
        "type": "response",
        "target": request.get("origin") if isinstance(request.get("origin"), str) else None,
        "origin": origin,
        "_timestamp": time.time(),
        "response": {"output": output, "errors": [] if error is None else [error]},
    }
    if document["id"] is None:
        document["id"] = secrets.token_hex(16)  # Platypush gives every message an id
    return web.Response(text=encode(document), content_type="application/json", status=status)
