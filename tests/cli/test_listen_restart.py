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


async def missed_then_live(
    instance: RunningSandbox, listen: asyncio.subprocess.Process
) -> tuple[dict[str, Any], dict[str, Any], tuple[bytes, bytes]]:
    """After the restart: listen prints the mention made while the daemon was down, then a
    new one; then it is stopped (SIGTERM). Both notifications and what listen wrote after."""
    missed = await next_notification(listen)
    assert "while it was down" in missed["status"]["content"]
    await mention(instance, "after the restart")
    after = await next_notification(listen)
    assert "after the restart" in after["status"]["content"]
    listen.send_signal(signal.SIGTERM)
    return missed, after, await asyncio.wait_for(listen.communicate(), BOUND)


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
            missed, after, (_, err) = await missed_then_live(instance, listen)
        assert int(first["id"]) < int(missed["id"]) < int(after["id"])
        assert listen.returncode == 128 + signal.SIGTERM
        assert err.decode().splitlines() == [
            "mastod listen: the daemon closed the connection; reconnecting",
            "mastod listen: reconnected",
        ]


async def connected(running: Proc) -> None:
    async with asyncio.timeout(BOUND):
        while (await running.call("status"))["result"]["notifications"]["state"] != "connected":
            await asyncio.sleep(0.05)


async def stored(running: Proc, text: str) -> None:
    """Wait until the daemon's log holds a notification whose status says `text` (a
    subscription replaying the whole log gets it)."""
    reader, writer = await asyncio.open_unix_connection(str(running.layout.socket_path))
    try:
        frame = {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"since_id": ""}}
        writer.write(json.dumps(frame).encode() + b"\n")
        while True:
            message = json.loads(await asyncio.wait_for(reader.readline(), BOUND))
            notification = message.get("params", {}).get("notification", {})
            if text in notification.get("status", {}).get("content", ""):
                return
    finally:
        writer.close()


async def test_a_listener_that_printed_nothing_misses_nothing_across_a_restart(
    tmp_path: Path,
) -> None:
    async with sandbox_with_token() as (instance, token):
        lay = layout(tmp_path, instance.url, token, notifications={"source": "streaming"})
        socket = str(lay.socket_path)
        async with daemon(lay) as first_daemon:
            await connected(first_daemon)  # (a mention before its first catch-up is history)
            await mention(instance, "before the listener")
            await stored(first_daemon, "before the listener")
            listen = await start("listen", "--socket", socket, as_user=False)
            await subscribers(first_daemon, 1)
            # the listener sleeps through the restart, so that it subscribes again only once
            # the second daemon has stored what arrived meanwhile: a live-only subscription
            # would never see it
            listen.send_signal(signal.SIGSTOP)
        await mention(instance, "while it was down")
        async with daemon(lay) as second_daemon:
            await stored(second_daemon, "while it was down")
            listen.send_signal(signal.SIGCONT)
            _, _, (out, _) = await missed_then_live(instance, listen)
        assert out == b""  # nothing more: the one stored before it subscribed is not replayed
        assert listen.returncode == 128 + signal.SIGTERM
