"""Catch up on notifications that arrived while nothing was listening.

`GET /api/v1/notifications?min_id=<cursor>` returns the page right after the cursor (newest
first within it); the `Link` `prev` URL continues forward from that page. Pages are ingested
oldest first, so ids reach subscribers in order. The cursor is the newest stored id (after a
failed store write, the newest stored before it: `NotificationStore.resume_id`), or the
baseline: on a first run (nothing stored, no baseline yet) the newest notification's id is
recorded and nothing before it is fetched, so the account's history is neither replayed nor
announced as new. Only a cursor is kept, not that notification: one that arrives over the
stream while the baseline is being taken is then still delivered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mastod.logs import get_logger
from mastod.mastodon.client import Api
from mastod.mastodon.errors import MastodonError, RateLimited, Unauthorized
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore, StoreFailed

log = get_logger(__name__)

PATH = "/api/v1/notifications"
MAX_PAGES = 10  # per run: a run is bounded, the next one goes on from where it stopped
PAGE_LIMIT = 80  # Mastodon's maximum for notifications (since 4.1; older servers cap lower)
BASELINE_KEY = "backfill.baseline"
START = "0"  # before every Mastodon id: the baseline when the account had no notification
MAX_RATE_LIMIT_WAIT = 900.0  # Mastodon's paging window is 15 minutes
# A long catch-up fetches pages at one per PAGE_PAUSE seconds once it has fetched PAGE_BURST:
# Mastodon allows 300 calls per 5 minutes per token, so this leaves half of them to the user's
# own calls, while a burst of live notifications (a backlog of up to PAGE_BURST pages) waits
# for nothing.
PAGE_PAUSE = 2.0
PAGE_BURST = 30


@dataclass(frozen=True, slots=True)
class Backfilled:
    """What a run did. `complete`: it reached the newest notification (else call again)."""

    pages: int
    ingested: int
    complete: bool
    baseline: bool = False


async def backfill(
    api: Api,
    store: NotificationStore,
    intake: Intake,
    *,
    max_pages: int = MAX_PAGES,
    limit: int = PAGE_LIMIT,
    types: Collection[str] | None = None,
) -> Backfilled:
    """Fetch and ingest what Mastodon has after the newest stored notification.

    Errors of the request core (`MastodonError`: rate limited, unreachable, ...) and of the
    store (`StoreFailed`) propagate after what was fetched so far is ingested; the caller
    decides when to try again. The request core already waits out a short 429
    (`mastodon.rate_limit_max_wait`).
    """
    query: dict[str, Any] = {"limit": limit}
    if types is not None:
        query["types"] = sorted(types)
    failures = store.faults.failures
    cursor = _newest(store.resume_id(), store.meta(BASELINE_KEY))
    if cursor is None:
        return await _baseline(api, store, query)
    page = await api.page("GET", PATH, {**query, "min_id": cursor})
    pages, ingested = 1, 0
    while True:
        ingested += await _ingest(intake, page.items)
        # Follow the server's Link; notifications page by their own ids, so a page from a
        # server that sends none is continued from its newest item.
        newest = _newest(*(str(n["id"]) for n in page.items if isinstance(n, dict)))
        complete = len(page.items) < limit
        if complete or pages >= max_pages:
            store.faults.caught_up(failures, None if complete else newest)
            break
        page = await api.page("GET", PATH, cursor=page.prev or {**query, "min_id": newest})
        pages += 1
    log.info("backfill.done", pages=pages, ingested=ingested, complete=complete)
    return Backfilled(pages=pages, ingested=ingested, complete=complete)


class CatchUpFailures:
    """A source's failing catch-ups, across runs: logged when the episode begins and when it
    ends, not per retry. A token the instance refused (401) is not tried again until it is
    replaced: retrying it would only spend the token's rate limit on refusals."""

    def __init__(self) -> None:
        self.error: str | None = None
        self._refused: tuple[str | None] | None = None  # the refused token, boxed

    def refused(self, api: Api) -> bool:
        """`api` would call with the token the instance refused."""
        return self._refused is not None and self._refused == (api.token,)

    def failed(self, exc: MastodonError, api: Api, retry_in: float | None) -> None:
        if isinstance(exc, Unauthorized):
            self._refused = (api.token,)
        if self.error is None:
            wait = "a new token" if retry_in is None else round(retry_in, 1)
            log.warning(
                "backfill.failed", error=exc.error, http_status=exc.http_status, retry_in=wait
            )
        else:
            log.debug("backfill.failed_again", error=exc.error, retry_in=retry_in)
        self.error = exc.error

    def succeeded(self) -> None:
        if self.error is not None:
            log.info("backfill.recovered")
        self.error, self._refused = None, None


class PagePacing:
    """The pages a source's long catch-ups may fetch without a pause, across runs: up to
    `burst`, refilled at one per `pause` seconds (a token bucket). Only runs that stop at
    MAX_PAGES with more to fetch spend from it: a catch-up that completes is never paced."""

    def __init__(
        self,
        burst: int = PAGE_BURST,
        pause: float = PAGE_PAUSE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.burst = burst
        self.pause = pause
        self._clock = clock
        self._pages = float(burst)  # may go below zero: that much is owed
        self._at = clock()

    def spend(self, pages: int) -> float:
        """Spend `pages`; the seconds to wait before the next run."""
        now = self._clock()
        self._pages = min(self.burst, self._pages + (now - self._at) / self.pause) - pages
        self._at = now
        return max(0.0, -self._pages * self.pause)


async def catch_up(
    api: Api,
    store: NotificationStore,
    intake: Intake,
    *,
    backoff: Callable[[int], float],
    types: Collection[str] | None = None,
    pacing: PagePacing | None = None,
    failures: CatchUpFailures | None = None,
) -> int:
    """Backfill until a run reaches the newest notification; how many were ingested.

    After a failure it waits until a 429's `X-RateLimit-Reset`, else `backoff(attempt)`
    seconds, and tries again: a source calls this after (re)connecting, and an unreachable
    instance or a full disk must not end it. A 401 ends it instead, and later calls return at
    once while the token is the one refused (the source calls again once a new token is
    verified). `failures` keeps that, and the logging once per episode, across the calls of
    one source. Between runs of a long catch-up it waits as `pacing` (also kept across the
    calls of one source) says, to spare the token's rate limit.
    """
    pacing = PagePacing() if pacing is None else pacing
    episode = CatchUpFailures() if failures is None else failures
    if episode.refused(api):
        return 0
    attempt = ingested = 0
    while True:
        try:
            result = await backfill(api, store, intake, types=types)
        except Unauthorized as exc:
            episode.failed(exc, api, None)
            return ingested
        except MastodonError as exc:
            delay = rate_limit_wait(exc) or backoff(attempt)
            attempt += 1
            episode.failed(exc, api, delay)
            await asyncio.sleep(delay)
            continue
        except StoreFailed as exc:  # the store logged it, once for the whole episode
            delay = backoff(attempt)
            attempt += 1
            log.debug("backfill.store_failed", reason=exc.reason, retry_in=round(delay, 1))
            await asyncio.sleep(delay)
            continue
        attempt = 0
        episode.succeeded()
        ingested += result.ingested
        if result.complete:
            return ingested
        await asyncio.sleep(pacing.spend(result.pages))


def rate_limit_wait(exc: MastodonError) -> float | None:
    """Seconds until a 429's `X-RateLimit-Reset` (at least 1, capped); None for other errors."""
    if not isinstance(exc, RateLimited) or not exc.rate_limit_reset:
        return None
    try:
        reset = datetime.fromisoformat(exc.rate_limit_reset)
    except ValueError:
        return None
    if reset.tzinfo is None:
        reset = reset.replace(tzinfo=UTC)
    return min(MAX_RATE_LIMIT_WAIT, max(1.0, (reset - datetime.now(UTC)).total_seconds()))


async def _baseline(api: Api, store: NotificationStore, query: dict[str, Any]) -> Backfilled:
    page = await api.page("GET", PATH, {**query, "limit": 1})
    ids = (str(n["id"]) for n in page.items if isinstance(n, dict) and "id" in n)
    baseline = _newest(*ids) or START
    with store.transaction():
        store.set_meta(BASELINE_KEY, baseline)
    log.info("backfill.baseline", since_id=baseline)
    return Backfilled(pages=1, ingested=0, complete=True, baseline=True)


async def _ingest(intake: Intake, items: list[Any]) -> int:
    """Ingest a page oldest first (Mastodon sends it newest first); how many were new."""
    valid = [n for n in items if isinstance(n, dict) and isinstance(n.get("id"), str | int)]
    if len(valid) < len(items):
        log.warning("backfill.skipped_items", count=len(items) - len(valid))
    ordered = sorted(valid, key=lambda n: _id_order(str(n["id"])))
    return await intake.ingest_many(ordered, shaped=True)  # decoded by the request core


def _newest(*ids: str | None) -> str | None:
    present = [i for i in ids if i is not None]
    return max(present, key=_id_order) if present else None


def _id_order(notification_id: str) -> tuple[int, str]:
    return len(notification_id), notification_id
