"""Every stored notification, once, on `<prefix>/notification/<type>`, in the order stored.

The bridge is a subscriber of the notification log like any socket client: it subscribes to
the hub with `since_id` = the last notification the broker acknowledged, so the hub replays
what it missed (a broker outage, a daemon restart) and then goes live. That id is written to
`state_dir` after each acknowledgement: a notification is published again only if it was in
flight when the connection dropped (the broker may have taken it; each connection is a new
session, so at any QoS that one case is at-least-once).
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import aiomqtt

from mastod.logs import get_logger
from mastod.mqtt.connection import Link, failure_of
from mastod.mqtt.topics import Topics
from mastod.notify.hub import Hub
from mastod.notify.store import MAX_ID_LENGTH
from mastod.tasks import TaskSet

log = get_logger(__name__)

POSITION_FILE = "mqtt-position"
RECORD = 4 * MAX_ID_LENGTH + 4  # bytes: the longest id in UTF-8 and a newline, space-padded
# Publishes awaiting the broker's acknowledgement: paho's own in-flight limit (more would
# wait in its queue), and few enough that a broker outage repeats little (what was in flight
# is published again, QoS 1 being at-least-once).
WINDOW = 20
FIRST = asyncio.FIRST_COMPLETED
_DROPPED = ""  # the frame the hub sends when this subscriber fell behind
_PRUNED = "\x00pruned"  # retention deleted part of what it asked for: the replay goes on
_FAILED = "\x00failed"  # the store could not be read: the subscription ends


class Position:
    """The id of the last notification the broker acknowledged, kept in `state_dir`."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / POSITION_FILE
        self.last: str | None = self._read()
        self._fd: int | None = None

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
        """Overwrite the file's one fixed-size record in place: a single write, which a
        daemon crash cannot tear, and no rename per notification (renames cost metadata
        I/O that throttled the bridge on a busy disk: `python -m bench --suite mqtt`).
        No fsync: the id must survive the daemon, and a daemon crash keeps what was
        written; a power loss may republish the last few, which QoS 1 allows anyway."""
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        os.pwrite(self._fd, (notification_id + "\n").encode().ljust(RECORD, b" "), 0)
        self.last = notification_id

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class MqttFrames:
    """What the hub hands this subscriber: the notification's JSON as stored (the payload)."""

    def notification(self, subscription: str, notification_id: str, json_text: str) -> str:
        return json_text

    def dropped(self, subscription: str, since_id: str) -> str:
        return _DROPPED

    def pruned(self, subscription: str, since_id: str, oldest_id: str) -> str:
        return _PRUNED

    def failed(self, subscription: str, since_id: str) -> str:
        return _FAILED


FRAMES = MqttFrames()


class NotificationPeer:
    """The hub's subscriber. Publishes are pipelined (up to `WINDOW` awaiting the broker's
    acknowledgement, in the order stored: the client sends them in the order they are
    made); `acknowledge` takes the acknowledgements in that same order and moves the
    position past each, so it never passes a notification the broker did not take."""

    transport = "mqtt"

    def __init__(
        self, client: aiomqtt.Client, topics: Topics, qos: int, position: Position, link: Link
    ) -> None:
        self.client = client
        self.topics = topics
        self.qos = qos
        self.position = position
        self.link = link
        self.fell_behind = False
        self.tasks = TaskSet("mqtt.publish")
        self._inflight: asyncio.Queue[tuple[str, asyncio.Task[aiomqtt.MqttError | None]]] = (
            asyncio.Queue()
        )
        self._room = asyncio.Semaphore(WINDOW)

    async def send(self, frame: str) -> None:
        if frame == _DROPPED:
            self.fell_behind = True
            return
        if frame == _PRUNED:
            log.warning("mqtt.pruned", since_id=self.position.last)
            return
        if frame == _FAILED:  # the subscription ends; the bridge subscribes again later
            return
        notification = json.loads(frame)
        topic = self.topics.notification(str(notification.get("type", "")))
        await self._room.acquire()
        publish = self.client.publish(topic, frame.encode(), qos=self.qos)
        task = self.tasks.spawn(failure_of(publish), name="mqtt.publish")
        self._inflight.put_nowait((str(notification["id"]), task))

    async def acknowledge(self) -> None:
        """Move the position past each publish the broker acknowledged, in order; raises
        `MqttError` when one failed (the connection is gone)."""
        while True:
            notification_id, task = await self._inflight.get()
            await asyncio.wait({task})
            if task.cancelled():
                raise aiomqtt.MqttError("publishing was cancelled")
            failure = task.result()
            if failure is not None:
                raise failure
            self.position.save(notification_id)
            self.link.published += 1
            self._room.release()
            self._inflight.task_done()

    async def drain(self) -> None:
        """Wait until every publish made so far is acknowledged (with `acknowledge` running)."""
        await self._inflight.join()


async def publish_notifications(
    client: aiomqtt.Client, hub: Hub, topics: Topics, qos: int, position: Position, link: Link
) -> None:
    """Publish from the position on, until the connection fails (raises `MqttError`)."""
    while True:
        peer = NotificationPeer(client, topics, qos, position, link)
        sub_id = hub.subscribe(peer, None, position.last, frames=FRAMES)
        finished = hub.finished(sub_id)
        ended = None if finished is None else peer.tasks.spawn(finished.wait(), name="mqtt.sub")
        acker = peer.tasks.spawn(failure_of(peer.acknowledge()), name="mqtt.acknowledge")
        try:
            await asyncio.wait({acker, *([ended] if ended else [])}, return_when=FIRST)
            if not acker.done():  # the subscription ended: the hub dropped us, or it is closing
                drained = peer.tasks.spawn(peer.drain(), name="mqtt.drain")
                await asyncio.wait({acker, drained}, return_when=FIRST)
            if acker.done():
                raise acker.result() or aiomqtt.MqttError("acknowledgements stopped")
        finally:
            hub.drop_peer(peer)
            await peer.tasks.cancel()
        if not peer.fell_behind:
            raise aiomqtt.MqttError("the notification subscription ended")
        # the broker is slower than notifications arrive: resume from what it acknowledged
        log.info("mqtt.resuming", since_id=position.last)
