"""The bridge as a subscriber of the notification log, with a real store, hub and broker:
a burst larger than its queue (the hub drops it; it resumes from what the broker
acknowledged) and a restart of the bridge (it resumes from the position in `state_dir`)
each deliver every notification once, in the order stored."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
import structlog

from mastod.config import load_config
from mastod.mqtt.bridge import MqttBridge
from mastod.mqtt.publisher import Position
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.registry import Registry
from tests.mqtt.conftest import Broker, mqtt_client, next_message, wait_for

BASE = {"mastodon": {"base_url": "https://social.example"}}


def notification(number: int) -> dict[str, Any]:
    return {
        "id": str(number),
        "type": ("mention", "favourite", "follow")[number % 3],
        "created_at": "2026-12-06T12:00:00.000Z",
        "account": {"id": "7", "username": "bob", "acct": "bob@elsewhere.example"},
    }


@pytest.fixture
async def log_parts(tmp_path: Path) -> AsyncIterator[tuple[NotificationStore, Hub, Intake]]:
    store = NotificationStore(tmp_path / "state")
    await store.start()
    hub = Hub(store, queue_size=2)  # the bridge falls behind as soon as a burst comes
    await hub.start()
    yield store, hub, Intake(store, hub)
    await hub.close()
    await store.close()


def make_bridge(broker: Broker, hub: Hub, state_dir: Path) -> MqttBridge:
    config = load_config(None, env={}, overrides={**BASE, "mqtt": {"url": broker.url}})
    assert config.mqtt is not None
    return MqttBridge(
        config.mqtt,
        hub=hub,
        dispatcher=Dispatcher(Registry()),
        position=Position(state_dir),
        status=lambda: {"notifications": {"state": "connected"}},
        account=lambda: None,
        base_url=config.mastodon.base_url,
        max_frame_bytes=1 << 20,
    )


async def received(client: aiomqtt.Client, count: int) -> list[str]:
    return [json.loads((await next_message(client)).payload)["id"] for _ in range(count)]


async def test_falling_behind_and_restarting_lose_and_double_nothing(
    tmp_path: Path, broker: Broker, log_parts: tuple[NotificationStore, Hub, Intake]
) -> None:
    store, hub, intake = log_parts
    async with mqtt_client(broker, "mastod/notification/+") as watcher:
        bridge = make_bridge(broker, hub, tmp_path / "state")
        await bridge.start()
        try:
            await intake.ingest(notification(1))
            assert await received(watcher, 1) == ["1"]  # the bridge's subscription is live
            with structlog.testing.capture_logs() as logs:
                # 29 in one step: the bridge takes them (20 in flight, then it waits for the
                # broker's acknowledgements); 30 more while it waits overflow its queue of 2
                await intake.ingest_many([notification(n) for n in range(2, 31)])
                for _ in range(3):
                    await asyncio.sleep(0)
                await intake.ingest_many([notification(n) for n in range(31, 61)])
                assert await received(watcher, 59) == [str(n) for n in range(2, 61)]
            assert any(e["event"] == "mqtt.resuming" for e in logs)
            await wait_for(lambda: bridge.position.last == "60")
        finally:
            await bridge.close()
        await intake.ingest_many([notification(n) for n in range(61, 66)])  # bridge down
        again = make_bridge(broker, hub, tmp_path / "state")
        assert again.position.last == "60"
        await again.start()
        try:
            assert await received(watcher, 5) == [str(n) for n in range(61, 66)]
            await wait_for(lambda: again.state()["published"] == 5)
        finally:
            await again.close()
        assert watcher.messages.__len__() == 0  # nothing more queued: no duplicate
    assert store.newest_id() == "65"
