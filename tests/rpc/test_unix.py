"""The Unix-socket transport over a real socket."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest

from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.unix import SocketInUse, UnixServer
from mastod.tasks import TaskSet


async def open_conn(server: UnixServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_unix_connection(str(server.path), limit=1 << 20)


async def read_frame(reader: asyncio.StreamReader) -> Any:
    return json.loads(await asyncio.wait_for(reader.readline(), 5))


async def test_socket_file_is_private(unix_server: UnixServer) -> None:
    mode = os.stat(unix_server.path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o660
    assert stat.S_IMODE(os.stat(unix_server.path.parent).st_mode) == 0o750


async def test_hundred_concurrent_requests_on_one_connection(unix_server: UnixServer) -> None:
    reader, writer = await open_conn(unix_server)
    frames = b"".join(
        json.dumps({"jsonrpc": "2.0", "id": i, "method": "add", "params": [i, 1000]}).encode()
        + b"\n"
        for i in range(100)
    )
    writer.write(frames)
    await writer.drain()
    answers = [await read_frame(reader) for _ in range(100)]
    assert sorted(a["id"] for a in answers) == list(range(100))
    assert all(a["result"] == a["id"] + 1000 for a in answers)
    writer.close()


async def test_slow_call_does_not_hold_up_a_fast_one(unix_server: UnixServer) -> None:
    reader, writer = await open_conn(unix_server)
    slow = {"jsonrpc": "2.0", "id": "slow", "method": "slow", "params": [0.5, "s"]}
    fast = {"jsonrpc": "2.0", "id": "fast", "method": "add", "params": [1, 2]}
    writer.write(json.dumps(slow).encode() + b"\n" + json.dumps(fast).encode() + b"\n")
    first = await read_frame(reader)
    second = await read_frame(reader)
    assert (first["id"], second["id"]) == ("fast", "slow")
    writer.close()


async def test_batch_and_notification_over_the_socket(unix_server: UnixServer) -> None:
    reader, writer = await open_conn(unix_server)
    writer.write(b'{"jsonrpc":"2.0","method":"count"}\n')
    writer.write(b'[{"jsonrpc":"2.0","id":1,"method":"count"},{"jsonrpc":"2.0","method":"x"}]\n')
    answer = await read_frame(reader)
    assert answer == [{"jsonrpc": "2.0", "result": 2, "id": 1}]
    writer.close()


async def test_oversized_frame_is_refused_and_connection_survives(
    unix_server: UnixServer,
) -> None:
    reader, writer = await open_conn(unix_server)
    big = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "echo", "params": ["x" * 10_000]})
    writer.write(big.encode() + b"\n")
    writer.write(b'{"jsonrpc":"2.0","id":2,"method":"add","params":[2,2]}\n')
    refused = await read_frame(reader)
    assert refused["error"]["code"] == -32600
    assert "larger than 4096 bytes" in refused["error"]["message"]
    assert (await read_frame(reader)) == {"jsonrpc": "2.0", "result": 4, "id": 2}
    writer.close()


async def test_garbage_gets_parse_error_and_next_call_works(unix_server: UnixServer) -> None:
    reader, writer = await open_conn(unix_server)
    writer.write(b'\xff\xfe garbage\n\n   \n{"jsonrpc":"2.0","id":7,"method":"add","params":[1]}\n')
    assert (await read_frame(reader))["error"]["code"] == -32700
    assert (await read_frame(reader))["result"] == 1
    writer.close()


async def test_last_frame_without_newline_is_answered(unix_server: UnixServer) -> None:
    reader, writer = await open_conn(unix_server)
    writer.write(b'{"jsonrpc":"2.0","id":1,"method":"add","params":[5]}')
    writer.write_eof()
    assert (await read_frame(reader))["result"] == 5
    writer.close()


async def test_stale_socket_is_replaced(tmp_path: Path, dispatcher: Dispatcher) -> None:
    path = tmp_path / "stale.sock"
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(str(path))
    leftover.close()  # the file stays, nobody listens: what a crash leaves behind
    tasks = TaskSet("t")
    server = UnixServer(path, dispatcher, tasks=tasks)
    await server.start()
    reader, writer = await asyncio.open_unix_connection(str(path))
    writer.write(b'{"jsonrpc":"2.0","id":1,"method":"add","params":[1,1]}\n')
    assert (await read_frame(reader))["result"] == 2
    writer.close()
    await server.close()
    assert not path.exists()


async def test_socket_in_use_is_refused(unix_server: UnixServer, dispatcher: Dispatcher) -> None:
    other = UnixServer(unix_server.path, dispatcher, tasks=TaskSet("t"))
    with pytest.raises(SocketInUse, match="in use"):
        await other.start()
    assert unix_server.path.exists()


async def test_regular_file_is_never_replaced(tmp_path: Path, dispatcher: Dispatcher) -> None:
    path = tmp_path / "not-a-socket"
    path.write_text("precious")
    server = UnixServer(path, dispatcher, tasks=TaskSet("t"))
    with pytest.raises(SocketInUse, match="not a socket"):
        await server.start()
    assert path.read_text() == "precious"


async def test_close_ends_connections_and_removes_the_socket_file(
    unix_server: UnixServer,
) -> None:
    reader, writer = await open_conn(unix_server)
    writer.write(b'{"jsonrpc":"2.0","id":1,"method":"add","params":[1]}\n')
    assert (await read_frame(reader))["result"] == 1
    await unix_server.close()
    assert not unix_server.path.exists()
    assert await reader.read() == b""
    writer.close()


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is not installed")
async def test_shell_one_liner_with_socat(unix_server: UnixServer) -> None:
    proc = await asyncio.create_subprocess_shell(
        f'echo \'{{"jsonrpc":"2.0","id":1,"method":"add","params":[40,2]}}\' '
        f"| socat -t 5 - UNIX-CONNECT:{unix_server.path}",
        stdout=subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert json.loads(out) == {"jsonrpc": "2.0", "result": 42, "id": 1}


async def test_a_burst_of_connections_waits_in_the_backlog(unix_server: UnixServer) -> None:
    # No await between the connects: the server accepts none of them meanwhile, so each one
    # must fit in the listen backlog (asyncio's default of 100 answered EAGAIN from the 101st:
    # a thousand subscribers connecting at once failed).
    socks: list[socket.socket] = []
    writers: list[asyncio.StreamWriter] = []
    try:
        for _ in range(300):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            socks.append(sock)
            sock.setblocking(False)
            assert sock.connect_ex(str(unix_server.path)) == 0
        for sock in (socks.pop(0), socks.pop()):  # the first and the last are served
            reader, writer = await asyncio.open_unix_connection(sock=sock)
            writers.append(writer)
            writer.write(b'{"jsonrpc":"2.0","id":7,"method":"status"}\n')
            assert (await read_frame(reader))["id"] == 7
    finally:
        for sock in socks:
            sock.close()
        for writer in writers:
            writer.close()
            await writer.wait_closed()
