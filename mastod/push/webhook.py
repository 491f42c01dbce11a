"""The public app: the only thing a tunnel exposes. It serves `POST /push/<secret>` alone.

Every other method and path (`/rpc`, `/health`, `GET /push/<secret>`, a wrong secret) gets an
empty 404, and the secret is compared in constant time. A body over the limit gets 413 (a
real Mastodon push is a few hundred bytes, far below any sane limit). Its listener
(`GuardedSite`) holds a connection only while a request arrives in time, caps how many are
open, and no answer names the software (no `Server` header: `GuardedSite(anonymous=True)`).

A push at the right path is acknowledged with 201 at once, before anything is checked, and
handed to `handler` in the background (`TaskSet.spawn`). Mastodon deletes a subscription when
a push gets a 4xx other than 408/429, so nothing that could be our own passing trouble (a
server key not known yet, a slow callback, a bug) may ever answer 4xx: the handler verifies
and drops forgeries after the answer. This app never imports `mastod.rpc`.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_protocol import RequestPayloadError

from mastod.listeners import request_answered, request_read
from mastod.logs import get_logger
from mastod.tasks import TaskSet

log = get_logger(__name__)

# What the receiver reads; the rest of a push's headers (Ttl, Urgency, ...) is not kept.
PUSH_HEADERS = ("authorization", "content-encoding", "crypto-key", "encryption")


@dataclass(frozen=True, slots=True)
class PushRequest:
    """A push as it arrived: the raw body and the headers the receiver reads (lower-case)."""

    body: bytes = field(repr=False)
    headers: Mapping[str, str]


PushHandler = Callable[[PushRequest], Coroutine[Any, Any, None]]


def push_path(secret: str) -> str:
    return f"/push/{secret}"


def create_webhook_app(
    secret: str,
    handler: PushHandler,
    *,
    max_body_bytes: int,
    tasks: TaskSet,
) -> web.Application:
    """The webhook listener's app: acknowledges pushes at `/push/<secret>`, 404 elsewhere."""
    if not secret:
        raise ValueError("the webhook secret must not be empty")
    expected = push_path(secret).encode("ascii")
    # No HTTP decompression: a push body is raw aes128gcm/aesgcm octets, and a body that
    # claims gzip and is not would make aiohttp log a traceback for anyone on the internet.
    # No middleware: the one handler keeps the listener's deadlines itself (`request_read`,
    # `request_answered`), and aiohttp then skips its middleware chain on every push.
    app = web.Application(client_max_size=max_body_bytes, handler_args={"auto_decompress": False})

    async def receive(request: web.Request) -> web.Response:
        try:
            given = request.rel_url.raw_path.encode("utf-8", "replace")
            if request.method != "POST" or not hmac.compare_digest(given, expected):
                return web.Response(status=404)
            if request.content_length is not None and request.content_length > max_body_bytes:
                return _too_large(request, max_body_bytes)
            try:
                body = await request.read()
                request_read(request)
            except web.HTTPRequestEntityTooLarge:
                return _too_large(request, max_body_bytes)
            except (RequestPayloadError, HttpProcessingError, ValueError, OSError) as exc:
                # A body aiohttp cannot read or decompress: never Mastodon's (it sends raw
                # octets), so drop it; 2xx like every other unusable push at the right path.
                log.info("push.rejected", reason=f"unreadable body ({type(exc).__name__})")
                return web.Response(status=201)
            headers = {
                name: request.headers[name] for name in PUSH_HEADERS if name in request.headers
            }
            tasks.spawn(handler(PushRequest(body, headers)), name="push.receive")
            log.debug("push.received", bytes=len(body), encoding=headers.get("content-encoding"))
            return web.Response(status=201)
        finally:
            request_answered(request)

    app.router.add_route("*", "/{tail:.*}", receive)
    return app


def _too_large(request: web.Request, limit: int) -> web.Response:
    log.warning("push.too_large", limit=limit, content_length=request.content_length)
    return web.Response(status=413)
