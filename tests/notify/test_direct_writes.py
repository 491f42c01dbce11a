"""The hub's direct writes: idle subscriptions on a connection that takes frames without
waiting (the Unix socket) are written to by the hub itself, a page in one write; anything
else goes through the subscription's writer, in order."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from structlog.testing import capture_logs

from mastod.logs import get_logger
from mastod.mastodon.shaping import shape
from mastod.notify.frames import BATCH_BYTES, JSON_RPC
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore, encode
from tests.notify.conftest import note, until


class Peer:
    """A connection that records direct writes and awaited sends."""

    transport = "test"

    def __init__(self) -> None:
        self.accepts = True
        self.writes: list[list[str]] = []
        self.sent: list[list[str]] = []  # what the writer sent, a list per write
        self.handed: list[str] = []  # every frame, in the order it was handed over
        self.send_delay = 0.0

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
        await asyncio.sleep(self.send_delay)
        frames = lines(data)
        self.sent.append(frames)
        self.handed += frames

    def ids(self) -> list[str]:
        """Ids delivered either way, in the order they were handed over."""
        return [json.loads(f)["params"]["notification"]["id"] for f in self.handed]


def lines(data: bytes) -> list[str]:
    """Frames of a byte write: whole lines, each one JSON text."""
    assert data.endswith(b"\n")
    frames = data.decode().split("\n")[:-1]
    for frame in frames:
        json.loads(frame)
    return frames


async def idle(hub: Hub, sub_id: str) -> None:
    """Let the new subscription's writer reach its wait."""
    await until(lambda: hub._subs[sub_id].idle)


async def test_a_page_reaches_an_idle_subscriber_in_one_write(hub: Hub, intake: Intake) -> None:
    peers = [Peer() for _ in range(3)]
    for peer in peers:
        await idle(hub, hub.subscribe(peer))
    assert await intake.ingest_many([note(1), note(2, "follow"), note(3)]) == 3
    await until(lambda: all(p.writes for p in peers))
    for peer in peers:
        assert len(peer.writes) == 1
        assert peer.ids() == ["1", "2", "3"]
        assert peer.sent == []


async def test_a_connection_that_would_wait_gets_its_frames_from_the_writer(
    hub: Hub, intake: Intake
) -> None:
    peer = Peer()
    sub_id = hub.subscribe(peer)
    await idle(hub, sub_id)
    sub = hub._subs[sub_id]
    peer.accepts, peer.send_delay = False, 0.2
    await intake.ingest_many([note(1), note(2), note(3)])
    await until(lambda: not sub.idle and not sub.pending)  # the writer is sending the page
    peer.accepts = True
    await intake.ingest(note(4))  # it must not overtake 1-3: it waits for the writer
    await until(lambda: len(peer.ids()) == 4)
    assert peer.ids() == ["1", "2", "3", "4"]
    assert peer.sent == [peer.handed[:3], peer.handed[3:]]  # the page went in one write
    assert peer.writes == []
    assert sub.position == "4"
    peer.send_delay = 0.0
    await idle(hub, sub_id)
    await intake.ingest(note(5))  # idle again: written directly
    await until(lambda: peer.writes != [])
    assert peer.ids() == ["1", "2", "3", "4", "5"]
    assert sub.position == "5"


async def test_a_failing_direct_write_leaves_it_to_the_writer(hub: Hub, intake: Intake) -> None:
    class Broken(Peer):
        def write_now(self, data: bytes) -> bool:
            raise OSError("gone")

    peer = Broken()
    await idle(hub, hub.subscribe(peer))
    with capture_logs() as logs:
        await intake.ingest(note(1))
        await until(lambda: peer.sent != [])
    assert peer.ids() == ["1"]
    assert any(e["event"] == "hub.write_failed" for e in logs)


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
    monkeypatch.setattr(log, "_log", None)  # structlog is not reached at all
    log.info("not.built")


async def test_a_write_holds_about_batch_bytes(hub: Hub, intake: Intake) -> None:
    peer = Peer()
    await idle(hub, hub.subscribe(peer))
    page = [note(i, pad=BATCH_BYTES // 3) for i in range(1, 8)]
    await intake.ingest_many(page)
    await until(lambda: len(peer.ids()) == 7)
    assert peer.ids() == [str(i) for i in range(1, 8)]
    batches = peer.writes + peer.sent  # the first by the hub, the rest by the writer
    assert [len(b) for b in batches] == [2, 2, 2, 1]
    assert all(sum(map(len, b)) < BATCH_BYTES * 1.1 for b in batches)


def test_byte_frames_are_the_text_frames_encoded() -> None:
    entity = note(7)
    entity["status"]["content"] = '<p>héllo ✓ \u2028 "quoted" \\ back</p>'
    text = encode(shape(entity))
    sub = "0123456789abcdef"
    line = JSON_RPC.line_head(sub) + JSON_RPC.line_tail(text)
    assert line == (JSON_RPC.notification(sub, "7", text) + "\n").encode()
    assert json.loads(line)["params"]["notification"]["status"]["content"].startswith("<p>hé")
