"""Who may call over HTTP and WebSocket: the bearer token (compared in constant time) and the
Host guard against DNS rebinding, against the real daemon app in-process with the sandbox.

"Nothing runs" is checked where it matters: the call is `publish_status`, and the sandbox
must have received no request at all.
"""

from __future__ import annotations

import ast
import inspect
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

import mastod.rpc.http
from tests.fuzz.clients import RawHttp
from tests.fuzz.rig import RPC_TOKEN, Rig, running_daemon

PUBLISH = json.dumps(
    {"jsonrpc": "2.0", "id": 1, "method": "publish_status", "params": {"status": "pwned"}}
).encode()
BATCH = json.dumps([json.loads(PUBLISH), {"jsonrpc": "2.0", "method": "publish_status",
                                          "params": {"status": "pwned too"}}]).encode()  # fmt: skip


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_daemon(tmp_path) as running:
        yield running


def sent_upstream(rig: Rig, since: int) -> list[str]:
    return [f"{r.method} {r.path}" for r in rig.sandbox.recorded[since:]]


def statuses_of_alice(rig: Rig) -> int:
    return sum(1 for s in rig.sandbox.statuses.values() if "pwned" in s.text)


BAD_AUTHORIZATION = [
    None,
    "",
    "Bearer",
    "Bearer ",
    f"Bearer {RPC_TOKEN[:-1]}",
    f"Bearer {RPC_TOKEN}x",
    f"Bearer  {RPC_TOKEN}",
    f"bearer {RPC_TOKEN}",
    f"Basic {RPC_TOKEN}",
    RPC_TOKEN,
    f"Bearer {RPC_TOKEN.upper()}",
    "Bearer " + "A" * 10_000,
    "Bearer \u00e9" + RPC_TOKEN,
]


@pytest.mark.parametrize("authorization", BAD_AUTHORIZATION)
@pytest.mark.parametrize("body", [PUBLISH, BATCH], ids=["request", "batch"])
async def test_http_without_the_right_token_is_401_and_nothing_runs(
    rig: Rig, authorization: str | None, body: bytes
) -> None:
    before, posts = len(rig.sandbox.recorded), statuses_of_alice(rig)
    headers = [] if authorization is None else [("Authorization", authorization)]
    http = RawHttp("127.0.0.1", rig.port)
    reply = await http.request("POST", "/rpc", headers, body)
    http.close()
    if len(authorization or "") > 8190:  # over aiohttp's header limit: its parser says 400
        assert reply.status == 400
    else:
        assert reply.status == 401
        assert reply.headers.get("www-authenticate", "").startswith("Bearer")
    assert RPC_TOKEN not in reply.body.decode("utf-8", "replace")
    assert sent_upstream(rig, before) == []
    assert statuses_of_alice(rig) == posts


@pytest.mark.parametrize("path", ["/rpc", "/events"])
async def test_websocket_and_events_without_the_right_token_are_401(rig: Rig, path: str) -> None:
    before = len(rig.sandbox.recorded)
    async with aiohttp.ClientSession() as session:
        for headers in ({}, {"Authorization": "Bearer wrong"}):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await session.ws_connect(f"{rig.http_url}{path}", headers=headers)
            assert refused.value.status == 401
            async with session.get(f"{rig.http_url}{path}", headers=headers) as response:
                assert response.status == 401
    assert sent_upstream(rig, before) == []


async def test_the_right_token_does_run(rig: Rig) -> None:
    """The control: the same request with the token publishes (so the 401s above mean it)."""
    before = len(rig.sandbox.recorded)
    http = RawHttp("127.0.0.1", rig.port)
    headers = [("Authorization", f"Bearer {RPC_TOKEN}"), ("Content-Type", "application/json")]
    reply = await http.request("POST", "/rpc", headers, PUBLISH)
    http.close()
    assert reply.status == 200
    assert "result" in reply.json()
    assert sent_upstream(rig, before) == ["POST /api/v1/statuses"]


def test_token_comparison_is_constant_time() -> None:
    """The token check compares with hmac.compare_digest and never with ==/!=/in (read
    from the source of mastod/rpc/http.py, not from timings)."""
    tree = ast.parse(inspect.getsource(mastod.rpc.http))
    auth = next(
        n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == "_token_refused"
    )
    calls = [ast.unparse(n.func) for n in ast.walk(auth) if isinstance(n, ast.Call)]
    assert "hmac.compare_digest" in calls
    secret_names = {"token", "expected", "given"}
    for node in ast.walk(auth):
        if isinstance(node, ast.Compare):
            names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
            compared = names & secret_names
            # `expected is not None` is fine: it says whether a token is set, not its value
            only_none_checks = all(isinstance(op, ast.Is | ast.IsNot) for op in node.ops)
            assert not compared or only_none_checks, f"token compared with {ast.unparse(node)}"
    # and the comparison is between bytes of the whole header, not a prefix or a slice
    compare = next(
        n for n in ast.walk(auth)
        if isinstance(n, ast.Call) and ast.unparse(n.func) == "hmac.compare_digest"
    )  # fmt: skip
    assert not any(isinstance(n, ast.Subscript) for n in ast.walk(compare))


# --- the Host guard ---------------------------------------------------------------------------

FOREIGN_HOSTS = [
    "evil.example",
    "evil.example:8765",
    "127.0.0.1.nip.io",
    "127.0.0.1.nip.io:8765",
    "localhost.evil",
    "localhost.evil:8765",
    "localhost.",
    "127.0.0.1.",
    "sub.localhost",
    "127.1",
    "2130706433",
    "0x7f.0.0.1",
    "0.0.0.0",
    "[::ffff:127.0.0.1]",
    "",
    " ",
    "user@127.0.0.1",
    "evil.example@127.0.0.1",
    "127.0.0.1@evil.example",
    "user:pw@localhost",
    "mastod.internal",
]


@pytest.mark.parametrize("host", FOREIGN_HOSTS)
@pytest.mark.parametrize("path", ["/rpc", "/health"])
async def test_foreign_host_is_refused_and_nothing_runs(rig: Rig, host: str, path: str) -> None:
    before = len(rig.sandbox.recorded)
    http = RawHttp("127.0.0.1", rig.port)
    method = "POST" if path == "/rpc" else "GET"
    auth = [("Authorization", f"Bearer {RPC_TOKEN}")]
    reply = await http.request(method, path, auth, PUBLISH if method == "POST" else b"", host=host)
    http.close()
    assert reply.status == 403, f"Host {host!r}: HTTP {reply.status}"
    assert sent_upstream(rig, before) == []


async def test_missing_host_is_refused(rig: Rig) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    auth = [("Authorization", f"Bearer {RPC_TOKEN}")]
    reply = await http.request("POST", "/rpc", auth, PUBLISH, host=None)
    http.close()
    assert reply.status in (400, 403)


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.nip.io", "localhost.evil"])
async def test_foreign_host_cannot_open_a_websocket(rig: Rig, host: str) -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(
                f"{rig.http_url}/rpc",
                headers={"Authorization": f"Bearer {RPC_TOKEN}", "Host": host},
            )
    assert refused.value.status == 403


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "127.0.0.1:8765", "localhost", "LOCALHOST:1", "[::1]:8765", "::1"]
)
async def test_loopback_hosts_are_served(rig: Rig, host: str) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    reply = await http.request("GET", "/health", host=host)
    http.close()
    assert reply.status == 200


@pytest.mark.parametrize(
    "host", ["localhost:evil", "127.0.0.1:8765@evil.example", "[::1]evil", "[::1].evil"]
)
async def test_host_with_junk_after_the_name_is_refused(rig: Rig, host: str) -> None:
    http = RawHttp("127.0.0.1", rig.port)
    reply = await http.request("GET", "/health", host=host)
    http.close()
    assert reply.status == 403
