"""`mastod serve --sandbox`, as the README's quickstart uses it: calls through `mastod call` and
socat, then the whole notification pipeline (sandbox Web Push -> webhook -> `mastod listen`)."""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml

from tests.daemon.conftest import Daemon, free_port, start_daemon


@pytest.fixture
async def sandboxed(tmp_path: Path) -> AsyncIterator[Daemon]:
    config = tmp_path / "sandbox.yaml"
    config.write_text(yaml.safe_dump({
        "rpc": {"unix_socket": str(tmp_path / "run" / "mastod.sock"),
                "http": {"host": "127.0.0.1", "port": free_port()},
                "token_file": str(tmp_path / "rpc.token")},
        "webhook": {"host": "127.0.0.1", "port": free_port()},
        "log": {"format": "json"},
    }))  # fmt: skip
    daemon = await start_daemon(tmp_path, config, extra_args=("--sandbox",))
    await daemon.notifications(until="READY=1")
    yield daemon
    assert await daemon.stop() == 0
    await daemon._pump
    daemon.notify.close()


async def cli(*args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mastod", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return out.decode()


async def test_quickstart_calls(sandboxed: Daemon) -> None:
    sock = str(sandboxed.socket_path)
    posted = json.loads(
        await cli(
            "call",
            "publish_status",
            "status=Hello from mastod",
            "visibility=public",
            "--socket",
            sock,
        )
    )
    timeline = json.loads(await cli("call", "get_home_timeline", "limit:=2", "--socket", sock))
    assert timeline[0]["id"] == posted["id"]
    assert timeline[0]["content"] == "<p>Hello from mastod</p>"
    if shutil.which("socat") is None:
        pytest.skip("socat is not installed")
    proc = await asyncio.create_subprocess_shell(
        'echo \'{"jsonrpc":"2.0","id":2,"method":"get_home_timeline",'
        f'"params":{{"limit":1}}}}\' | socat -t 10 - UNIX-CONNECT:{sock}',
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 30)
    assert json.loads(out)["result"][0]["id"] == posted["id"]


async def test_listen_shows_the_push_pipeline(sandboxed: Daemon, tmp_path: Path) -> None:
    status = (await sandboxed.call("status"))["result"]
    assert status["notifications"]["source"] == "push"
    listen = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mastod", "listen", "--socket", str(sandboxed.socket_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 15
        while (await sandboxed.call("status"))["result"]["subscribers"] < 1:
            assert loop.time() < deadline
            await asyncio.sleep(0.05)
        async with (
            aiohttp.ClientSession() as session,
            session.post(
                f"{status['instance']}/_sandbox/act",
                json={"actor": "bob", "action": "mention", "text": "@alice hi"},
            ) as response,
        ):
            made = (await response.json())["notifications"][0]
        assert listen.stdout is not None
        line = await asyncio.wait_for(listen.stdout.readline(), 20)
        printed = json.loads(line)
        assert (printed["id"], printed["type"]) == (made["id"], "mention")
        after = (await sandboxed.call("status"))["result"]["notifications"]
        assert after["pushes"]["accepted"] >= 1
    finally:
        listen.terminate()
        await listen.wait()
