"""Retention (`notifications.retention`): at most `max_rows` notifications, none older than
`max_age`, and the disk space they took given back.

Everything runs on the event loop in short steps that yield between them, so a large prune
never holds up a call: rows are deleted `PRUNE_BATCH` at a time (oldest id first, never the
newest: it is where the next backfill starts), then free pages are handed back
`VACUUM_PAGES` at a time (`auto_vacuum=INCREMENTAL`), and the next checkpoint truncates the
database file and cuts the WAL back to `storefile.WAL_LIMIT`. The newest id ever pruned is
kept, so a `subscribe` whose `since_id` is older learns that part of what it asked for is gone
(`NotificationStore.pruned_after`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from typing import TYPE_CHECKING

from mastod.logs import get_logger
from mastod.notify import storefile
from mastod.notify.faults import StoreFailed

if TYPE_CHECKING:
    from mastod.notify.store import NotificationStore

log = get_logger(__name__)

PRUNE_BATCH = 25  # rows per DELETE: keeps each write short on the loop
VACUUM_PAGES = 16  # pages given back per incremental_vacuum step, for the same reason
PRUNED_KEY = "retention.pruned_through"  # sort key of the newest notification ever pruned


def prune_step(store: NotificationStore, now: float | None = None) -> int:
    """Delete at most PRUNE_BATCH rows that retention rules out, in one transaction with the
    pruned-through mark; how many were deleted."""
    with store.transaction(gap=False):
        deleted = _batch(store, now)
        if deleted:
            newest = max(deleted)  # sort keys order as Mastodon ids do
            through = store.meta(PRUNED_KEY)
            if through is None or newest > through:
                store.set_meta(PRUNED_KEY, newest)
    return len(deleted)


def _batch(store: NotificationStore, now: float | None) -> list[str]:
    """Sort keys of the rows deleted: those older than max_age first, else the excess."""
    db = store.db
    if store.max_age is not None:
        cutoff = (time.time() if now is None else now) - store.max_age
        rows = db.execute(
            "DELETE FROM notifications WHERE seq IN (SELECT seq FROM notifications"
            " WHERE stored_at < ? AND sort_key < (SELECT max(sort_key) FROM notifications)"
            " ORDER BY sort_key LIMIT ?) RETURNING sort_key",
            (cutoff, PRUNE_BATCH),
        ).fetchall()
        if rows:
            return [str(r[0]) for r in rows]
    excess = min(store.count() - store.max_rows, PRUNE_BATCH)
    if excess <= 0:
        return []
    rows = db.execute(
        "DELETE FROM notifications WHERE seq IN"
        " (SELECT seq FROM notifications ORDER BY sort_key LIMIT ?) RETURNING sort_key",
        (excess,),
    ).fetchall()
    return [str(r[0]) for r in rows]


async def prune(store: NotificationStore, now: float | None = None) -> int:
    """Apply retention in batches, yielding to the loop between them; rows deleted."""
    deleted = 0
    while batch := prune_step(store, now):
        deleted += batch
        await asyncio.sleep(0)
    return deleted


async def vacuum(store: NotificationStore) -> int:
    """Hand free pages back in small steps, yielding between them; how many. A store that
    predates incremental vacuum (not converted yet: no room for the VACUUM) keeps them.
    sqlite3.Error propagates (the maintenance task counts it as a store fault)."""
    db = store.db
    if int(db.execute("PRAGMA auto_vacuum").fetchone()[0]) != storefile.INCREMENTAL:
        return 0
    freed = 0
    while free := int(db.execute("PRAGMA freelist_count").fetchone()[0]):
        step = min(free, VACUUM_PAGES)
        # its own transaction; executescript steps it to the end (execute frees one page)
        db.executescript(f"PRAGMA incremental_vacuum({step})")
        freed += step
        await asyncio.sleep(0)
    return freed


async def maintain(store: NotificationStore) -> None:
    """The store's periodic run: prune, vacuum, checkpoint. A failure is a store fault (logged
    once per episode) and is retried at the next run."""
    try:
        pruned = await prune(store)
        freed = await vacuum(store)
        await store.checkpoint()
    except StoreFailed:
        return
    except sqlite3.Error as exc:  # the checkpoint's own connection
        store.faults.write_failed(exc, None)
        return
    if pruned or freed:
        log.info("store.pruned", rows=pruned, pages_freed=freed)


def pruned_below(store: NotificationStore) -> str | None:
    """The oldest stored id once any row has been deleted (pruned), else None: a re-read of
    Mastodon's newest page must not take a pruned notification for a missing one."""
    db = store.db
    row = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'notifications'").fetchone()
    if row is None or int(row[0]) <= store.count():
        return None
    oldest = db.execute("SELECT id FROM notifications ORDER BY sort_key LIMIT 1").fetchone()
    return None if oldest is None else str(oldest[0])
