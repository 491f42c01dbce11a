"""The instance side of the push benchmark, in a process of its own (`python -m bench.pushsender`).

It plays a Mastodon instance for a daemon whose notification source is Web Push:

- the REST calls such a daemon makes: `GET/POST/DELETE /api/v1/push/subscription` (answering
  with this instance's VAPID `server_key`), `GET /api/v1/notifications` (`min_id`, `limit`,
  newest first, `Link` prev/next as Mastodon sends them) and `verify_credentials`;
- the push worker: for each notification it makes it visible to `GET /api/v1/notifications`,
  then POSTs an encrypted, VAPID-signed Web Push to the endpoint the daemon registered — the
  order Mastodon uses. Pushes are encrypted with pywebpush and signed with py_vapid (neither
  is mastod's code), half aes128gcm (RFC 8291, `vapid t=,k=`) and half legacy aesgcm
  (`WebPush` + `Crypto-Key`), each with its own JWT. They are made by `prepare`, before the
  clock starts, so the sender's crypto does not compete with the daemon while it is measured.

It first prints `{"port": <n>}`, then takes commands, one JSON line each on stdin, and
answers each with one JSON line on stdout:

    {"op": "wait_subscription", "timeout": 30}      -> {"endpoint_site": ..., "standard": true}
    {"op": "prepare", "count": N, "floor": false}   -> {"prepared": N, "seconds": s}
    {"op": "counters"}                              -> {"notification_gets": n}
    {"op": "send", "rate": 100 | null, "concurrency": C, "url": null | other endpoint}
        -> {"sent": N, "statuses": {"201": N}, "t0": {"<id>": ns, ...}, "post_s": s, ...}

`t0` is CLOCK_MONOTONIC (system-wide on Linux, so comparable with the subscribers' receipt
times) taken just before a notification is published and its push POSTed. `rate: null` sends
as fast as `concurrency` POSTs in flight allow.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from py_vapid import Vapid01, Vapid02
from pywebpush import WebPusher

from bench.commands import Command, Handler, serve_commands
from bench.daemon import free_port
from bench.fixtures import ACCESS_TOKEN, account, encoded, status, verify_credentials

JSON = "application/json; charset=utf-8"
CONTACT = "mailto:bench@instance.example"
FIRST_ID = 500_000  # notification ids count up from here (6 digits, as small instances have)
FLOOR_ID = 900_000  # the floor's pushes: ids no notification will ever have
TYPES = ("mention", "favourite", "follow", "reblog")  # the cycle the notifications follow


def now_ns() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


def notification(n: int) -> dict[str, Any]:
    """Notification `n`: a mention / favourite / reblog carries the 3.3 KB status, a follow
    only the account, as Mastodon's API sends them."""
    type_ = TYPES[n % len(TYPES)]
    body: dict[str, Any] = {
        "id": str(n),
        "type": type_,
        "created_at": "2024-05-01T10:20:30.000Z",
        "group_key": f"ungrouped-{n}",
        "account": account(n % 7),
    }
    if type_ != "follow":
        body["status"] = status(n % 50 + 1)
    return body


def push_payload(n: int, type_: str) -> bytes:
    """What Mastodon's Web::NotificationSerializer puts in a push (the daemon drops the
    access token at once)."""
    return json.dumps(
        {
            "access_token": ACCESS_TOKEN,
            "preferred_locale": "en",
            "notification_id": n,
            "notification_type": type_,
            "icon": "https://social.example/avatars/original/missing.png",
            "title": f"New {type_}",
            "body": "@bench hello there",
        }
    ).encode()


@dataclass
class Push:
    id: int
    headers: dict[str, str]
    body: bytes
    publish: bool  # False: a push for the floor, whose notification never exists


@dataclass
class Instance:
    vapid: Vapid02 = field(default_factory=Vapid02)
    subscription: dict[str, Any] | None = None
    subscribed: asyncio.Event = field(default_factory=asyncio.Event)
    bodies: list[bytes] = field(default_factory=list)  # published notifications, oldest first
    prepared: list[Push] = field(default_factory=list)
    next_id: int = FIRST_ID
    next_floor_id: int = FLOOR_ID
    notification_gets: int = 0

    def __post_init__(self) -> None:
        self.vapid.generate_keys()

    @property
    def server_key(self) -> str:
        point = self.vapid.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(point).decode()

    # -- the push worker ------------------------------------------------------------------

    def prepare(self, count: int, floor: bool = False) -> None:
        """Encrypt and sign the next `count` pushes (alternating the two encodings); for the
        floor, pushes of notifications that are never published."""
        assert self.subscription is not None
        endpoint = self.subscription["endpoint"]
        parts = urlsplit(endpoint)
        claims_aud = f"{parts.scheme}://{parts.netloc}"
        pusher = WebPusher({"endpoint": endpoint, "keys": self.subscription["keys"]})
        for _ in range(count):
            if floor:
                n = self.next_floor_id
                self.next_floor_id += 1
            else:
                n = self.next_id
                self.next_id += 1
            type_ = TYPES[n % len(TYPES)]
            encoding = "aes128gcm" if n % 2 == 0 else "aesgcm"
            sealed = pusher.encode(push_payload(n, type_), encoding)
            signer = Vapid02 if encoding == "aes128gcm" else Vapid01
            claims = {"aud": claims_aud, "exp": int(time.time()) + 12 * 3600, "sub": CONTACT}
            headers: dict[str, str] = dict(signer(private_key=self.vapid.private_key).sign(claims))
            headers.update({"TTL": "172800", "Content-Encoding": encoding, "Urgency": "normal"})
            headers["Content-Type"] = "application/octet-stream"
            if encoding == "aesgcm":
                dh = sealed["crypto_key"].decode()
                salt = sealed["salt"].decode()
                headers["Encryption"] = f"salt={salt}"
                headers["Crypto-Key"] = f"dh={dh};{headers['Crypto-Key']}"
            self.prepared.append(Push(n, headers, sealed["body"], publish=not floor))

    async def send(
        self, rate: float | None, concurrency: int, url: str | None = None
    ) -> dict[str, Any]:
        """POST the prepared pushes to the subscription's endpoint (or to `url`: the floor
        measures the same pushes into a server that only answers 201)."""
        assert self.subscription is not None
        pushes, self.prepared = self.prepared, []
        url = url or self.subscription["endpoint"]
        t0: dict[str, int] = {}
        statuses: dict[str, int] = {}
        queue: asyncio.Queue[Push | None] = asyncio.Queue()
        connector = aiohttp.TCPConnector(limit=concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def worker() -> None:
                while (push := await queue.get()) is not None:
                    t0[str(push.id)] = now_ns()
                    if push.publish:  # visible first, then pushed: Mastodon's order
                        self.bodies.append(encoded(notification(push.id)))
                    try:
                        async with session.post(url, data=push.body, headers=push.headers) as r:
                            await r.read()
                            key = str(r.status)
                    except aiohttp.ClientError as exc:
                        key = type(exc).__name__
                    statuses[key] = statuses.get(key, 0) + 1

            workers = [asyncio.create_task(worker()) for _ in range(concurrency)]
            started = time.perf_counter()
            for i, push in enumerate(pushes):
                if rate:
                    delay = started + i / rate - time.perf_counter()
                    if delay > 0:
                        await asyncio.sleep(delay)
                elif queue.qsize() > concurrency * 2:
                    await asyncio.sleep(0)  # keep the queue short: t0 is taken when sent
                await queue.put(push)
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            post_s = time.perf_counter() - started
        return {
            "sent": len(pushes),
            "statuses": statuses,
            "t0": t0,
            "post_s": post_s,
        }

    # -- the REST side --------------------------------------------------------------------

    def app(self, base_url: str) -> web.Application:
        bearer = f"Bearer {ACCESS_TOKEN}"
        me = encoded(verify_credentials())

        def answer(
            value: Any, status_code: int = 200, headers: dict[str, str] | None = None
        ) -> web.Response:
            body = value if isinstance(value, bytes) else encoded(value)
            return web.Response(
                status=status_code, body=body, headers={"Content-Type": JSON, **(headers or {})}
            )

        @web.middleware
        async def auth(request: web.Request, handler: Any) -> web.StreamResponse:
            if request.headers.get("Authorization") != bearer:
                return answer({"error": "The access token is invalid"}, 401)
            response: web.StreamResponse = await handler(request)
            return response

        def entity() -> dict[str, Any]:
            assert self.subscription is not None
            return {
                "id": 1,
                "endpoint": self.subscription["endpoint"],
                "standard": True,
                "alerts": self.subscription["alerts"],
                "policy": self.subscription["policy"],
                "server_key": self.server_key,
            }

        async def get_subscription(request: web.Request) -> web.Response:
            if self.subscription is None:
                return answer({"error": "Record not found"}, 404)
            return answer(entity())

        async def post_subscription(request: web.Request) -> web.Response:
            form = await request.post()
            alerts = {
                key[len("data[alerts][") : -1]: form[key] == "true"
                for key in form
                if key.startswith("data[alerts][")
            }
            self.subscription = {
                "endpoint": str(form["subscription[endpoint]"]),
                "keys": {
                    "p256dh": str(form["subscription[keys][p256dh]"]),
                    "auth": str(form["subscription[keys][auth]"]),
                },
                "alerts": alerts,
                "policy": str(form.get("data[policy]", "all")),
            }
            self.subscribed.set()
            return answer(entity())

        async def delete_subscription(request: web.Request) -> web.Response:
            self.subscription = None
            return answer({})

        async def notifications(request: web.Request) -> web.Response:
            self.notification_gets += 1
            query = request.query
            limit = max(1, min(80, int(query.get("limit", "40"))))
            bodies = self.bodies
            if "min_id" in query:  # the page right after min_id, newest first
                start = max(0, int(query["min_id"]) - FIRST_ID + 1)
                page = bodies[start : start + limit]
                first = start
            else:  # the newest page
                first = max(0, len(bodies) - limit)
                page = bodies[first:]
            headers: dict[str, str] = {}
            if page:
                newest, oldest = FIRST_ID + first + len(page) - 1, FIRST_ID + first
                path = f"{base_url}/api/v1/notifications"
                headers["Link"] = (
                    f'<{path}?limit={limit}&max_id={oldest}>; rel="next", '
                    f'<{path}?limit={limit}&min_id={newest}>; rel="prev"'
                )
            return answer(b"[" + b",".join(reversed(page)) + b"]", headers=headers)

        async def verify(request: web.Request) -> web.Response:
            return answer(me)

        app = web.Application(middlewares=[auth])
        path = "/api/v1/push/subscription"
        app.router.add_get(path, get_subscription)
        app.router.add_post(path, post_subscription)
        app.router.add_put(path, post_subscription)
        app.router.add_delete(path, delete_subscription)
        app.router.add_get("/api/v1/notifications", notifications)
        app.router.add_get("/api/v1/accounts/verify_credentials", verify)
        return app


def handlers(instance: Instance) -> dict[str, Handler]:
    async def wait_subscription(cmd: Command) -> dict[str, Any]:
        await asyncio.wait_for(instance.subscribed.wait(), float(cmd.get("timeout", 30)))
        assert instance.subscription is not None
        return {"endpoint_site": urlsplit(instance.subscription["endpoint"]).netloc}

    async def counters(cmd: Command) -> dict[str, Any]:
        return {"notification_gets": instance.notification_gets}

    async def prepare(cmd: Command) -> dict[str, Any]:
        began = time.perf_counter()
        instance.prepare(int(cmd["count"]), bool(cmd.get("floor")))
        return {"prepared": len(instance.prepared), "seconds": time.perf_counter() - began}

    async def send(cmd: Command) -> dict[str, Any]:
        rate = cmd.get("rate")
        concurrency = int(cmd.get("concurrency", 16))
        return await instance.send(float(rate) if rate else None, concurrency, cmd.get("url"))

    return {
        "wait_subscription": wait_subscription,
        "counters": counters,
        "prepare": prepare,
        "send": send,
    }


async def serve() -> None:
    port = free_port()
    instance = Instance()
    runner = web.AppRunner(instance.app(f"http://127.0.0.1:{port}"), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=512, reuse_address=True).start()
    print(json.dumps({"port": port}), flush=True)
    try:
        await serve_commands(handlers(instance))  # until stdin closes
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m bench.pushsender").parse_args(argv)
    asyncio.run(serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
