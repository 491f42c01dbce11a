"""JSON-RPC over a Unix socket: newline-delimited frames both ways, many requests per
connection answered as each completes. Access control is the socket file's mode (0660)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import socket
import stat
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from mastod.logs import get_logger
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.peers import CloseCallbacks
from mastod.rpc.slots import CallSlots
from mastod.rpc.wire import Frame, FrameTooLarge, encode, error_frame
from mastod.tasks import TaskSet

log = get_logger(__name__)

SOCKET_MODE = 0o660
PARENT_MODE = 0o750
_CHUNK = 64 * 1024
# Connections waiting to be accepted: asyncio would use 100, which a burst of local clients
# (a thousand subscribers connecting at once) overruns with EAGAIN. The kernel caps it at
# net.core.somaxconn.
BACKLOG = 1024


class SocketInUse(RuntimeError):
    """Another process is listening on the configured socket path."""


class UnixPeer:
    transport = "unix"

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.closers = CloseCallbacks()
        self._transport = writer.transport  # the hub writes per notification: kept at hand
        self._high_water = writer.transport.get_write_buffer_limits()[1]

    async def send(self, frame: str) -> None:
        await self.send_all(frame.encode() + b"\n")

    async def send_all(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionResetError("the connection is closed")
        self.writer.write(data)
        await self.writer.drain()

    def write_now(self, data: bytes) -> bool:
        """The hub's direct write (`WritesNow`): only while `drain()` would not wait."""
        transport = self._transport
        if transport.is_closing() or transport.get_write_buffer_size() >= self._high_water:
            return False
        transport.write(data)
        return True

    def on_close(self, callback: Callable[[], None]) -> None:
        self.closers.add(callback)

    async def close(self) -> None:
        """Close the connection once what is buffered is written; its read loop then ends
        and runs the close callbacks."""
        self.writer.close()


class UnixServer:
    def __init__(self, path: Path, dispatcher: Dispatcher, *, tasks: TaskSet) -> None:
        self.path = path
        self.dispatcher = dispatcher
        self.tasks = tasks
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}
        self._closing = False
        self._owns_path = True

    async def start(self, sock: socket.socket | None = None) -> None:
        """Listen on `self.path`, or on `sock`: a listening socket systemd passed us (socket
        activation), whose file systemd owns and removes, not us."""
        if sock is None:
            sock = _bind(self.path)
        else:
            self._owns_path = False
            self.path = Path(sock.getsockname())
        self._server = await asyncio.start_unix_server(self._serve, sock=sock, backlog=BACKLOG)

    async def stop_accepting(self) -> None:
        if self._server is not None:
            self._server.close()

    async def close(self) -> None:
        """Close listener and connections; remove the socket file."""
        self._closing = True  # a connection accepted but not yet served closes at once
        await self.stop_accepting()
        # Closing the transports ends each connection's read loop normally; cancelling the
        # handler tasks instead makes Python 3.11's asyncio log a spurious error.
        for writer in self._connections.values():
            writer.close()
        if self._connections:
            _, stuck = await asyncio.wait(list(self._connections), timeout=5)
            for task in stuck:
                task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            if self._owns_path and stat.S_ISSOCK(os.lstat(self.path).st_mode):
                self.path.unlink()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        peer = UnixPeer(writer)
        slots = CallSlots()
        dispatcher = self.dispatcher
        try:
            if self._closing:
                return
            async for frame in _frames(reader, dispatcher.frame_limit):
                try:
                    if frame is None:
                        raise FrameTooLarge(dispatcher.max_frame_bytes)
                    parsed = dispatcher.parse(frame)
                except FrameTooLarge as exc:
                    await peer.send(encode(error_frame(exc.error)))
                    continue
                taken = await slots.acquire(parsed.calls)
                self.tasks.spawn(self._answer(parsed, peer, slots, taken), name="rpc.unix")
            # The client finished sending (EOF): answer what it asked before closing.
            await slots.idle()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.pop(task, None)
            peer.closers.fire()  # the connection's subscriptions end with it
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _answer(self, frame: Frame, peer: UnixPeer, slots: CallSlots, taken: int) -> None:
        try:
            await self.dispatcher.answer(frame, peer)
        except (ConnectionError, OSError):
            pass
        finally:
            slots.release(taken)


async def _frames(reader: asyncio.StreamReader, limit: int) -> AsyncIterator[bytes | None]:
    """Yield each newline-terminated frame; None for one over `limit` (its bytes skipped).

    Blank lines are ignored. A final frame without a newline counts at end of stream.
    """
    buffer = bytearray()
    skipping = False
    while True:
        chunk = await reader.read(_CHUNK)
        if not chunk:
            if buffer.strip() and not skipping:
                yield bytes(buffer)
            return
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if skipping:
                skipping = False
            else:
                buffer += chunk[start:end]
                if len(buffer) > limit:
                    yield None
                elif buffer.strip():
                    yield bytes(buffer)
            buffer.clear()
            start = end + 1
        if not skipping:
            buffer += chunk[start:]
            if len(buffer) > limit:
                buffer.clear()
                skipping = True
                yield None


def _bind(path: Path) -> socket.socket:
    """A listening socket at `path`, mode 0660; a stale socket file is replaced."""
    parent = path.parent
    if not parent.exists():
        parent.mkdir(mode=PARENT_MODE, parents=True)
    _remove_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o117)  # never world-accessible, not even between bind and chmod
    try:
        sock.bind(str(path))
    except OSError:
        sock.close()
        raise
    finally:
        os.umask(old_umask)
    os.chmod(path, SOCKET_MODE)
    sock.listen(BACKLOG)
    sock.setblocking(False)
    return sock


def _remove_stale(path: Path) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise SocketInUse(f"{path} exists and is not a socket; refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError as exc:
        if exc.errno not in (errno.ECONNREFUSED, errno.ENOENT):
            raise
        path.unlink(missing_ok=True)
        log.info("unix.stale_socket_removed", path=str(path))
        return
    finally:
        probe.close()
    raise SocketInUse(f"{path} is in use by another process")
