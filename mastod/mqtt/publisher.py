"""Every stored notification, once, on `<prefix>/notification/<type>`, in the order stored.

The bridge is a subscriber of the notification log like any socket client: it subscribes to
the hub with `since_id` = the last notification the broker acknowledged, so the hub replays
what it missed (a broker outage, a daemon restart) and then goes live. That id is written to
`state_dir` after each acknowledgement: a notification is published again only if the broker
took it and the acknowledgement was lost with the connection (QoS 1 is at-least-once; QoS 2
makes even that impossible).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiomqtt

from mastod.logs import get_logger
from mastod.mqtt.connection import Link
from mastod.mqtt.topics import Topics
from mastod.notify.hub import Hub
from mastod.notify.store import MAX_ID_LENGTH

log = get_logger(__name__)

POSITION_FILE = "mqtt-position"
_DROPPED = ""  # the frame the hub sends when this subscriber fell behind


class Position:
    """The id of the last notification the broker acknowledged, kept in `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / POSITION_FILE
        self.last: str | None = self._read()

    def _read(self) -> str | None:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            log.warning("mqtt.position_unreadable", path=str(self.path), error=str(exc))
            return None
        if len(text) > MAX_ID_LENGTH or not text.isprintable():
            log.warning("mqtt.position_invalid", path=str(self.path))
            return None
        return text

    def begin(self, newest_id: str | None) -> None:
        """On the bridge's first start: publish what is stored from now on (not the history),
        including what arrives before the broker is first reached."""
        if self.last is None:
            self.save(newest_id or "")

    def save(self, notification_id: str) -> None:
        """Replace the file whole (a crash leaves the old id or the new one, never half).
        No fsync: the id must survive the daemon, and a daemon crash keeps what was written;
        a power loss may republish the last few, which QoS 1 allows anyway."""
        temporary = self.path.with_name(f".{POSITION_FILE}.tmp")
        temporary.write_text(notification_id + "\n", encoding="utf-8")
        os.replace(temporary, self.path)
        self.last = notification_id


class MqttFrames:
    """What the hub hands this subscriber: the notification's JSON as stored (the payload)."""

    def notification(self, subscription: str, notification_id: str, json_text: str) -> str:
        return json_text

    def dropped(self, subscription: str, since_id: str) -> str:
        return _DROPPED


FRAMES = MqttFrames()


class NotificationPeer:
    """The hub's subscriber: publishes each frame and waits for the broker's acknowledgement
    before the next (the hub sends them one at a time), then moves the position."""

    transport = "mqtt"

    def __init__(
        self, client: aiomqtt.Client, topics: Topics, qos: int, position: Position, link: Link
    ) -> None:
        self.client = client
        self.topics = topics
        self.qos = qos
        self.position = position
        self.link = link
        self.failure: aiomqtt.MqttError | None = None
        self.fell_behind = False

    async def send(self, frame: str) -> None:
        if frame == _DROPPED:
            self.fell_behind = True
            return
        notification = json.loads(frame)
        topic = self.topics.notification(str(notification.get("type", "")))
        try:
            await self.client.publish(topic, frame.encode(), qos=self.qos)
        except aiomqtt.MqttError as exc:
            self.failure = exc
            raise ConnectionError("the broker connection failed") from exc
        self.position.save(str(notification["id"]))
        self.link.published += 1


async def publish_notifications(
    client: aiomqtt.Client, hub: Hub, topics: Topics, qos: int, position: Position, link: Link
) -> None:
    """Publish from the position on, until the connection fails (raises `MqttError`)."""
    while True:
        peer = NotificationPeer(client, topics, qos, position, link)
        sub_id = hub.subscribe(peer, None, position.last, frames=FRAMES)
        writer = hub.writer(sub_id)
        try:
            if writer is not None:
                await asyncio.wait({writer})
        finally:
            hub.drop_peer(peer)
        if peer.failure is not None:
            raise peer.failure
        if not peer.fell_behind:
            raise aiomqtt.MqttError("the notification subscription ended")
        # the broker is slower than notifications arrive: resume from what it acknowledged
        log.info("mqtt.resuming", since_id=position.last)
