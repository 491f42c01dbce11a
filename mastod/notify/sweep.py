"""What the catch-up cannot see: notifications that became visible below the newest stored id.

Mastodon assigns notification ids from one sequence, in concurrent jobs, so a notification
with a lower id can become visible after a higher one was read, and the catch-up
(`min_id=<newest stored>`) never asks for it again. Notifications un-filtered later (a
notification request accepted; Mastodon announces it on the stream as
`notifications_merged`, and never pushes them) sit below the newest stored id too. So:

- `fetch_missing`: a push names its notification; one the store still lacks after the
  catch-up that the push triggered is fetched by id.
- `sweep`: one page of the newest notifications, without `min_id`; what the store lacks
  below its newest id is stored, after everything already stored, so subscribers get it as
  new (above it, the catch-up and the stream keep storing in id order). The sources run it
  every `notifications.sweep_interval` seconds, after every streaming (re)connect and on
  `notifications_merged`: one request each time, whatever it finds.

Neither goes below the backfill's baseline (the account's history is not announced as new)
nor below the oldest stored id once retention has pruned rows (a pruned notification is not
a missing one).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from mastod.logs import get_logger
from mastod.mastodon.client import Api
from mastod.mastodon.errors import MastodonError, NotFound
from mastod.notify import retention
from mastod.notify.backfill import BASELINE_KEY, PAGE_LIMIT, PATH
from mastod.notify.intake import Intake
from mastod.notify.store import MAX_ID_LENGTH, NotificationStore, order_key

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Swept:
    """What a sweep did: `added` notifications stored (below the newest stored id); `newer`:
    the page also held ids above it, which a catch-up should fetch, in order."""

    added: int
    newer: bool


async def sweep(
    api: Api,
    store: NotificationStore,
    intake: Intake,
    *,
    types: Collection[str] | None = None,
    limit: int = PAGE_LIMIT,
) -> Swept:
    """Store what Mastodon's newest page holds below the newest stored id and the store lacks.

    Ids above the newest stored are left to the catch-up and the stream, which store new
    notifications in id order. Nothing happens before the first catch-up took its baseline.
    Errors of the request core propagate.
    """
    floor, newest = _floor(store), store.newest_id()
    if floor is None or newest is None:
        return Swept(0, newer=False)
    query: dict[str, Any] = {"limit": limit}
    if types is not None:
        query["types"] = sorted(types)
    page = await api.page("GET", PATH, query)
    newest = store.newest_id() or newest  # stored meanwhile (the stream goes on)
    ids = [str(n["id"]) for n in page.items if isinstance(n, dict) and _is_id(n.get("id"))]
    below = {i for i in ids if _above(i, floor) and not _above(i, newest)}
    missing = [
        n
        for n in page.items
        if isinstance(n, dict)
        and _is_id(n.get("id"))
        and str(n["id"]) in below
        and store.seq_of(str(n["id"])) is None
    ]
    newer = any(_above(i, newest) for i in ids)
    if not missing:
        return Swept(0, newer)
    missing.sort(key=lambda n: order_key(str(n["id"])))
    added = await intake.ingest_many(missing, shaped=True)  # decoded by the request core
    if added:
        log.info("sweep.found", count=added, ids=[str(n["id"]) for n in missing][:20])
    return Swept(added, newer)


async def fetch_missing(
    api: Api, store: NotificationStore, intake: Intake, ids: Iterable[str]
) -> int:
    """Fetch by id each of `ids` the store does not hold (pushed, but not in the catch-up);
    how many were stored. One that is gone (dismissed, deleted) is skipped; other errors
    propagate, and the periodic sweep is the safety net."""
    missing = [i for i in ids if len(i) <= MAX_ID_LENGTH and store.seq_of(i) is None]
    floor = _floor(store) if missing else None  # (the usual case: the catch-up had them all)
    added = 0
    for notification_id in missing:
        if floor is None or not _above(notification_id, floor):
            continue
        if store.seq_of(notification_id) is not None:  # stored while we fetched another
            continue
        try:
            notification = await api.get(
                "/api/v1/notifications/{notification_id}", {"notification_id": notification_id}
            )
        except NotFound:
            log.info("sweep.pushed_gone", id=notification_id)
            continue
        if isinstance(notification, dict):
            stored = await intake.ingest_many([notification], shaped=True)
            if stored:
                log.info("sweep.fetched_late", id=notification_id)
            added += stored
    return added


class SweepFailures:
    """A failing sweep: logged once per episode (and its recovery); `error` for `status`."""

    def __init__(self) -> None:
        self.error: str | None = None

    def failed(self, exc: MastodonError, context: str) -> None:
        if self.error is None:
            log.warning("sweep.failed", error=exc.error, context=context)
        self.error = exc.error

    def succeeded(self) -> None:
        if self.error is not None:
            log.info("sweep.recovered")
        self.error = None


def _floor(store: NotificationStore) -> str | None:
    """The id a sweep stays above; None before the first catch-up (nothing to compare to)."""
    candidates = [
        i for i in (store.meta(BASELINE_KEY), retention.pruned_below(store)) if i is not None
    ]
    if not candidates:
        return "" if store.newest_id() is not None else None
    return max(candidates, key=order_key)


def _is_id(value: object) -> bool:
    return isinstance(value, str | int) and not isinstance(value, bool)


def _above(notification_id: str, floor: str) -> bool:
    return len(notification_id) <= MAX_ID_LENGTH and order_key(notification_id) > order_key(floor)
