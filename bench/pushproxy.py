"""The minimal push pipeline (`python -m bench.pushproxy --upstream URL --socket PATH --db PATH`):
the least a process can do, on the daemon's own stack, to turn Web Push into deliveries. It
is to the push path what `bench.proxy` is to a call: the reference the daemon's CPU per push
is read against.

What it does per push, with the libraries the daemon must use (aiohttp, cryptography,
http_ece, SQLite, orjson):
- the webhook: aiohttp, `POST /push/<secret>`, the body read, 201 at once, the rest in a task;
- the VAPID JWT's ES256 signature verified with the instance's key, `aud` and `exp` checked;
- the body decrypted by `http_ece` (aes128gcm, or aesgcm with its `Encryption` and
  `Crypto-Key` headers), the payload's `notification_id` read;
- unless that notification is stored: one catch-up in flight at a time,
  `GET /api/v1/notifications?min_id=<newest stored>&limit=80` with a pooled aiohttp session,
  decoded by orjson, oldest first: each notification encoded once, the page stored in one
  SQLite transaction (WAL, `synchronous=NORMAL`), then one joined write per subscriber.
What it leaves out is everything the daemon adds: deadlines and caps on the webhook, replay
memory, header and payload validation, the Status renames, the request core (retries, rate
limits, Link cursors), logging, status counters, backlog and fault handling.

At start it makes its own push subscription at the instance (`bench.pushsender`), answers
`subscribe` on its Unix socket as `bench.fanout` does, prints `{"ready": true}` and runs until
stdin closes.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import sqlite3
import sys
import time
from typing import Any

import aiohttp
import http_ece
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from bench.commands import serve_commands
from bench.daemon import free_port
from bench.fanout import Connection
from bench.fixtures import ACCESS_TOKEN

SECRET = "pipeline"
ES256 = ec.ECDSA(hashes.SHA256())


def b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def params(value: str) -> dict[str, str]:
    pairs = (piece.strip().partition("=") for piece in value.replace(",", ";").split(";"))
    return {name: item for name, _, item in pairs}


class Pipeline:
    def __init__(self, upstream: str, origin: str, db: str) -> None:
        self.upstream = upstream
        self.origin = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth_secret = os.urandom(16)
        self.server_key: ec.EllipticCurvePublicKey | None = None
        self.connections: set[Connection] = set()  # bench.fanout's subscriber protocol
        self.db = sqlite3.connect(db, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("CREATE TABLE notifications (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        self.newest = 0
        self.owed = False
        self.fetching: asyncio.Task[None] | None = None
        self.tasks: set[asyncio.Task[None]] = set()
        self.session: aiohttp.ClientSession | None = None
        self.headers = {"Authorization": f"Bearer {ACCESS_TOKEN}"}

    async def subscribe(self) -> None:
        self.session = aiohttp.ClientSession(self.upstream)
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        form = {
            "subscription[endpoint]": f"{self.origin}/push/{SECRET}",
            "subscription[keys][p256dh]": b64encode(point),
            "subscription[keys][auth]": b64encode(self.auth_secret),
            "data[alerts][mention]": "true",
            "data[policy]": "all",
        }
        async with self.session.post(
            "/api/v1/push/subscription", data=form, headers=self.headers
        ) as response:
            entity = await response.json()
        self.server_key = ec.EllipticCurvePublicKey.from_encoded_point(
            ec.SECP256R1(), b64decode(entity["server_key"])
        )
        # the newest notification before this run: only what comes after it is fetched
        async with self.session.get(
            "/api/v1/notifications", params={"limit": "1"}, headers=self.headers
        ) as response:
            newest = orjson.loads(await response.read())
        self.newest = int(newest[0]["id"]) if newest else 0

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.read()
        task = asyncio.create_task(self.receive(body, request.headers.copy()))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return web.Response(status=201)

    async def receive(self, body: bytes, headers: Any) -> None:
        self.verify(headers)
        notification_id = self.decrypt(body, headers)
        exists = self.db.execute(
            "SELECT 1 FROM notifications WHERE id = ?", (notification_id,)
        ).fetchone()
        if exists is None:
            self.owed = True
            if self.fetching is None:
                self.fetching = asyncio.create_task(self.catch_up())

    def verify(self, headers: Any) -> None:
        authorization = headers["Authorization"]
        if authorization.startswith("vapid "):
            token = params(authorization[6:])["t"]
        else:  # "WebPush <jwt>", the legacy scheme
            token = authorization.split(" ", 1)[1]
        head, claims, signature = token.split(".")
        raw = b64decode(signature)
        der = utils.encode_dss_signature(
            int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
        )
        assert self.server_key is not None
        self.server_key.verify(der, f"{head}.{claims}".encode(), ES256)
        decoded = orjson.loads(b64decode(claims))
        if decoded["aud"] != self.origin or decoded["exp"] < time.time():
            raise ValueError("not for us")

    def decrypt(self, body: bytes, headers: Any) -> str:
        encoding = headers["Content-Encoding"]
        if encoding == "aes128gcm":
            options: dict[str, Any] = {}
        else:
            options = {
                "salt": b64decode(params(headers["Encryption"])["salt"]),
                "dh": b64decode(params(headers["Crypto-Key"])["dh"]),
                "keylabel": "P-256",
            }
        plaintext = http_ece.decrypt(
            body,
            private_key=self.private_key,
            auth_secret=self.auth_secret,
            version=encoding,
            **options,
        )
        return str(orjson.loads(plaintext)["notification_id"])

    async def catch_up(self) -> None:
        assert self.session is not None
        try:
            while self.owed:
                self.owed = False
                query = {"min_id": str(self.newest), "limit": "80"}
                async with self.session.get(
                    "/api/v1/notifications", params=query, headers=self.headers
                ) as response:
                    page = orjson.loads(await response.read())
                if not page:
                    continue
                page.reverse()  # oldest first
                rows = [(item["id"], orjson.dumps(item).decode()) for item in page]
                self.db.execute("BEGIN")
                self.db.executemany("INSERT OR IGNORE INTO notifications VALUES (?, ?)", rows)
                self.db.execute("COMMIT")
                self.newest = int(rows[-1][0])
                frames = [body.encode() + b"}}\n" for _, body in rows]
                for connection in self.connections:
                    assert connection.transport is not None
                    prefix = connection.prefix
                    connection.transport.write(b"".join(prefix + frame for frame in frames))
                if len(page) == 80:
                    self.owed = True
        finally:
            self.fetching = None


async def serve(upstream: str, socket_path: str, db: str) -> None:
    loop = asyncio.get_running_loop()
    port = free_port()
    pipeline = Pipeline(upstream, f"http://127.0.0.1:{port}", db)
    app = web.Application()
    app.router.add_post(f"/push/{SECRET}", pipeline.webhook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=512).start()
    server = await loop.create_unix_server(lambda: Connection(pipeline), socket_path, backlog=1024)
    await pipeline.subscribe()
    print(json.dumps({"ready": True, "port": port}), flush=True)
    try:
        await serve_commands({})  # until stdin closes
    finally:
        server.close()
        await runner.cleanup()
        if pipeline.session is not None:
            await pipeline.session.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.pushproxy")
    parser.add_argument("--upstream", required=True, help="the instance (bench.pushsender)")
    parser.add_argument("--socket", required=True)
    parser.add_argument("--db", required=True)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.upstream, args.socket, args.db))
    return 0


if __name__ == "__main__":
    sys.exit(main())
