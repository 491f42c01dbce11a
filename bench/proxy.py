"""A minimal aiohttp JSON-RPC proxy: the reference the issue's targets were set against.

Same transports as the daemon (newline-delimited frames on a Unix socket, `POST /rpc` with a
bearer token), one pooled aiohttp session to the upstream, and nothing else: no validation,
no shaping, no retries, no logging. What it reaches on this machine, in the same run, says
how much of the distance to the floor any Python proxy pays and how much is mastod's own.

`python -m bench.proxy --upstream URL --socket PATH --port N --token T` prints `READY` once
both listeners are up and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from typing import Any

import aiohttp
from aiohttp import web

from bench.fixtures import ACCESS_TOKEN


class Proxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(
            headers={"Authorization": f"Bearer {ACCESS_TOKEN}", "Accept": "application/json"}
        )

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def call(self, method: str, params: dict[str, Any]) -> Any:
        assert self.session is not None
        if method == "get_status":
            url = f"{self.upstream}/api/v1/statuses/{params['status_id']}"
            query: dict[str, str] = {}
        elif method == "get_home_timeline":
            url = f"{self.upstream}/api/v1/timelines/home"
            query = {"limit": str(params.get("limit", 20))}
        else:
            raise LookupError(method)
        async with self.session.get(url, params=query) as resp:
            body = await resp.read()
        return json.loads(body)

    async def answer(self, frame: bytes | str) -> str:
        request = json.loads(frame)
        try:
            result = await self.call(request["method"], request.get("params") or {})
        except LookupError:
            error = {"code": -32601, "message": "Method not found"}
            return json.dumps({"jsonrpc": "2.0", "error": error, "id": request.get("id")})
        return json.dumps({"jsonrpc": "2.0", "result": result, "id": request.get("id")})

    async def serve_unix(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        tasks: set[asyncio.Task[None]] = set()

        async def one(line: bytes) -> None:
            writer.write((await self.answer(line)).encode() + b"\n")
            await writer.drain()

        try:
            while line := await reader.readline():
                task = asyncio.create_task(one(line))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            writer.close()

    def http_app(self, token: str) -> web.Application:
        expected = f"Bearer {token}"

        async def rpc(request: web.Request) -> web.Response:
            if request.headers.get("Authorization") != expected:
                return web.Response(status=401)
            answer = await self.answer(await request.read())
            return web.Response(text=answer, content_type="application/json")

        app = web.Application()
        app.router.add_post("/rpc", rpc)
        return app


async def serve(upstream: str, socket_path: str, port: int, token: str) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    proxy = Proxy(upstream)
    await proxy.start()
    server = await asyncio.start_unix_server(proxy.serve_unix, socket_path, limit=1 << 24)
    runner = web.AppRunner(proxy.http_app(token), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("READY", flush=True)
    try:
        await stop.wait()
    finally:
        server.close()
        await runner.cleanup()
        await proxy.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.proxy")
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.upstream, args.socket, args.port, args.token))
    return 0


if __name__ == "__main__":
    sys.exit(main())
