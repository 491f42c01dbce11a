"""The webhook listener (what a tunnel exposes to the internet) serves `POST /push/<secret>`
and nothing else: every other path and method is an empty 404, with or without the RPC
bearer token. Against the real daemon in-process with push notifications on, so the listener,
its secret and keys are the ones `PushService` made in the state directory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fuzz.clients import RawHttp
from tests.fuzz.rig import RPC_TOKEN, Rig, running_daemon
from tests.security.proc import free_port


@dataclass
class Exposed:
    rig: Rig
    port: int
    secret: str


@pytest.fixture
async def exposed(tmp_path: Path) -> AsyncIterator[Exposed]:
    port = free_port()
    async with running_daemon(
        tmp_path,
        notifications={"source": "push"},
        webhook={"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
    ) as rig:
        keys = json.loads((rig.config.state_dir / "push-keys.json").read_text())
        yield Exposed(rig, port, keys["webhook_secret"])


def paths(secret: str) -> list[str]:
    return [
        "/",
        "/rpc",
        "/health",
        "/events",
        "/push",
        "/push/",
        f"/push/{secret}/",
        f"/push/{secret}x",
        f"/push/{secret[:-1]}",
        f"/push/{secret.upper()}",
        "/push/wrong",
        f"//push/{secret}",
        f"/push//{secret}",
        f"/x/../push/{secret}",
        f"/push/./{secret}",
        f"/push/%2e%2e/push/{secret}",
        f"/push/{secret}%2F",
        "/push/" + "".join(f"%{b:02X}" for b in secret.encode()),
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/rpc/../health",
        "/.well-known/security.txt",
        "/api/v1/statuses",
    ]


METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


@pytest.mark.parametrize("with_token", [False, True], ids=["no token", "rpc token"])
async def test_only_post_to_the_secret_path_is_served(exposed: Exposed, with_token: bool) -> None:
    http = RawHttp("127.0.0.1", exposed.port)
    try:
        await probe_every_route(http, exposed, with_token)
    finally:
        http.close()


async def probe_every_route(http: RawHttp, exposed: Exposed, with_token: bool) -> None:
    headers = [("Authorization", f"Bearer {RPC_TOKEN}")] if with_token else []
    publish = json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": "publish_status", "params": {"status": "pwned"}}
    ).encode()
    before = len(exposed.rig.sandbox.recorded)
    for path in paths(exposed.secret):
        for method in METHODS:
            reply = await http.request(method, path, headers, publish if method != "GET" else b"")
            assert reply.status == 404, f"{method} {path}: HTTP {reply.status}"
            assert reply.body == b"", f"{method} {path}: {reply.body[:100]!r}"
    for method in ("GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"):
        reply = await http.request(method, f"/push/{exposed.secret}", headers, publish)
        assert reply.status == 404, f"{method} /push/<secret>: HTTP {reply.status}"
    # the RPC listener's routes are not reachable there, even with its token: nothing ran
    published = [r for r in exposed.rig.sandbox.recorded[before:] if r.path == "/api/v1/statuses"]
    assert published == []
    # and the one route there is: a push (garbage here, acknowledged and dropped)
    reply = await http.request("POST", f"/push/{exposed.secret}", headers, b"\x00" * 100)
    assert reply.status == 201
