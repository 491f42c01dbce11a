"""Minimal clients that send exactly the bytes a fuzzer made: newline-delimited frames on
the Unix socket, raw HTTP/1.1 (keep-alive, any method, path and headers) over TCP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.fuzz.support import HANG_BOUND


class Hang(AssertionError):
    """No answer within `HANG_BOUND` seconds."""


async def bounded(what: str, awaitable: Any) -> Any:
    try:
        return await asyncio.wait_for(awaitable, HANG_BOUND)
    except TimeoutError:
        raise Hang(f"no answer within {HANG_BOUND}s: {what}") from None


class LineClient:
    """One connection to the daemon's Unix socket."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.pushed: list[Any] = []  # server-initiated messages (subscriptions), set aside

    @classmethod
    async def connect(cls, path: Path) -> LineClient:
        reader, writer = await asyncio.open_unix_connection(str(path), limit=1 << 26)
        return cls(reader, writer)

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def recv(self, what: str = "a reply") -> Any:
        """The next reply frame (parsed); `None` at end of stream."""
        while True:
            line = await bounded(what, self.reader.readline())
            if not line:
                return None
            assert line.endswith(b"\n"), f"a reply frame without its newline: {line[:200]!r}"
            answer = json.loads(line)
            if isinstance(answer, dict) and "method" in answer and "id" not in answer:
                self.pushed.append(answer)
                continue
            return answer

    async def finish(self) -> list[Any]:
        """Half-close, then every remaining reply until the daemon closes the connection."""
        self.writer.write_eof()
        rest: list[Any] = []
        while (answer := await self.recv("the replies after EOF")) is not None:
            rest.append(answer)
        self.writer.close()
        return rest

    def close(self) -> None:
        self.writer.close()


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]
    body: bytes
    closed: bool = False

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RawHttp:
    """HTTP/1.1 over one keep-alive TCP connection (reopened when the server closes it)."""

    host: str
    port: int
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    connections: int = field(default=0)

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(
                self.host, self.port, limit=1 << 26
            )
            self.connections += 1
        return self.reader, self.writer

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(
        self,
        method: str | bytes,
        target: str | bytes,
        headers: Sequence[tuple[str | bytes, str | bytes]] = (),
        body: bytes = b"",
        *,
        host: str | bytes | None = "127.0.0.1",
        content_length: bool = True,
    ) -> HttpReply:
        """Send one request; a kept-alive connection the server closed meanwhile is reopened
        once. `HttpReply.status` is 0 when the server closed without answering."""
        head = bytearray()
        head += _b(method) + b" " + _b(target) + b" HTTP/1.1\r\n"
        if host is not None:
            head += b"Host: " + _b(host) + b"\r\n"
        for name, value in headers:
            head += _b(name) + b": " + _b(value) + b"\r\n"
        if content_length:
            head += b"Content-Length: " + str(len(body)).encode() + b"\r\n"
        head += b"\r\n"
        is_head = method in ("HEAD", b"HEAD")
        for attempt in range(2):
            reused = self.writer is not None
            reader, writer = await self._open()
            writer.write(bytes(head) + body)
            try:
                await writer.drain()
                reply: HttpReply = await bounded(
                    f"{method!r} {target!r:.100}", self._read(reader, head=is_head)
                )
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                reply = HttpReply(0, {}, b"", closed=True)
            if reply.status or not reused or attempt:
                return reply
        raise AssertionError("unreachable")

    async def _read(self, reader: asyncio.StreamReader, *, head: bool = False) -> HttpReply:
        status_line = await reader.readline()
        if not status_line:
            self.close()
            return HttpReply(0, {}, b"", closed=True)
        parts = status_line.split(b" ", 2)
        assert parts[0].startswith(b"HTTP/1."), f"not an HTTP response: {status_line!r:.200}"
        status = int(parts[1])
        headers: dict[str, str] = {}
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if head or status in (204, 304) or 100 <= status < 200:
            body = bytearray()  # no body, whatever the headers say
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = bytearray()
            while True:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    await reader.readline()
                    break
                body += await reader.readexactly(size)
                await reader.readexactly(2)
        elif "content-length" in headers:
            body = bytearray(await reader.readexactly(int(headers["content-length"])))
        else:
            body = bytearray(await reader.read())
        # aiohttp closes after answering a request it could not parse, without saying so
        closed = headers.get("connection", "").lower() == "close" or status == 400
        if closed:
            self.close()
        return HttpReply(status, headers, bytes(body), closed)


def _b(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")
