"""What is wrong with the notification store, for `status` and `/health`, each fault logged
once per episode with what to do: writes that fail (disk full, I/O error) until one
succeeds, a damaged page found by a read, the file deleted or replaced while running.

A failed write also opens a gap: the newest id stored before the first failure, where
fetching resumes (`NotificationStore.resume_id`) until a backfill from there completes with
no failure since, so notifications that could not be stored are fetched again even when
later ones were stored meanwhile.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mastod.logs import get_logger
from mastod.notify.storefile import describe, hint

log = get_logger(__name__)


class StoreFailed(Exception):
    """A write to the store failed (disk full, I/O error, ...). Nothing of it was published;
    the source backs off and fetches again from `NotificationStore.resume_id()`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Gap:
    """Where fetching resumes after failed writes (None: before anything stored)."""

    after: str | None


class Faults:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.fault: str | None = None  # writes fail
        self.damage: str | None = None  # a read failed
        self.lost: str | None = None  # "deleted" or "replaced": the file under self.path
        self.failures = 0  # writes that failed, ever
        self.gap: Gap | None = None

    @property
    def problem(self) -> str | None:
        """What is wrong, in a few words (None: nothing)."""
        if self.fault is not None:
            return self.fault
        if self.damage is not None:
            return f"{self.damage} (found by a replay; restart to check it)"
        if self.lost is not None:
            return f"file {self.lost} while running (the open store is kept)"
        return None

    def write_failed(
        self, exc: sqlite3.Error, newest: Callable[[], str | None] | None
    ) -> StoreFailed:
        """Count a failed write and log the first of an episode. `newest`: the newest stored
        id, where the gap starts (None: the write could not leave notifications unstored)."""
        reason = describe(exc)
        self.failures += 1
        if newest is not None and self.gap is None:
            # unknown (the read failed too): fetching resumes after the newest stored id
            with contextlib.suppress(sqlite3.Error):
                self.gap = Gap(newest())
        if self.fault is None:
            self.fault = reason
            log.error(
                "store.write_failed",
                path=str(self.path),
                reason=reason,
                action=hint(reason),
                retry="the sources back off and fetch what is missing once it can be written",
            )
        return StoreFailed(reason)

    def wrote(self) -> None:
        """A write succeeded: a write fault is over."""
        if self.fault is not None:
            log.info("store.recovered", path=str(self.path), failed_writes=self.failures)
            self.fault = None

    def read_failed(self, exc: sqlite3.Error) -> None:
        """A read failed (a damaged page, found by a replay): shown until the daemon restarts
        (it checks the file then), logged once."""
        if self.damage is None:
            self.damage = describe(exc)
            log.error(
                "store.read_failed",
                path=str(self.path),
                reason=self.damage,
                action="restart the daemon: it checks the file at start and moves a damaged"
                " one aside (sqlite3 <file> .recover can save what is still readable)",
            )

    def caught_up(self, failures: int, through: str | None) -> None:
        """A backfill run that began when `failures` writes had failed stored everything up
        to `through` (None: the newest notification): if no write failed since, fetching
        resumes after it (the gap is closed, or narrower)."""
        if self.gap is not None and failures == self.failures and self.fault is None:
            self.gap = None if through is None else Gap(through)
