"""Serving an aiohttp app on loopback for a test: one helper for every fake and rig."""

from __future__ import annotations

from typing import Any, NamedTuple

from aiohttp import web


class Served(NamedTuple):
    runner: web.AppRunner  # the caller cleans it up
    url: str  # http://127.0.0.1:<port>
    port: int


async def serve(app: web.Application, **runner_options: Any) -> Served:
    """`app` on 127.0.0.1 at a free port (`runner_options` go to `web.AppRunner`)."""
    runner = web.AppRunner(app, **runner_options)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    return Served(runner, f"http://127.0.0.1:{port}", port)
