"""The webhook can never take the descriptors the rest of the daemon needs: `mastod serve
--sandbox` (Web Push on, the webhook on loopback) started with a descriptor limit of 256
lowers the webhook's cap to fit, and a flood of connections to the webhook leaves the Unix
socket answering and the log free of accept errors."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import socket
import sys
from pathlib import Path

import yaml

from tests.daemon.conftest import Daemon, free_port

LIMIT = 256
FLOOD = 400


def limited() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, LIMIT))


async def spawn(tmp_path: Path) -> tuple[Daemon, int]:
    webhook_port = free_port()
    config = tmp_path / "sandbox.yaml"
    config.write_text(yaml.safe_dump({
        "rpc": {"unix_socket": str(tmp_path / "run" / "mastod.sock"),
                "http": {"host": "127.0.0.1", "port": free_port()},
                "token_file": str(tmp_path / "rpc.token")},
        "webhook": {"host": "127.0.0.1", "port": webhook_port, "read_timeout": 120},
        "log": {"format": "json"},
    }))  # fmt: skip
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.setblocking(False)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "mastod", "serve", "--config", str(config), "--sandbox",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NOTIFY_SOCKET": str(tmp_path / "notify.sock")},
        preexec_fn=limited,
    )  # fmt: skip
    daemon = Daemon(
        proc=proc,
        socket_path=tmp_path / "run" / "mastod.sock",
        http_url="",
        token_file=tmp_path / "rpc.token",
        notify=notify,
        config_path=config,
    )
    return daemon, webhook_port


async def test_a_webhook_flood_leaves_descriptors_for_the_rest(tmp_path: Path) -> None:
    daemon, port = await spawn(tmp_path)
    held: list[asyncio.StreamWriter] = []
    try:
        await daemon.notifications(until="READY=1")
        for _ in range(FLOOD):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:  # the listen backlog is full: the flood is as big as it gets
                break
            held.append(writer)
        answer = await daemon.call("status")
        assert answer["result"]["notifications"]["source"] == "push", answer
        published = await daemon.call("publish_status", {"status": "still here"})
        assert "result" in published, published
        for writer in held:
            writer.close()
        assert await daemon.stop() == 0
    finally:
        await daemon.close()
    events = [json.loads(line) for line in daemon.stderr_lines if line.startswith("{")]
    [lowered] = [e for e in events if e["event"] == "listener.cap_lowered"]
    assert (lowered["listener"], lowered["allowed"]) == ("webhook", LIMIT - 128)
    assert any(e["event"] == "listener.connections_capped" for e in events)
    text = "".join(daemon.stderr_lines)
    assert "out of system resource" not in text
    assert "Too many open files" not in text
