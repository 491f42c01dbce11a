"""The request pipeline around every handler, outermost first:

1. `record`: reads the body, records the request (and, if asked, the response), learns the
   base URL, honours `faults.close_connections`, dates the answer by the sandbox's clock;
2. `inject_faults` (in `fault_injection`);
3. `throttle`: `X-RateLimit-*` on every `/api/*` answer but the streaming API's, 429 over
   the limit;
4. `errors`: ApiError and routing misses rendered as Mastodon's JSON errors.
"""

from __future__ import annotations

import logging
from email.utils import formatdate
from urllib.parse import parse_qsl

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict, CIMultiDictProxy

from mastod.sandbox.auth import bearer
from mastod.sandbox.errors import ApiError, not_found
from mastod.sandbox.keys import FAULT_KEY, RATE_LIMITER_KEY, RAW_BODY_KEY, SANDBOX_KEY
from mastod.sandbox.params import parse_body
from mastod.sandbox.recorded import RecordedRequest, RecordedResponse

log = logging.getLogger(__name__)

STREAMING_PREFIX = "/api/v1/streaming"  # Mastodon's streaming server has no REST rate limit


@web.middleware
async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
    sb = request.app[SANDBOX_KEY]
    if sb.base_url is None:
        sb.base_url = str(request.url.origin())
    raw = await request.read()
    request[RAW_BODY_KEY] = raw
    entry = _record_request(request, raw) if sb.recording else None
    if entry is not None:
        sb.recorded.append(entry)
        limit = sb.record_limit
        if limit is not None and len(sb.recorded) > limit + limit // 10:
            del sb.recorded[: len(sb.recorded) - limit]
    response = await handler(request)
    if not response.prepared:
        # the sandbox's clock, not aiohttp's: a shifted one (`POST /_sandbox/clock`) shows here
        response.headers[hdrs.DATE] = formatdate(sb.clock(), usegmt=True)
    if sb.faults.close_connections:
        response.force_close()
    if entry is not None:
        entry.fault = request.get(FAULT_KEY)
        # A dropped request got no answer at all, whatever aiohttp was handed.
        if sb.record_responses and isinstance(response, web.Response) and entry.fault != "drop":
            body = response.body if isinstance(response.body, bytes) else b""
            headers = CIMultiDictProxy(CIMultiDict(response.headers))
            entry.response = RecordedResponse(response.status, headers, body)
    return response


def _record_request(request: web.Request, raw: bytes) -> RecordedRequest:
    path, _, query = request.raw_path.partition("?")
    content_type = request.headers.get("Content-Type", "")
    try:
        parsed = parse_body(raw, content_type)
        body = parsed.json if parsed.is_json else parsed.pairs
    except ApiError:
        body = None
    return RecordedRequest(
        method=request.method,
        path=path,
        query=parse_qsl(query, keep_blank_values=True),
        body=body,
        headers=CIMultiDictProxy(CIMultiDict(request.headers)),
        raw_body=raw,
        content_type=content_type,
    )


@web.middleware
async def throttle(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not request.path.startswith("/api/") or request.path.startswith(STREAMING_PREFIX):
        return await handler(request)
    sb = request.app[SANDBOX_KEY]
    key = bearer(request) or f"ip:{request.remote}"
    verdict = request.app[RATE_LIMITER_KEY].hit(key, sb.clock())
    if not verdict.allowed:
        return web.json_response(
            {"error": "Too many requests"}, status=429, headers=verdict.headers()
        )
    response = await handler(request)
    response.headers.update(verdict.headers())
    return response


@web.middleware
async def errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(exc.body(), status=exc.status)
    except (web.HTTPNotFound, web.HTTPMethodNotAllowed):
        # Rails answers an unrouted path (any verb) with 404; ids never leak into other routes.
        return web.json_response(not_found().body(), status=404)
    except web.HTTPException:
        raise
    except Exception:
        log.exception("sandbox handler failed: %s %s", request.method, request.raw_path)
        return web.json_response({"error": "Internal server error"}, status=500)
