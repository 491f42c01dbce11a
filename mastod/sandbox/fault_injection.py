"""The middleware that applies `Sandbox.faults` (see `mastod.sandbox.faults` for the kinds)."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from mastod.sandbox.faults import Fault
from mastod.sandbox.keys import FAULT_KEY, SANDBOX_KEY
from mastod.sandbox.ratelimit import reset_header


@web.middleware
async def inject_faults(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith("/_sandbox/"):
        return await handler(request)
    sb = request.app[SANDBOX_KEY]
    path = request.raw_path.partition("?")[0]
    terminal: Fault | None = None
    for fault in sb.faults.take(request.method, path):
        if fault.kind == "latency":
            await asyncio.sleep(fault.seconds)
        else:
            terminal = fault
    if terminal is None:
        return await handler(request)
    request[FAULT_KEY] = terminal.kind
    if terminal.kind == "rate_limit":
        reset = reset_header(sb.clock() + terminal.reset_in)
        headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0"}
        headers["X-RateLimit-Reset"] = reset
        return web.json_response({"error": "Too many requests"}, status=429, headers=headers)
    if terminal.kind == "truncate":
        return await _truncate(request, await handler(request), terminal)
    if terminal.after:
        await handler(request)
    if terminal.kind == "drop":
        return _drop(request)
    return web.Response(
        status=terminal.status,
        body=terminal.body_bytes(),
        headers={"Content-Type": terminal.content_type},
    )


def _drop(request: web.Request) -> web.StreamResponse:
    """Close the connection with no answer; aiohttp then skips writing the returned response."""
    transport = request.transport
    if transport is not None:
        transport.close()
    return web.Response(status=204)


async def _truncate(
    request: web.Request, real: web.StreamResponse, fault: Fault
) -> web.StreamResponse:
    body = real.body if isinstance(real, web.Response) and isinstance(real.body, bytes) else b""
    keep = len(body) // 2 if fault.keep_bytes is None else max(0, fault.keep_bytes)
    cut = body[:keep]
    if not fault.cut_connection:
        return web.Response(status=real.status, body=cut, headers=_headers(real))
    response = web.StreamResponse(status=real.status, headers=_headers(real))
    response.content_length = len(body)
    await response.prepare(request)
    await response.write(cut)
    transport = request.transport
    if transport is not None:
        transport.close()
    return response


def _headers(real: web.StreamResponse) -> dict[str, str]:
    return {k: v for k, v in real.headers.items() if k.lower() != "content-length"}
