"""The three RPC transports behind one interface for the fuzzers: send a frame, get what came
back (or nothing, when nothing is due), and make a well-formed `status` call."""

from __future__ import annotations

import itertools
import json
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import aiohttp

from tests.fuzz.clients import LineClient, RawHttp, bounded
from tests.fuzz.garbage import as_line
from tests.fuzz.oracle import Expect
from tests.fuzz.rig import Rig

_probe_ids = itertools.count(1)


class Transport(Protocol):
    name: str
    blank_ignored: bool  # a blank frame gets no answer (the Unix socket's documented rule)

    def prepare(self, frame: bytes) -> bytes:
        """The frame as this transport carries it (the oracle judges these bytes)."""
        ...

    async def exchange(self, frame: bytes, want: Expect) -> Any:
        """Send `frame` (from `prepare`); the parsed answer, or None when none is due."""
        ...

    async def probe(self) -> None:
        """A well-formed `status` call on the same connection succeeds."""
        ...

    async def close(self) -> None: ...


def check_status_answer(answer: Any, id_: str) -> None:
    assert isinstance(answer, dict), f"status: not an object: {answer!r:.300}"
    assert answer.get("id") == id_, f"status: wrong or stray reply: {answer!r:.300}"
    assert "result" in answer, f"status failed: {answer!r:.300}"
    assert isinstance(answer["result"].get("version"), str)


def status_frame() -> tuple[str, bytes]:
    id_ = f"probe-{next(_probe_ids)}"
    return id_, json.dumps({"jsonrpc": "2.0", "id": id_, "method": "status"}).encode()


class UnixTransport:
    name = "unix"
    blank_ignored = True

    def __init__(self, client: LineClient) -> None:
        self.client = client

    @classmethod
    async def open(cls, rig: Rig) -> UnixTransport:
        return cls(await LineClient.connect(rig.socket_path))

    def prepare(self, frame: bytes) -> bytes:
        return as_line(frame)

    async def exchange(self, frame: bytes, want: Expect) -> Any:
        await self.client.send(frame + b"\n")
        if not want.answered:
            return None
        return await self.client.recv(f"unix frame {frame[:200]!r}")

    async def probe(self) -> None:
        id_, frame = status_frame()
        await self.client.send(frame + b"\n")
        check_status_answer(await self.client.recv("status"), id_)

    async def close(self) -> None:
        rest = await self.client.finish()
        assert rest == [], f"stray replies at the end: {rest!r:.500}"


class HttpTransport:
    name = "http"
    blank_ignored = False

    def __init__(self, rig: Rig) -> None:
        self.http = RawHttp("127.0.0.1", rig.port)
        self.auth = [("Authorization", f"Bearer {rig.token}"), ("Content-Type", "application/json")]

    @classmethod
    async def open(cls, rig: Rig) -> HttpTransport:
        return cls(rig)

    def prepare(self, frame: bytes) -> bytes:
        return frame

    async def exchange(self, frame: bytes, want: Expect) -> Any:
        reply = await self.http.request("POST", "/rpc", self.auth, frame)
        where = f"HTTP body {frame[:200]!r}"
        if not want.answered:
            assert (reply.status, reply.body) == (204, b""), f"{where}: {reply.status}"
            return None
        assert reply.status == 200, f"{where}: HTTP {reply.status} {reply.body[:300]!r}"
        assert reply.headers.get("content-type", "").startswith("application/json"), where
        return reply.json()

    async def probe(self) -> None:
        id_, frame = status_frame()
        reply = await self.http.request("POST", "/rpc", self.auth, frame)
        assert reply.status == 200, f"status over HTTP: {reply.status}"
        check_status_answer(reply.json(), id_)

    async def close(self) -> None:
        self.http.close()


class WsTransport:
    name = "websocket"
    blank_ignored = False

    def __init__(self, session: aiohttp.ClientSession, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.session = session
        self.ws = ws
        self.sent = 0

    @classmethod
    async def open(cls, rig: Rig) -> WsTransport:
        session = aiohttp.ClientSession()
        ws = await session.ws_connect(
            f"{rig.http_url}/rpc",
            headers={"Authorization": f"Bearer {rig.token}"},
            max_msg_size=1 << 26,
            autoping=True,
        )
        return cls(session, ws)

    def prepare(self, frame: bytes) -> bytes:
        return frame

    async def exchange(self, frame: bytes, want: Expect) -> Any:
        self.sent += 1
        try:
            text = frame.decode("utf-8")
        except UnicodeDecodeError:
            await self.ws.send_bytes(frame)  # invalid UTF-8 can only travel as binary
        else:
            if self.sent % 3:
                await self.ws.send_str(text)
            else:
                await self.ws.send_bytes(frame)
        if not want.answered:
            return None
        return await self.recv(f"WebSocket message {frame[:200]!r}")

    async def recv(self, what: str) -> Any:
        while True:
            msg = await bounded(what, self.ws.receive())
            assert msg.type == aiohttp.WSMsgType.TEXT, f"{what}: got {msg.type!r} {msg.data!r}"
            answer = json.loads(msg.data)
            if isinstance(answer, dict) and "method" in answer and "id" not in answer:
                continue  # a subscription's notification
            return answer

    async def probe(self) -> None:
        id_, frame = status_frame()
        await self.ws.send_str(frame.decode())
        check_status_answer(await self.recv("status"), id_)

    async def close(self) -> None:
        await self.ws.close()
        await self.session.close()


OPENERS: dict[str, Callable[[Rig], Awaitable[Transport]]] = {
    "unix": UnixTransport.open,
    "http": HttpTransport.open,
    "websocket": WsTransport.open,
}


async def open_transport(name: str, rig: Rig) -> Transport:
    transport: Transport = await OPENERS[name](rig)
    return transport
