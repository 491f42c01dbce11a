"""The notification log: every notification, stored before fan-out, deduplicated by id.

SQLite in WAL mode at `state_dir/notifications.sqlite3` (file 0600, directory created 0700).
Each row keeps the notification's JSON text as it was first serialised, so a replay sends it
as stored. Rows sort by Mastodon's id order (length, then lexical: "9" < "10" < "100") through
a stored sort key, and carry an arrival sequence (`seq`) that the hub uses to hand a replay
over to live delivery without a gap.

Durability: `synchronous=NORMAL`. In WAL mode a commit is then a write into the WAL file
without fsync: it survives the process being killed (SIGKILL, OOM, a crash), because the
bytes are already in the kernel's page cache; only power loss or a kernel crash can roll back
the last commits, and even then the next backfill asks Mastodon for everything after the
newest stored id. FULL adds an fsync to every commit, which would have to leave the event loop
and so open a window between the store write and the publish.

Under NORMAL an add() or a since() is short enough for the event loop (`tests/notify/
bench_store.py` measures it against FULL and a checkpoint), so add(), since() and newest_id()
run on the loop, which makes store-then-publish atomic with respect to a subscriber
registering for live delivery (hub.py relies on it), and what fsyncs (checkpoints, the final
one at close) runs in a worker thread; automatic checkpoints are off on the loop's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator, Mapping
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from mastod.jsontext import fast_dumps
from mastod.logs import get_logger
from mastod.notify import retention, storefile
from mastod.notify.faults import Faults, StoreFailed
from mastod.notify.storefile import Identity, StoreUnavailable
from mastod.tasks import TaskSet

log = get_logger(__name__)

__all__ = ["NotificationStore", "StoreFailed", "StoreUnavailable"]

FILENAME = "notifications.sqlite3"
MAX_ID_LENGTH = 255  # the sort key's length prefix has three digits
WAL_CUT_KEY = "store.wal_cut"  # written (with the time) to have the WAL cut back

_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    sort_key TEXT NOT NULL,
    type TEXT NOT NULL,
    stored_at REAL NOT NULL,
    json TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notifications_order ON notifications (sort_key);
CREATE INDEX IF NOT EXISTS notifications_age ON notifications (stored_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

Row = tuple[str, str]
"""(notification id, its JSON text)."""


def order_key(notification_id: str) -> str:
    """One string that sorts like Mastodon ids do: by length, then lexically."""
    if len(notification_id) > MAX_ID_LENGTH:
        raise ValueError(f"notification id longer than {MAX_ID_LENGTH} characters")
    return f"{len(notification_id):03d}{notification_id}"


def encode(notification: Mapping[str, Any]) -> str:
    """The JSON text stored and sent: compact, UTF-8, never with a raw newline (SSE-safe)."""
    try:
        return fast_dumps(notification)
    except TypeError:
        pass  # a value only the stdlib's rules decide (`mastod.jsontext`)
    return json.dumps(notification, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class NotificationStore:
    """The durable log. `start()` opens it; `close()` checkpoints and closes it.

    Retention (`retention.maintain`): at most `max_rows` rows and none stored more than
    `max_age` seconds ago (None: no age limit), pruned every `maintenance_interval` seconds.
    The newest row is never pruned: it is the cursor the next backfill starts from.

    Faults (`faults`, `problem` for `status` and `/health`): a failed write raises
    StoreFailed and opens a gap `resume_id` keeps until it is fetched again.
    """

    def __init__(
        self,
        state_dir: Path,
        *,
        max_rows: int = 10_000,
        max_age: float | None = 30 * 24 * 3600.0,
        maintenance_interval: float = 60.0,
    ) -> None:
        self.path = state_dir / FILENAME
        self.max_rows = max_rows
        self.max_age = max_age
        self.maintenance_interval = maintenance_interval
        self.faults = Faults(self.path)
        self._identity: Identity | None = None
        self.exclusive = False  # opened on a full disk: no -shm, checkpoints on the loop
        self._db: sqlite3.Connection | None = None
        self._tasks = TaskSet("notify.store")

    # -- lifecycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store; StoreUnavailable (one line) if it can be neither opened nor
        started afresh. A damaged file is moved aside first (storefile.prepare)."""
        try:
            await asyncio.to_thread(storefile.prepare, self.path)
            self._db = storefile.connect(self.path, _SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            if not storefile.disk_full(self.path):
                raise storefile.unavailable(self.path, exc) from None
            self._open_on_full_disk()
        self._identity = Identity.of(self.path)
        self._tasks.spawn(self._maintain(), name="notify.store.maintenance")
        log.info("store.opened", path=str(self.path), rows=self.count())

    def _open_on_full_disk(self) -> None:
        """Serve what is stored, and show the fault, rather than not start: an exclusive
        connection needs no -shm file; writes fail until there is room."""
        try:
            self._db = storefile.connect(self.path, _SCHEMA, exclusive=True)
        except (sqlite3.Error, OSError) as exc:
            raise storefile.unavailable(self.path, exc) from None
        self.exclusive = True
        self.faults.fault = "disk full"
        log.error(
            "store.disk_full_at_start",
            path=str(self.path),
            action=storefile.hint("disk full"),
            effect="stored notifications are served; new ones are fetched once there is room",
        )

    async def close(self) -> None:
        await self._tasks.cancel()
        db, self._db = self._db, None
        if db is not None:
            await asyncio.to_thread(storefile.close, db, self.path, self.faults.lost)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the notification store is not open")
        return self._db

    @property
    def problem(self) -> str | None:
        """What is wrong with the store, for `status` (None: nothing). Checks that the
        file is still there (one stat), as each checkpoint does."""
        self._file_lost()
        return self.faults.problem

    # -- writes ---------------------------------------------------------------------------

    def add(self, notification: Mapping[str, Any]) -> bool:
        """Store a notification entity; False when its id is already stored."""
        notification_id, type_ = str(notification["id"]), str(notification["type"])
        return self.add_text(notification_id, type_, encode(notification))

    def add_text(self, notification_id: str, type_: str, json_text: str) -> bool:
        """Store already serialised JSON under `notification_id`; False when it is a duplicate.

        StoreFailed if the write fails (inside `transaction()`, the transaction raises it)."""
        db = self.db
        single = not db.in_transaction
        try:
            cursor = db.execute(
                "INSERT INTO notifications (id, sort_key, type, stored_at, json)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (notification_id, order_key(notification_id), type_, time.time(), json_text),
            )
        except sqlite3.Error as exc:
            if not single:
                raise
            raise self._failed(exc) from None
        if single:
            self.faults.wrote()
        return cursor.rowcount == 1

    @contextlib.contextmanager
    def transaction(self, *, gap: bool = True) -> Iterator[None]:
        """One transaction around several writes (a backfilled page: one commit, not one
        per row); rolled back if the block raises. A failed write or commit raises
        StoreFailed (`gap`: the failure can leave notifications unstored)."""
        db = self.db
        try:
            db.execute("BEGIN")
            yield
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:  # SQLite rolls back by itself on some errors (SQLITE_FULL)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise self._failed(exc, gap=gap) from None
            raise
        self.faults.wrote()

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # -- failures -------------------------------------------------------------------------

    def _failed(self, exc: sqlite3.Error, *, gap: bool = True) -> StoreFailed:
        return self.faults.write_failed(exc, self.newest_id if gap else None)

    def resume_id(self) -> str | None:
        """Where fetching resumes: after a write failed, the newest id stored before it
        (until `faults.caught_up`), so a gap is never skipped; else the newest stored id."""
        gap = self.faults.gap
        return gap.after if gap is not None else self.newest_id()

    def pruned_after(self, since_id: str) -> str | None:
        """If retention deleted notifications newer than `since_id` that a replay from it
        would have sent (it is not stored, and older than the newest pruned): the oldest id
        still kept ("" if none); else None."""
        through = self.meta(retention.PRUNED_KEY)
        if not since_id or through is None or order_key(since_id) >= through:
            return None
        if self.db.execute("SELECT 1 FROM notifications WHERE id = ?", (since_id,)).fetchone():
            return None
        row = self.db.execute("SELECT id FROM notifications ORDER BY sort_key LIMIT 1").fetchone()
        return "" if row is None else str(row[0])

    # -- reads ----------------------------------------------------------------------------

    def newest_id(self) -> str | None:
        row = self.db.execute(
            "SELECT id FROM notifications ORDER BY sort_key DESC LIMIT 1"
        ).fetchone()
        return None if row is None else str(row[0])

    def count(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM notifications").fetchone()[0])

    def last_seq(self) -> int:
        """The arrival sequence number of the latest stored row (0 when none ever was)."""
        row = self.db.execute("SELECT max(seq) FROM notifications").fetchone()
        return int(row[0] or 0)

    def since(self, since_id: str | None, types: AbstractSet[str] | None, limit: int) -> list[Row]:
        """Up to `limit` stored notifications newer than `since_id` (all: None), oldest first."""
        after = "" if since_id is None else order_key(since_id)
        return self.page_by_id(after, types, limit, max_seq=None)

    def page_by_id(
        self, after_key: str, types: AbstractSet[str] | None, limit: int, *, max_seq: int | None
    ) -> list[Row]:
        """Rows whose sort key is above `after_key` (and seq at most `max_seq`), in id order."""
        sql = "SELECT id, json FROM notifications WHERE sort_key > ?"
        args: list[Any] = [after_key]
        if max_seq is not None:
            sql += " AND seq <= ?"
            args.append(max_seq)
        sql, args = _with_types(sql, args, types)
        sql += " ORDER BY sort_key LIMIT ?"
        return [(str(i), str(j)) for i, j in self.db.execute(sql, (*args, limit))]

    def page_by_seq(
        self,
        after_seq: int,
        types: AbstractSet[str] | None,
        limit: int,
        *,
        newer_than: str | None = None,
        through_seq: int = 0,
    ) -> list[tuple[int, str, str]]:
        """Rows stored after arrival number `after_seq`, in arrival order, as (seq, id, json).

        With `newer_than` (an order key), a row stored up to arrival `through_seq` counts only
        if its id sorts above it: a replay from an id the store does not hold.
        """
        sql = "SELECT seq, id, json FROM notifications WHERE seq > ?"
        args: list[Any] = [after_seq]
        if newer_than is not None:
            sql += " AND (seq > ? OR sort_key > ?)"
            args += [through_seq, newer_than]
        sql, args = _with_types(sql, args, types)
        sql += " ORDER BY seq LIMIT ?"
        return [(int(s), str(i), str(j)) for s, i, j in self.db.execute(sql, (*args, limit))]

    def seq_of(self, notification_id: str) -> int | None:
        """The arrival number of a stored notification; None if the store does not hold it."""
        row = self.db.execute(
            "SELECT seq FROM notifications WHERE id = ?", (notification_id,)
        ).fetchone()
        return None if row is None else int(row[0])

    def last_stored_id(self) -> str | None:
        """The id of the row stored last (not necessarily the newest id)."""
        row = self.db.execute("SELECT id FROM notifications ORDER BY seq DESC LIMIT 1").fetchone()
        return None if row is None else str(row[0])

    # -- checkpoints and the file ----------------------------------------------------------

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file (fsyncs), in a worker thread. Not when the
        file under the store's name is not the open store's: that would write another file."""
        if self._file_lost():
            return
        if self.exclusive:
            storefile.checkpoint_here(self.db)
            return
        await asyncio.to_thread(storefile.checkpoint, self.path, WAL_CUT_KEY)

    def _file_lost(self) -> bool:
        """Notice (once) that the store's file was deleted or replaced by another one."""
        faults = self.faults
        if faults.lost is None and self._identity is not None:
            faults.lost = storefile.lost(self.path, self._identity)
        return faults.lost is not None

    async def _maintain(self) -> None:
        while True:
            await asyncio.sleep(self.maintenance_interval)
            await retention.maintain(self)


def _with_types(sql: str, args: list[Any], types: AbstractSet[str] | None) -> tuple[str, list[Any]]:
    if types is None:
        return sql, args
    marks = ",".join("?" * len(types))
    return f"{sql} AND type IN ({marks})", [*args, *sorted(types)]
