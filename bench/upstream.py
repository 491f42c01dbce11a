"""The local upstream: a small aiohttp app answering like Mastodon, with pre-encoded bodies.

It does as little as possible per request (no parsing of its own fixtures, no access log), so
that the floor measures HTTP and the client, not this server. Run as its own process:
`python -m bench.upstream` prints `PORT <n>` once it listens on 127.0.0.1 and serves until
SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

from aiohttp import web

from bench.daemon import free_port
from bench.fixtures import (
    ACCESS_TOKEN,
    STATUS_ID,
    encoded,
    status,
    timeline,
    verify_credentials,
)

JSON = "application/json; charset=utf-8"


def _headers(link: str | None = None) -> dict[str, str]:
    """Mastodon's usual response headers, built once (a run is far shorter than the
    5-minute rate-limit window they announce)."""
    reset = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(time.time() + 300))
    headers = {
        "Content-Type": JSON,
        "Cache-Control": "private, no-store",
        "Vary": "Accept, Origin",
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "299",
        "X-RateLimit-Reset": reset,
        "X-Request-Id": "b7c1f0e4-6a1d-4c55-9a58-2f1d0b3c7e21",
    }
    if link:
        headers["Link"] = link
    return headers


def create_app(base_url: str) -> web.Application:
    status_body = encoded(status())
    timeline_body = encoded(timeline())
    me_body = encoded(verify_credentials())
    items = timeline()
    link = (
        f'<{base_url}/api/v1/timelines/home?max_id={items[-1]["id"]}>; rel="next", '
        f'<{base_url}/api/v1/timelines/home?min_id={items[0]["id"]}>; rel="prev"'
    )
    bearer = f"Bearer {ACCESS_TOKEN}"
    plain, linked = _headers(), _headers(link)
    unauthorized = encoded({"error": "The access token is invalid"})
    not_found = encoded({"error": "Record not found"})

    def authorized(request: web.Request) -> bool:
        return request.headers.get("Authorization") == bearer

    async def get_status(request: web.Request) -> web.Response:
        if request.match_info["id"] != STATUS_ID:
            return web.Response(status=404, body=not_found, headers=plain)
        return web.Response(body=status_body, headers=plain)

    async def post_status(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.Response(status=401, body=unauthorized, headers=plain)
        await request.read()
        return web.Response(body=status_body, headers=plain)

    async def home(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.Response(status=401, body=unauthorized, headers=plain)
        return web.Response(body=timeline_body, headers=linked)

    async def me(request: web.Request) -> web.Response:
        if not authorized(request):
            return web.Response(status=401, body=unauthorized, headers=plain)
        return web.Response(body=me_body, headers=plain)

    async def push_sink(request: web.Request) -> web.Response:
        """The push benchmark's floor: a webhook that reads the push and answers 201."""
        await request.read()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push-sink/{secret}", push_sink)
    app.router.add_get("/api/v1/statuses/{id}", get_status)
    app.router.add_post("/api/v1/statuses", post_status)
    app.router.add_get("/api/v1/timelines/home", home)
    app.router.add_get("/api/v1/accounts/verify_credentials", me)
    return app


async def serve(port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    port = port or free_port()  # known before the app: it puts its own URL in Link headers
    runner = web.AppRunner(create_app(f"http://127.0.0.1:{port}"), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port, backlog=512, reuse_address=True)
    await site.start()
    print(f"PORT {port}", flush=True)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upstream")
    parser.add_argument("--port", type=int, default=0, help="0: any free port")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
