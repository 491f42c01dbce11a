"""The notification store's file: opening it, checking it, and what is done when it is damaged,
cannot be written, or disappears while the daemon runs.

- Damaged at start (not a database, a corrupt page, a truncated file): the file and its -wal
  and -shm are moved aside as `notifications.sqlite3.corrupt-<time>` and a fresh store is
  started, which the next backfill fills from the newest notification the account has.
- Cannot be opened at all (a full disk with no room for the -shm, a read-only filesystem):
  `StoreUnavailable`, a one-line error, and the daemon does not start.
- Deleted or replaced while running: the open store is kept (SQLite holds the file open) and
  is written back under the file's name when the daemon stops; a replaced file is left as it
  is and the open store goes next to it.
- A store created with `auto_vacuum=NONE` (before retention vacuumed) is converted once, with
  a VACUUM at start, so that pruned pages can be given back to the filesystem.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

from mastod.logs import get_logger

log = get_logger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SIDE_FILES = ("-wal", "-shm")
WAL_LIMIT = 4 * 1024 * 1024  # bytes the WAL is cut back to after a checkpoint resets it
INCREMENTAL = 2  # PRAGMA auto_vacuum value
FULL_BELOW = 64 * 1024  # free bytes under which a filesystem counts as full


class StoreUnavailable(RuntimeError):
    """The store can be neither opened nor started afresh; the message is one line for the
    user, naming the file and what to do."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Which file the store opened: a different inode under the same name is another file."""

    device: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> Identity:
        st = path.stat()
        return cls(st.st_dev, st.st_ino)


def describe(exc: sqlite3.Error) -> str:
    """A short reason for `status` and the log: what went wrong, not SQLite's wording."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    for prefix, reason in _REASONS:
        if name.startswith(prefix):
            return reason
    return str(exc) or name or type(exc).__name__


_REASONS = (
    ("SQLITE_FULL", "disk full"),
    ("SQLITE_IOERR", "I/O error"),
    ("SQLITE_CORRUPT", "damaged"),
    ("SQLITE_NOTADB", "damaged"),
    ("SQLITE_READONLY", "read-only"),
    ("SQLITE_CANTOPEN", "cannot open"),
    ("SQLITE_BUSY", "locked by another process"),
    ("SQLITE_LOCKED", "locked by another process"),
    ("SQLITE_PERM", "permission denied"),
)

HINTS = {
    "damaged": "restart the daemon: it moves a damaged file aside and starts afresh",
    "disk full": "free space on the filesystem that holds it",
    "I/O error": "check the disk (dmesg) and free space",
    "read-only": "make the filesystem or the file writable by the daemon's user",
    "permission denied": "make the file writable by the daemon's user",
    "cannot open": "check the state directory exists and belongs to the daemon's user",
    "locked by another process": "stop the other mastod using the same state_dir",
}


def hint(reason: str) -> str:
    return HINTS.get(reason, "check the disk and the file's permissions")


def damaged(exc: sqlite3.Error) -> bool:
    return describe(exc) == "damaged"


def prepare(path: Path) -> None:
    """Check the file before the store opens it (in a worker thread: this reads it all).

    A damaged file is moved aside (logged); other errors (sqlite3.Error, OSError) propagate;
    an old store without incremental vacuum is converted."""
    if not path.parent.exists():
        path.parent.mkdir(mode=DIR_MODE, parents=True)
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        problem = _check(path)
    except sqlite3.Error as exc:
        if not damaged(exc):
            raise
        problem = describe(exc)
    if problem is not None:
        moved = move_aside(path, "corrupt")
        log.error(
            "store.damaged",
            path=str(path),
            problem=problem,
            moved_to=str(moved),
            action="started a fresh store; the damaged file is kept for inspection"
            " (sqlite3 <file> .recover); delete it when no longer needed",
        )
        return
    _convert(path)


def _check(path: Path) -> str | None:
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=2000")
        rows = db.execute("PRAGMA quick_check(1)").fetchall()
    finally:
        db.close()
    result = str(rows[0][0]) if rows else "no answer"
    return None if result == "ok" else result[:200]


def _convert(path: Path) -> None:
    """Turn on incremental vacuum in a store made without it: one VACUUM, which needs room
    for a copy; without that room the store stays as it is and is converted at a later start."""
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=2000")
        if int(db.execute("PRAGMA auto_vacuum").fetchone()[0]) == INCREMENTAL:
            return
        log.info("store.converting", path=str(path), to="auto_vacuum=incremental")
        began = time.monotonic()
        db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        db.execute("VACUUM")
        log.info("store.converted", path=str(path), seconds=round(time.monotonic() - began, 2))
    except sqlite3.Error as exc:
        reason = describe(exc)
        log.warning("store.not_converted", path=str(path), reason=reason, action=hint(reason))
    finally:
        db.close()


def connect(path: Path, schema: str, *, exclusive: bool = False) -> sqlite3.Connection:
    """The loop's connection: WAL, NORMAL sync, no automatic checkpoints (they fsync); the
    store's `schema` (a script of `CREATE ... IF NOT EXISTS`) applied.

    `exclusive`: no -shm file (SQLite keeps the WAL index in memory), for a full disk where
    the -shm cannot be made; no other connection can then open the store."""
    # Created 0600 before SQLite sees it; SQLite gives the -wal and -shm files the same mode.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        new = os.fstat(fd).st_size == 0
    finally:
        os.close(fd)
    # autocommit (each statement commits); used by one thread at a time: the loop, then close()
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        if exclusive:
            db.execute("PRAGMA locking_mode=EXCLUSIVE")
        if new:  # before the first table; an existing store is converted by prepare()
            db.execute("PRAGMA auto_vacuum=INCREMENTAL")
        mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise sqlite3.OperationalError(f"cannot switch {path} to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA wal_autocheckpoint=0")  # checkpoints fsync: done in a thread
        db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        db.execute("PRAGMA busy_timeout=2000")
        db.executescript(schema)
    except sqlite3.Error:
        db.close()
        raise
    return db


def unavailable(path: Path, exc: sqlite3.Error | OSError) -> StoreUnavailable:
    if disk_full(path):
        reason = "disk full"
    elif isinstance(exc, sqlite3.Error):
        reason = describe(exc)
    else:
        reason = exc.strerror or str(exc)
    return StoreUnavailable(f"notification store {path}: {reason}; {hint(reason)}")


def disk_full(path: Path) -> bool:
    """No room left on the filesystem holding `path` (SQLite then reports an I/O error when it
    cannot size the -shm file)."""
    try:
        st = os.statvfs(path.parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < FULL_BELOW


def checkpoint_here(db: sqlite3.Connection) -> None:
    """Checkpoint on the store's own connection (an exclusive one: no other can open it)."""
    db.execute("PRAGMA wal_checkpoint(PASSIVE)")


def move_aside(path: Path, why: str) -> Path:
    """Rename the store and its -wal/-shm to `<name>.<why>-<UTC time>`; the new main path."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = path.with_name(f"{path.name}.{why}-{stamp}")
    for suffix in ("", *SIDE_FILES):
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(target.with_name(target.name + suffix))
    return target


def checkpoint(path: Path, cut_key: str) -> None:
    # A connection of its own, so the fsyncs happen on this worker thread. PASSIVE never
    # waits for, nor blocks, the writer on the event loop.
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout=2000")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        wal = path.with_name(path.name + "-wal")
        if not busy and wal.exists() and wal.stat().st_size > WAL_LIMIT:
            # The first commit after a complete checkpoint restarts the WAL and cuts its file
            # back to the limit; cutting a large file takes a while, so make that commit
            # here rather than leave it to the next notification, on the loop.
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (cut_key, str(time.time())),
            )
    finally:
        db.close()


def close(db: sqlite3.Connection, path: Path, lost: str | None) -> None:
    """Checkpoint and close; `lost`: the file under `path` is gone ("deleted") or another
    ("replaced"), so the open store is written out under the name, or next to the other file."""
    try:
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:  # what the WAL holds is safe: the next start reads it
            reason = describe(exc)
            log.warning("store.close_checkpoint_failed", reason=reason, action=hint(reason))
        image = db.serialize() if lost is not None else None
    finally:
        db.close()
    if image is None:
        return
    target = path if lost == "deleted" and not path.exists() else _orphan_name(path)
    partial = target.with_name(target.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
    with os.fdopen(fd, "wb") as out:
        out.write(image)
        out.flush()
        os.fsync(out.fileno())
    partial.rename(target)
    log.warning("store.written_back", path=str(target), bytes=len(image), because=lost)


def _orphan_name(path: Path) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return path.with_name(f"{path.name}.orphan-{stamp}")


def lost(path: Path, identity: Identity) -> str | None:
    """ "deleted" or "replaced" if the file under `path` is no longer the one opened as
    `identity` (logged, with what to do); None while it is."""
    try:
        how = None if Identity.of(path) == identity else "replaced"
    except FileNotFoundError:
        how = "deleted"
    if how is not None:
        where = " (next to the new file, as .orphan-<time>)" if how == "replaced" else ""
        log.error(
            "store.file_lost",
            path=str(path),
            how=how,
            action=f"the daemon keeps its open store and writes it back when it stops{where};"
            " stop it with SIGTERM, not SIGKILL, to keep its notifications",
        )
    return how
