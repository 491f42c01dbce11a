"""The store's faults, on real files: a full filesystem (a small tmpfs), a damaged file at
start, a file deleted or replaced while running; and retention giving disk space back."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from mastod.notify import retention, storefile
from mastod.notify.store import FILENAME, NotificationStore, StoreFailed, StoreUnavailable
from tests.notify.conftest import note
from tests.notify.filesystems import disk_use, fill, free, small_fs

PAGE = 4096


async def open_store(directory: Path, **options: float | int | None) -> NotificationStore:
    store = NotificationStore(directory, maintenance_interval=3600, **options)  # type: ignore[arg-type]
    await store.start()
    return store


def events(logs: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [entry for entry in logs if entry["event"] == name]


def add_until_full(store: NotificationStore, first: int) -> int:
    """Add notifications from id `first` until one fails; the id that failed."""
    for nid in range(first, first + 100_000):
        try:
            store.add(note(nid, pad=500))
        except StoreFailed as exc:
            reason = exc.reason
            break
    else:
        raise AssertionError("the filesystem never filled")
    assert reason == "disk full"
    return nid


def add_page(store: NotificationStore, notifications: list[dict[str, object]]) -> None:
    with store.transaction():
        for notification in notifications:
            store.add(notification)


async def test_a_full_disk_fails_writes_logs_once_and_recovers(tmp_path: Path) -> None:
    with small_fs(768) as mount, capture_logs() as logs:
        store = await open_store(mount / "state")
        for nid in range(1, 21):
            store.add(note(nid))
        fill(mount)
        failed_at = add_until_full(store, 21)
        assert store.problem == "disk full"
        stored_before = str(failed_at - 1)
        assert store.resume_id() == stored_before  # where fetching resumes
        for _ in range(50):  # each failure is one StoreFailed, not one log line
            with pytest.raises(StoreFailed):
                store.add(note(failed_at, pad=500))
        with pytest.raises(StoreFailed):
            add_page(store, [note(failed_at + 1, pad=500), note(failed_at + 2, pad=500)])
        assert not store.db.in_transaction  # rolled back, ready for the next one
        assert len(events(logs, "store.write_failed")) == 1
        assert not [e for e in logs if "exc_info" in e]

        free(mount)
        assert store.add(note(failed_at, pad=500)) is True
        assert store.problem is None
        assert len(events(logs, "store.recovered")) == 1
        # a later id stored meanwhile does not move the resume point past the gap
        assert store.resume_id() == stored_before
        store.faults.caught_up(store.faults.failures, None)
        assert store.resume_id() == str(failed_at)
        await store.close()


async def test_a_backfill_that_saw_a_new_failure_keeps_the_gap(tmp_path: Path) -> None:
    with small_fs(512) as mount:
        store = await open_store(mount / "state")
        store.add(note(1))
        fill(mount)
        failed_at = add_until_full(store, 2)
        began = store.faults.failures
        with pytest.raises(StoreFailed):
            store.add(note(failed_at + 1, pad=500))
        free(mount)
        store.add(note(failed_at + 2))
        store.faults.caught_up(began, None)  # a run that began before the last failure
        assert store.resume_id() == str(failed_at - 1)
        store.faults.caught_up(store.faults.failures, "5")  # a run that stopped at its page limit
        assert store.resume_id() == "5"
        await store.close()


async def test_a_store_on_a_full_disk_opens_and_serves_what_it_holds(tmp_path: Path) -> None:
    with small_fs(1024) as mount, capture_logs() as logs:
        state = mount / "state"
        store = await open_store(state)
        for nid in range(1, 31):
            store.add(note(nid))
        await store.close()  # a clean stop removes the -wal and -shm files
        fill(mount)
        store = await open_store(state)
        assert store.problem == "disk full"
        assert store.count() == 30
        assert [i for i, _ in store.since("28", None, 10)] == ["29", "30"]
        with pytest.raises(StoreFailed):
            store.add(note(31, pad=4000))
        free(mount)
        assert store.add(note(31)) is True
        assert store.problem is None
        await retention.maintain(store)  # checkpoints on its own connection (no -shm)
        await store.close()
        assert len(events(logs, "store.disk_full_at_start")) == 1
        store = await open_store(state)
        assert store.count() == 31
        await store.close()


async def test_a_full_disk_and_no_store_is_a_one_line_error(tmp_path: Path) -> None:
    with small_fs(256) as mount:
        (mount / "state").mkdir(mode=0o700)
        fill(mount)
        with pytest.raises(StoreUnavailable) as raised:
            await open_store(mount / "state")
        message = str(raised.value)
        assert "\n" not in message
        assert str(mount / "state" / FILENAME) in message
        assert "disk full; free space on the filesystem that holds it" in message


def corrupt_header(path: Path) -> None:
    with path.open("r+b") as f:
        f.write(b"this is not a SQLite file" * 4)


def truncate(path: Path) -> None:
    os.truncate(path, path.stat().st_size // 3)


def corrupt_page(path: Path) -> None:
    """Overwrite the b-tree header of the page holding notification 150."""
    data = path.read_bytes()
    offset = data.index(b'"id":"150"')
    page_start = offset - offset % PAGE
    with path.open("r+b") as f:
        f.seek(page_start)
        f.write(b"\xee" * 16)


@pytest.mark.parametrize("damage", [corrupt_header, truncate, corrupt_page])
async def test_a_damaged_store_is_moved_aside_and_a_fresh_one_started(
    tmp_path: Path, damage: object
) -> None:
    state = tmp_path / "state"
    store = await open_store(state)
    for nid in range(1, 301):
        store.add(note(nid, pad=300))
    await store.close()
    path = state / FILENAME
    assert callable(damage)
    damage(path)
    damaged_bytes = path.read_bytes()
    (state / (FILENAME + "-wal")).write_bytes(b"")  # left by a crash
    with capture_logs() as logs:
        store = await open_store(state)
    assert store.count() == 0
    assert store.problem is None
    [moved] = events(logs, "store.damaged")
    target = Path(str(moved["moved_to"]))
    assert target.name.startswith(FILENAME + ".corrupt-")
    assert target.read_bytes() == damaged_bytes
    if damage is corrupt_header:  # SQLite did not even read it: the -wal moved along with it
        assert target.with_name(target.name + "-wal").exists()
    assert not [e for e in logs if "exc_info" in e]
    store.add(note(1))
    await store.close()


async def test_a_store_deleted_while_running_is_kept_and_written_back(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = await open_store(state)
    for nid in range(1, 101):
        store.add(note(nid))
    path = state / FILENAME
    path.unlink()
    with capture_logs() as logs:
        await store.checkpoint()  # the inode check
        await store.checkpoint()
    assert store.faults.lost == "deleted"
    assert store.problem == "file deleted while running (the open store is kept)"
    assert not path.exists()  # never silently recreated
    assert len(events(logs, "store.file_lost")) == 1
    store.add(note(101))
    with capture_logs() as logs:
        await store.close()
    assert events(logs, "store.written_back")[0]["path"] == str(path)
    store = await open_store(state)
    assert store.count() == 101
    await store.close()


async def test_a_store_replaced_while_running_goes_next_to_the_new_file(tmp_path: Path) -> None:
    state = tmp_path / "state"
    store = await open_store(state)
    store.add(note(1))
    path = state / FILENAME
    other = await open_store(tmp_path / "backup")  # a backup put back under the same name
    other.add(note(7))
    await other.close()
    os.replace(tmp_path / "backup" / FILENAME, path)
    await store.checkpoint()
    assert store.faults.lost == "replaced"
    store.add(note(2))
    await store.close()
    [orphan] = state.glob(FILENAME + ".orphan-*")
    store = await open_store(state)
    assert [i for i, _ in store.since(None, None, 10)] == ["7"]
    await store.close()
    store = await open_store(orphan.parent / "restored")
    await store.close()
    os.replace(orphan, orphan.parent / "restored" / FILENAME)
    store = await open_store(orphan.parent / "restored")
    assert [i for i, _ in store.since(None, None, 10)] == ["1", "2"]
    await store.close()


async def test_pruned_after_names_what_retention_removed(tmp_path: Path) -> None:
    store = await open_store(tmp_path, max_rows=3, max_age=None)
    for nid in range(1, 11):
        store.add(note(nid))
    assert store.pruned_after("2") is None  # nothing pruned yet
    assert await retention.prune(store) == 7
    assert store.pruned_after("2") == "8"  # 3-7 are gone: the replay starts at 8
    assert store.pruned_after("6") == "8"
    assert store.pruned_after("7") is None  # everything after 7 is still there
    assert store.pruned_after("9") is None
    assert store.pruned_after("") is None  # "the whole log": what it holds
    await store.close()


async def test_retention_gives_disk_space_back(tmp_path: Path) -> None:
    """5,000 notifications of ~2.5 KB pruned to 500: the database file shrinks, the WAL is
    cut back to its limit."""
    state = tmp_path / "state"
    store = await open_store(state, max_rows=500, max_age=None)
    with store.transaction():
        for nid in range(1, 5001):
            store.add(note(nid, pad=2400))
    await store.checkpoint()
    main = state / FILENAME
    before, file_before = disk_use(state, FILENAME), main.stat().st_size
    await retention.maintain(store)
    after, file_after = disk_use(state, FILENAME), main.stat().st_size
    assert store.count() == 500
    assert file_after < file_before / 8, (file_before, file_after)
    assert after < before / 3, (before, after)
    assert (state / (FILENAME + "-wal")).stat().st_size <= storefile.WAL_LIMIT
    print(f"disk use {before} -> {after} bytes, the database file {file_before} -> {file_after}")
    await store.close()


async def test_an_old_store_is_converted_to_incremental_vacuum(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir()
    db = sqlite3.connect(state / FILENAME)
    db.execute("CREATE TABLE t (x)")  # made with auto_vacuum=NONE, as stores were before
    db.commit()
    db.close()
    store = await open_store(state)
    assert int(store.db.execute("PRAGMA auto_vacuum").fetchone()[0]) == storefile.INCREMENTAL
    store.add(note(1))
    assert await retention.vacuum(store) >= 0
    await store.close()
