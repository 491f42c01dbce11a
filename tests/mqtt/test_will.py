"""A real `mastod serve` against a broker that wants a password: `online` while it runs, the
broker's `offline` (the will) when it is killed, and the password in no log line; a wrong
password shows in `status` and the daemon serves RPC all the same."""

from __future__ import annotations

import signal
from pathlib import Path

import structlog

from mastod.sandbox import RunningSandbox
from tests.daemon.conftest import start_daemon as start_process
from tests.daemon.conftest import write_config
from tests.integration.conftest import start_daemon
from tests.mqtt.conftest import Broker, mqtt_client, next_message, require_mosquitto, wait_for

SECRET = "broker-pass-4b8e0c2d"
USERS = {"mastod": SECRET, "watcher": "watcher-pass"}


async def test_the_will_says_offline_when_the_daemon_is_killed(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    require_mosquitto()
    broker = Broker(tmp_path / "broker", users=USERS)
    await broker.start()
    password_file = tmp_path / "mqtt.password"
    password_file.write_text(SECRET + "\n")
    password_file.chmod(0o600)
    mqtt = {"url": broker.url, "username": "mastod", "password_file": str(password_file)}
    config = write_config(tmp_path, upstream.url, mqtt=mqtt)
    daemon = await start_process(tmp_path, config)
    try:
        await daemon.notifications(until="READY=1", timeout=60)
        async with mqtt_client(
            broker, "mastod/status", username="watcher", password=USERS["watcher"]
        ) as watcher:
            while (await next_message(watcher)).payload != b"online":
                pass
            assert (await daemon.stop(signal.SIGKILL)) == -signal.SIGKILL
            message = await next_message(watcher)
            assert (message.payload, str(message.topic)) == (b"offline", "mastod/status")
        async with mqtt_client(
            broker, "mastod/status", username="watcher", password=USERS["watcher"]
        ) as late:
            retained = await next_message(late)  # what a client arriving later learns
            assert (retained.payload, retained.retain) == (b"offline", True)
    finally:
        await daemon.close()
        await broker.stop()
    logs = "".join(daemon.stderr_lines)
    assert "mqtt.connected" in logs
    assert SECRET not in logs


async def test_a_wrong_password_shows_in_status(tmp_path: Path, upstream: RunningSandbox) -> None:
    require_mosquitto()
    broker = Broker(tmp_path / "broker", users=USERS)
    await broker.start()
    wrong = "not-" + SECRET
    password_file = tmp_path / "mqtt.password"
    password_file.write_text(wrong)
    password_file.chmod(0o600)
    mqtt = {"url": broker.url, "username": "mastod", "password_file": str(password_file)}
    try:
        with structlog.testing.capture_logs() as logs:
            rpc, runner = await start_daemon(tmp_path, upstream.url, {"mqtt": mqtt})
            try:
                await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["state"] == "disconnected")
                status = await rpc.call("status")  # served all the same
                assert "not authori" in status["mqtt"]["error"].lower()
            finally:
                await runner.cleanup()
        assert wrong not in repr(logs)
        assert len([e for e in logs if e["event"] == "mqtt.disconnected"]) == 1
    finally:
        await broker.stop()
