"""`mastod listen` across a restart of the real daemon: it reconnects by itself and resumes
after the last notification it printed, so what arrived while the daemon was down is printed
once; `--once` exits instead."""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

import aiohttp

from mastod.sandbox import RunningSandbox
from tests.cli.conftest import BOUND, start
from tests.security.proc import Proc, daemon, layout, sandbox_with_token


async def mention(instance: RunningSandbox, text: str) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{instance.url}/_sandbox/act", json={"action": "mention", "text": text}
        ) as resp,
    ):
        assert resp.status == 200


async def next_notification(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), BOUND)
    assert line, "listen ended"
    return dict(json.loads(line))


async def subscribers(running: Proc, count: int) -> None:
    """Wait until the daemon has `count` subscribers."""
    async with asyncio.timeout(BOUND):
        while (await running.call("status"))["result"]["subscribers"] != count:
            await asyncio.sleep(0.05)


async def test_listen_reconnects_and_resumes_across_a_restart(tmp_path: Path) -> None:
    async with sandbox_with_token() as (instance, token):
        lay = layout(tmp_path, instance.url, token, notifications={"source": "streaming"})
        socket = str(lay.socket_path)
        async with daemon(lay) as first_daemon:
            listen = await start("listen", "--socket", socket, as_user=False)
            once = await start("listen", "--once", "--socket", socket, as_user=False)
            await subscribers(first_daemon, 2)
            await mention(instance, "before the restart")
            first = await next_notification(listen)
            assert "before the restart" in first["status"]["content"]
            await next_notification(once)
        # the daemon is down: --once ends, listen waits; a mention arrives meanwhile
        _, err = await asyncio.wait_for(once.communicate(), BOUND)
        assert once.returncode == 1
        assert err.decode() == "mastod listen: the daemon closed the connection\n"
        await mention(instance, "while it was down")
        async with daemon(lay) as second_daemon:
            await subscribers(second_daemon, 1)
            missed = await next_notification(listen)
            assert "while it was down" in missed["status"]["content"]
            await mention(instance, "after the restart")
            after = await next_notification(listen)
            assert "after the restart" in after["status"]["content"]
            listen.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(listen.communicate(), BOUND)
        assert int(first["id"]) < int(missed["id"]) < int(after["id"])
        assert listen.returncode == 128 + signal.SIGTERM
        assert err.decode().splitlines() == [
            "mastod listen: the daemon closed the connection; reconnecting",
            "mastod listen: reconnected",
        ]
