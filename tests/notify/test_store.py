"""The notification log: dedupe, Mastodon id order, WAL, file modes, reopening, retention."""

from __future__ import annotations

import os
import random
import sqlite3
import stat
import time
from pathlib import Path

import pytest

from mastod.notify import retention
from mastod.notify.store import NotificationStore, encode, order_key
from tests.notify.conftest import note, until

IDS = ["100", "9", "10", "99", "1000", "11", "109999999999999999"]
IN_ORDER = ["9", "10", "11", "99", "100", "1000", "109999999999999999"]


async def open_store(directory: Path, **options: float | int | None) -> NotificationStore:
    store = NotificationStore(directory, maintenance_interval=3600, **options)  # type: ignore[arg-type]
    await store.start()
    return store


async def test_duplicate_ids_are_stored_once(store: NotificationStore) -> None:
    assert store.add(note(5)) is True
    assert store.add(note(5, "follow")) is False
    assert store.add_text("5", "mention", "{}") is False
    assert store.count() == 1
    assert store.since(None, None, 10) == [("5", encode(note(5)))]


async def test_mastodon_id_order_length_then_lexical(store: NotificationStore) -> None:
    shuffled = IDS[:]
    random.Random(4).shuffle(shuffled)
    for nid in shuffled:
        store.add(note(nid))
    assert [i for i, _ in store.since(None, None, 100)] == IN_ORDER
    assert [i for i, _ in store.since("10", None, 100)] == IN_ORDER[2:]
    assert [i for i, _ in store.since("99", None, 2)] == ["100", "1000"]
    assert [i for i, _ in store.since("8", None, 1)] == ["9"]
    assert store.since("109999999999999999", None, 10) == []
    assert store.newest_id() == "109999999999999999"
    assert order_key("9") < order_key("10") < order_key("99") < order_key("a0") < order_key("100")


async def test_since_filters_types_and_keeps_the_json_text(store: NotificationStore) -> None:
    kinds = ["mention", "follow", "favourite", "follow", "mention"]
    for nid, kind in enumerate(kinds, start=1):
        store.add(note(nid, kind))
    rows = store.since("1", {"follow", "mention"}, 10)
    assert [i for i, _ in rows] == ["2", "4", "5"]
    assert rows[0][1] == encode(note(2, "follow"))
    assert [i for i, _ in store.since(None, {"favourite"}, 10)] == ["3"]


async def test_wal_mode_normal_sync_and_private_files(tmp_path: Path) -> None:
    directory = tmp_path / "state" / "mastod"
    store = await open_store(directory)
    store.add(note(1))
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    other = sqlite3.connect(store.path)
    assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    other.close()
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    files = [store.path, *(store.path.with_name(store.path.name + s) for s in ("-wal", "-shm"))]
    assert all(f.exists() for f in files)
    assert {stat.S_IMODE(os.stat(f).st_mode) for f in files} == {0o600}
    await store.close()


async def test_an_existing_file_is_made_private(tmp_path: Path) -> None:
    tmp_path.joinpath("notifications.sqlite3").touch(mode=0o644)
    store = await open_store(tmp_path)
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    await store.close()


async def test_reopening_keeps_everything(tmp_path: Path) -> None:
    store = await open_store(tmp_path)
    for nid in IDS:
        store.add(note(nid, pad=50))
    store.set_meta("backfill.baseline", "7")
    before = store.since(None, None, 100)
    await store.close()
    again = await open_store(tmp_path)
    assert again.since(None, None, 100) == before
    assert again.meta("backfill.baseline") == "7"
    assert again.add(note("10")) is False
    assert again.last_seq() == len(IDS)
    await again.close()


async def test_pages_by_id_and_by_arrival(store: NotificationStore) -> None:
    for nid in ["5", "3", "9", "4"]:
        store.add(note(nid))
    assert [i for i, _ in store.page_by_id(order_key("3"), None, 10, max_seq=3)] == ["5", "9"]
    assert [(s, i) for s, i, _ in store.page_by_seq(2, None, 10)] == [(3, "9"), (4, "4")]
    assert [i for _, i, _ in store.page_by_seq(0, None, 2)] == ["5", "3"]


async def test_retention_by_rows_keeps_the_newest_ids(tmp_path: Path) -> None:
    store = await open_store(tmp_path, max_rows=3, max_age=None)
    shuffled = IDS[:]
    random.Random(1).shuffle(shuffled)
    for nid in shuffled:
        store.add(note(nid))
    assert await retention.prune(store) == len(IDS) - 3
    assert [i for i, _ in store.since(None, None, 10)] == IN_ORDER[-3:]
    await store.close()


async def test_retention_by_age_never_drops_the_newest(tmp_path: Path) -> None:
    store = await open_store(tmp_path, max_rows=1000, max_age=60.0)
    for nid in IDS:
        store.add(note(nid))
    assert await retention.prune(store, now=time.time()) == 0
    assert await retention.prune(store, now=time.time() + 3600) == len(IDS) - 1
    assert store.newest_id() == IN_ORDER[-1]
    assert store.count() == 1
    await store.close()


async def test_pruning_runs_in_the_background(tmp_path: Path) -> None:
    store = NotificationStore(tmp_path, max_rows=2, max_age=None, maintenance_interval=0.01)
    await store.start()
    for nid in range(1, 251):
        store.add(note(nid))
    await until(lambda: store.count() == 2)
    assert store.since(None, None, 10)[0][0] == "249"
    await store.close()


async def test_ids_longer_than_the_sort_key_allows_are_refused(store: NotificationStore) -> None:
    with pytest.raises(ValueError, match="longer than 255"):
        store.add(note("1" * 256))
    assert store.count() == 0
