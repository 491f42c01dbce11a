"""The daemon as a subprocess: uploads of FIFOs (which used to park every thread of the default
executor for good) are refused at once; an upstream call by host name (its DNS lookup runs on
that executor) still answers, and SIGTERM still ends the daemon."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path
from typing import Any

from tests.daemon.conftest import Daemon, Upstream, start_daemon, write_config

FIFOS = 12


async def upload(daemon: Daemon, path: Path) -> dict[str, Any]:
    reader, writer = await asyncio.open_unix_connection(str(daemon.socket_path))
    frame = {"jsonrpc": "2.0", "id": 1, "method": "upload_media", "params": {"file": str(path)}}
    writer.write(json.dumps(frame).encode() + b"\n")
    answer: dict[str, Any] = json.loads(await asyncio.wait_for(reader.readline(), 30))
    writer.close()
    return answer


async def test_fifo_uploads_leave_upstream_calls_and_sigterm_working(
    tmp_path: Path, upstream: Upstream
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    for index in range(FIFOS):
        os.mkfifo(uploads / f"pipe{index}")
    by_name = upstream.url.replace("127.0.0.1", "localhost")
    config = write_config(tmp_path, by_name, media={"upload_dirs": [str(uploads)]})
    daemon = await start_daemon(tmp_path, config)
    try:
        await daemon.notifications(until="READY=1")
        answers = await asyncio.gather(
            *(upload(daemon, uploads / f"pipe{i}") for i in range(FIFOS))
        )
        assert [a["error"]["code"] for a in answers] == [-32602] * FIFOS
        assert all("regular file" in a["error"]["message"] for a in answers)
        answer = await daemon.call("get_status", {"status_id": "109"})
        assert answer["result"]["id"] == "109"
        assert await daemon.stop(signal.SIGTERM) == 0
    finally:
        await daemon.close()
