"""One Mastodon call on the wire: attempts, retries, rate-limit waits, one log line per attempt
(an answered attempt made for an RPC call is a part of that call's line: `logs.Gathering`).

Retry policy, in one place:
- 502/503/504, connection errors and timeouts are retried (exponential backoff with jitter,
  at most `max_retries` times) only for idempotent requests: GET, PUT, DELETE, and a POST that
  carries an `Idempotency-Key` (publish_status), whose retries reuse the same key so the
  server creates one status. A plain POST/PATCH that may have reached the server is never
  repeated: the caller would get two statuses, two follows, two uploads.
- A pooled keep-alive connection that the server had already closed: aiohttp itself sends a
  GET, PUT or DELETE again, once and at once, on a new connection (RFC 9112 §9.3.1); a keyed
  POST closed or reset before any answer is sent again here the same way (once, at once, not
  counted in `max_retries`), its key making that safe. A request that may not be repeated
  never rides a pooled connection (`SessionPool.lease(fresh=True)`), so it never meets a
  dead one.
- 429 means the request was not processed: any verb waits for the reset and is retried when
  the wait is within `rate_limit_max_wait`; otherwise RateLimited is raised at once.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
import yarl
from multidict import CIMultiDictProxy

from mastod.config import MastodonConfig
from mastod.logs import gather, get_logger
from mastod.mastodon.encoding import Pairs, encode_query, multipart
from mastod.mastodon.errors import MastodonError, RateLimited, UnexpectedResponse, Unreachable
from mastod.mastodon.ratelimit import rate_limit, retry_after
from mastod.mastodon.responses import error_for
from mastod.mastodon.uploads import Upload
from mastod.net import backoff_delay

log = get_logger(__name__)

BACKOFF_BASE = 0.5  # seconds before the first retry; doubles each time, with jitter
BACKOFF_CAP = 8.0
MAX_RATE_LIMIT_WAITS = 3  # a server whose reset keeps moving is given up on
MAX_BODY = 32 * 1024 * 1024
IDEMPOTENT_VERBS = frozenset({"GET", "PUT", "DELETE"})
RETRY_STATUSES = frozenset({502, 503, 504})


class Clock:
    """The time and the waiting of the retry loop: rate-limit resets are read against `now()`,
    backoffs and waits go through `sleep()`. Tests give the client a clock they advance."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = Clock()


@dataclass(slots=True)  # built per call: frozen, each field would be set by object.__setattr__
class Outgoing:
    """A request ready to send. `template` (the path before filling) is what gets logged."""

    verb: str
    url: yarl.URL
    template: str
    headers: dict[str, str]
    form: Pairs | None = None  # form fields: urlencoded, or multipart beside `files`
    files: list[Upload] = field(default_factory=list)

    @property
    def idempotent(self) -> bool:
        return self.verb in IDEMPOTENT_VERBS or self.keyed

    @property
    def keyed(self) -> bool:
        """A write that carries an `Idempotency-Key`: the server acts on it once."""
        return any(name.lower() == "idempotency-key" for name in self.headers)


@dataclass(slots=True)  # per call, as Outgoing
class Reply:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes
    url: str

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "").lower()


class _Failed(Exception):
    """An attempt got no HTTP answer. `closed`: the connection was closed or reset under it
    (what a dead pooled connection does), rather than never made or timed out."""

    def __init__(self, error: MastodonError, *, closed: bool = False) -> None:
        super().__init__(error.error)
        self.error = error
        self.closed = closed


async def exchange(
    session: aiohttp.ClientSession,
    out: Outgoing,
    config: MastodonConfig,
    clock: Clock = SYSTEM_CLOCK,
) -> Reply:
    """Send `out` until it succeeds or may not be tried again; return the 2xx reply."""
    retries = rate_waits = 0
    resent = False
    while True:
        try:
            reply = await _attempt(session, out)
        except _Failed as failed:
            if failed.closed and not resent and out.verb not in IDEMPOTENT_VERBS and out.keyed:
                resent = True  # a keyed write on a dead pooled connection: as aiohttp does a GET
                continue
            if not out.idempotent or retries >= config.max_retries:
                raise failed.error from None
            retries += 1
            await clock.sleep(_backoff(retries))
            continue
        if reply.status in RETRY_STATUSES and out.idempotent and retries < config.max_retries:
            wait = retry_after(reply.headers, clock.now())
            if wait is None or wait <= config.rate_limit_max_wait:
                retries += 1
                await clock.sleep(_backoff(retries) if wait is None else wait)
                continue
        if reply.status == 429:
            limit = rate_limit(reply.headers, clock.now())
            if (
                limit is not None
                and limit.wait <= config.rate_limit_max_wait
                and rate_waits < MAX_RATE_LIMIT_WAITS
            ):
                rate_waits += 1
                await clock.sleep(limit.wait)
                continue
            error = error_for(reply.status, reply.content_type, reply.body)
            raise RateLimited(
                error.error,
                http_status=429,
                rate_limit_reset=limit.reset if limit else None,
                details=error.details,
            )
        if 200 <= reply.status <= 299:
            return reply
        raise error_for(reply.status, reply.content_type, reply.body)


def _backoff(retry: int) -> float:
    return backoff_delay(retry - 1, base=BACKOFF_BASE, cap=BACKOFF_CAP)


async def _attempt(session: aiohttp.ClientSession, out: Outgoing) -> Reply:
    started = time.monotonic()
    status: int | None = None
    failure: str | None = None
    try:
        data: Any = None
        if out.files:
            data = multipart(out.form or [], out.files)
        elif out.form:
            data = encode_query(out.form).encode()
        try:
            response = await session.request(
                out.verb,
                out.url,
                headers=out.headers,
                data=data,
                allow_redirects=False,  # a redirect could carry the token elsewhere
            )
        except Exception as exc:
            failure = type(exc).__name__
            raise _no_answer(exc, out) from None
        async with response:
            status = response.status
            body = await _read(response, out)
            return Reply(status, response.headers, body, str(response.url))
    except BaseException as exc:
        failure = failure or type(exc.error if isinstance(exc, _Failed) else exc).__name__
        raise
    finally:
        if failure or log.enabled(logging.INFO):  # skip building filtered events
            ms = round((time.monotonic() - started) * 1000)
            if failure:
                log.info(
                    "mastodon.request",
                    verb=out.verb,
                    path=out.template,
                    status=status,
                    ms=ms,
                    error=failure,
                )
            elif not gather(f"{out.verb} {out.template} {status} {ms}ms"):
                log.info("mastodon.request", verb=out.verb, path=out.template, status=status, ms=ms)


def _no_answer(exc: Exception, out: Outgoing) -> Exception:
    """Map an exception raised before any response header arrived."""
    host = out.url.host or "the server"
    if isinstance(exc, TimeoutError):
        return _Failed(Unreachable(f"Timed out waiting for {host}"))
    if isinstance(exc, aiohttp.ClientSSLError):
        return _Failed(Unreachable(f"TLS handshake with {host} failed"))
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return _Failed(Unreachable(f"Cannot resolve {host}"))  # its errno is a resolver code
    if isinstance(exc, aiohttp.ClientConnectorError):
        reason = os.strerror(exc.errno) if exc.errno else "refused"  # strerror repeats the address
        return _Failed(Unreachable(f"Cannot connect to {host}: {reason}"))
    # A dead keep-alive connection, or a server that closed or reset this one: whether the
    # server acted on the request is unknown, so only idempotent requests are tried again.
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return _Failed(Unreachable(f"{host} closed the connection"), closed=True)
    if isinstance(exc, aiohttp.ClientOSError | aiohttp.ClientConnectionResetError):
        reason = exc.strerror or "connection reset"
        return _Failed(Unreachable(f"Connection to {host} failed: {reason}"), closed=True)
    if isinstance(exc, aiohttp.ClientResponseError):
        return UnexpectedResponse(f"{host} sent an invalid HTTP response")
    if isinstance(exc, aiohttp.ClientError | OSError):
        return _Failed(Unreachable(f"Connection to {host} failed"))
    return exc


async def _read(response: aiohttp.ClientResponse, out: Outgoing) -> bytes:
    """The whole body, bounded: a broken or hostile server cannot exhaust our memory."""
    host = out.url.host or "the server"
    if (response.content_length or 0) > MAX_BODY:
        raise UnexpectedResponse(f"Response from {host} is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        while chunk := await response.content.read(64 * 1024):
            size += len(chunk)
            if size > MAX_BODY:
                raise UnexpectedResponse(f"Response from {host} is larger than {MAX_BODY} bytes")
            chunks.append(chunk)
    except (aiohttp.ClientError, TimeoutError):
        raise _Failed(
            Unreachable(f"Connection to {host} lost while reading the response")
        ) from None
    return b"".join(chunks)
