"""The daemon as a subprocess: its HTTP listener (`rpc.http.read_timeout`) closes a connection
that does not deliver its request in time, while a WebSocket, whose request arrived whole,
stays open however long it lasts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp

from tests.daemon.conftest import Upstream, free_port, start_daemon, write_config
from tests.waiting import closed_by_server


async def test_slow_requests_are_cut_and_long_streams_are_not(
    tmp_path: Path, upstream: Upstream
) -> None:
    port = free_port()
    http = {"host": "127.0.0.1", "port": port, "read_timeout": 0.5}
    config = write_config(
        tmp_path,
        upstream.url,
        rpc={
            "unix_socket": str(tmp_path / "run" / "mastod.sock"),
            "http": http,
            "token_file": str(tmp_path / "state" / "rpc.token"),
        },
    )
    daemon = await start_daemon(tmp_path, config)
    try:
        await daemon.notifications(until="READY=1")
        auth = {"Authorization": f"Bearer {daemon.rpc_token}"}
        async with aiohttp.ClientSession(headers=auth) as session:
            ws = await session.ws_connect(f"{daemon.http_url}/rpc")
            for partial in (b"", b"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n"):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(partial)
                assert await closed_by_server(reader) == b""  # cut, nothing answered
                writer.close()
            # the deadline has passed for those opened before: they are still served
            await ws.send_str(json.dumps({"jsonrpc": "2.0", "id": 7, "method": "status"}))
            answer = json.loads((await ws.receive()).data)
            assert answer["id"] == 7
            assert "result" in answer
            await ws.close()
            frame = {"jsonrpc": "2.0", "id": 1, "method": "get_status", "params": ["109"]}
            async with session.post(f"{daemon.http_url}/rpc", json=frame) as response:
                assert (await response.json())["result"]["id"] == "109"
        assert await daemon.stop() == 0
    finally:
        await daemon.close()
