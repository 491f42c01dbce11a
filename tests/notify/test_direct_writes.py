"""How the hub hands notifications to a connection: what is pending leaves in one write of
about BATCH_BYTES, at once while the connection has room; a connection that makes it wait
gets the rest, in order, after the wait; the queue stays bounded meanwhile, and an overflow
ends the subscription with `dropped` after what was handed over."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from structlog.testing import capture_logs

from mastod.logs import Logger, get_logger
from mastod.mastodon.shaping import shape
from mastod.notify.frames import BATCH_BYTES, JSON_RPC
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore, encode
from tests.notify.conftest import note, until


class Peer:
    """A byte-stream connection that records each write: `accepts` says whether it has room
    now; `release`, when set, is what an awaited write waits for."""

    transport = "test"

    def __init__(self) -> None:
        self.accepts = True
        self.release: asyncio.Event | None = None
        self.writes: list[list[str]] = []  # taken at once
        self.sent: list[list[str]] = []  # written after a wait
        self.handed: list[str] = []  # every frame, in the order it was handed over

    def write_now(self, data: bytes) -> bool:
        if not self.accepts:
            return False
        frames = lines(data)
        self.writes.append(frames)
        self.handed += frames
        return True

    async def send(self, frame: str) -> None:
        await self.send_all(frame.encode() + b"\n")

    async def send_all(self, data: bytes) -> None:
        frames = lines(data)
        self.sent.append(frames)
        self.handed += frames
        if self.release is not None:
            await self.release.wait()

    def ids(self) -> list[str]:
        """Ids of the notifications handed over, in order."""
        return [
            json.loads(f)["params"]["notification"]["id"]
            for f in self.handed
            if json.loads(f)["method"] == "notification"
        ]


def lines(data: bytes) -> list[str]:
    """Frames of a byte write: whole lines, each one JSON text."""
    assert data.endswith(b"\n")
    frames = data.decode().split("\n")[:-1]
    for frame in frames:
        json.loads(frame)
    return frames


async def test_a_page_reaches_each_subscriber_in_one_write(hub: Hub, intake: Intake) -> None:
    peers = [Peer() for _ in range(3)]
    for peer in peers:
        hub.subscribe(peer)
    assert await intake.ingest_many([note(1), note(2, "follow"), note(3)]) == 3
    await until(lambda: all(p.writes for p in peers))
    for peer in peers:
        assert len(peer.writes) == 1
        assert peer.ids() == ["1", "2", "3"]
        assert peer.sent == []


async def test_a_connection_that_makes_it_wait_gets_the_rest_in_order_after_the_wait(
    hub: Hub, intake: Intake
) -> None:
    peer = Peer()
    sub_id = hub.subscribe(peer)
    peer.accepts, peer.release = False, asyncio.Event()
    await intake.ingest_many([note(1), note(2), note(3)])
    await until(lambda: peer.sent != [])  # the page went out; its write waits
    peer.accepts = True  # room again, but 4 must not overtake the wait
    await intake.ingest(note(4))
    await intake.ingest(note(5))
    for _ in range(5):  # steps enough for a write that would overtake
        await asyncio.sleep(0)
    assert peer.ids() == ["1", "2", "3"]
    assert hub.queued(sub_id) == 2
    peer.release.set()
    await until(lambda: len(peer.ids()) == 5)
    assert peer.ids() == ["1", "2", "3", "4", "5"]
    assert peer.sent == [peer.handed[:3]]
    assert peer.writes == [peer.handed[3:]]  # what queued during the wait: one write
    await intake.ingest(note(6))
    await until(lambda: len(peer.writes) == 2)
    assert peer.ids()[-1] == "6"


@pytest.mark.parametrize("queue_size", [4])
async def test_an_overflow_during_a_wait_sends_dropped_after_what_was_handed_over(
    hub: Hub, intake: Intake
) -> None:
    peer = Peer()
    sub_id = hub.subscribe(peer)
    peer.accepts, peer.release = False, asyncio.Event()
    await intake.ingest_many([note(1), note(2)])
    await until(lambda: peer.sent != [])
    for nid in range(3, 7):
        await intake.ingest(note(nid))
        assert (hub.queued(sub_id) or 0) <= 4
    assert hub.queued(sub_id) == 4
    done = hub.finished(sub_id)
    assert done is not None
    await intake.ingest(note(7))  # the fifth while it waits: the queue is full
    assert hub.queued(sub_id) is None
    assert hub.subscriber_count == 0
    peer.release.set()
    await done.wait()
    assert peer.ids() == ["1", "2"]
    assert json.loads(peer.handed[-1]) == {
        "jsonrpc": "2.0",
        "method": "dropped",
        "params": {"subscription": sub_id, "since_id": "2"},
    }


@pytest.mark.parametrize("queue_size", [4])
async def test_an_overflow_before_delivery_starts_waits_for_it(hub: Hub, intake: Intake) -> None:
    await intake.ingest(note(1))
    peer = Peer()
    sub_id = hub.subscribe(peer, start=False)  # its answer is not sent yet
    done = hub.finished(sub_id)
    assert done is not None
    for nid in range(2, 7):
        await intake.ingest(note(nid))
    assert hub.subscriber_count == 0
    assert peer.handed == []  # nothing before the answer, not even `dropped`
    hub.start_delivery(sub_id)
    await done.wait()
    assert [json.loads(f) for f in peer.handed] == [
        {"jsonrpc": "2.0", "method": "dropped", "params": {"subscription": sub_id, "since_id": "1"}}
    ]


async def test_a_connection_that_fails_ends_its_subscription(hub: Hub, intake: Intake) -> None:
    class Broken(Peer):
        def write_now(self, data: bytes) -> bool:
            raise OSError("gone")

    peer = Broken()
    sub_id = hub.subscribe(peer)
    done = hub.finished(sub_id)
    assert done is not None
    with capture_logs() as logs:
        await intake.ingest(note(1))
        await done.wait()
    assert hub.subscriber_count == 0
    assert peer.handed == []
    assert any(e["event"] == "hub.peer_gone" for e in logs)
    await intake.ingest(note(2))  # nobody left to send it to; nothing breaks


async def test_a_page_is_stored_in_one_transaction(
    store: NotificationStore, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_transaction: list[bool] = []
    real_add = store.add_text

    def add_text(notification_id: str, type_: str, json_text: str) -> bool:
        in_transaction.append(store.db.in_transaction)
        return real_add(notification_id, type_, json_text)

    monkeypatch.setattr(store, "add_text", add_text)
    assert await intake.ingest_many([note(i) for i in range(1, 6)]) == 5
    assert in_transaction == [True] * 5
    assert not store.db.in_transaction
    assert store.count() == 5
    assert await intake.ingest_many([note(5), note(6)]) == 1  # the duplicate is skipped
    assert (intake.ingested, intake.duplicates) == (6, 1)


async def test_a_failing_row_costs_only_itself(
    store: NotificationStore, intake: Intake, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_add = store.add_text

    def add_text(notification_id: str, type_: str, json_text: str) -> bool:
        if notification_id == "2":
            raise ValueError("cannot store this one")
        return real_add(notification_id, type_, json_text)

    monkeypatch.setattr(store, "add_text", add_text)
    with capture_logs() as logs:
        assert await intake.ingest_many([note(1), note(2), note(3)]) == 2
    assert [e["event"] for e in logs] == ["intake.batch_failed", "intake.failed"]
    assert [row[0] for row in store.page_by_id("", None, 10, max_seq=None)] == ["1", "3"]


def test_a_level_that_is_off_builds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    logging.getLogger("mastod.test_levels").setLevel(logging.WARNING)
    log = get_logger("mastod.test_levels")
    with capture_logs() as logs:
        log.debug("not.built")
        log.info("not.built")
        log.warning("kept", detail=1)
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            log.exception("failed")
    assert [(e["event"], e["log_level"]) for e in logs] == [
        ("kept", "warning"),
        ("failed", "error"),
    ]
    assert logs[1]["exc_info"] is True

    def reached(_: Logger) -> None:
        raise AssertionError("structlog was reached for a level that is off")

    monkeypatch.setattr(Logger, "_log", property(reached))
    log.info("not.built")


async def test_a_write_holds_about_batch_bytes(hub: Hub, intake: Intake) -> None:
    peer = Peer()
    hub.subscribe(peer)
    page = [note(i, pad=BATCH_BYTES // 3) for i in range(1, 8)]
    await intake.ingest_many(page)
    await until(lambda: len(peer.ids()) == 7)
    assert peer.ids() == [str(i) for i in range(1, 8)]
    assert [len(b) for b in peer.writes] == [2, 2, 2, 1]
    assert all(sum(map(len, b)) < BATCH_BYTES * 1.1 for b in peer.writes)


def test_byte_frames_are_the_text_frames_encoded() -> None:
    entity = note(7)
    entity["status"]["content"] = '<p>héllo ✓ \u2028 "quoted" \\ back</p>'
    text = encode(shape(entity))
    sub = "0123456789abcdef"
    line = JSON_RPC.line_head(sub) + JSON_RPC.line_tail(text)
    assert line == (JSON_RPC.notification(sub, "7", text) + "\n").encode()
    assert json.loads(line)["params"]["notification"]["status"]["content"].startswith("<p>hé")
