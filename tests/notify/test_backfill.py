"""Backfill against a fake Mastodon: baseline, paging forward by Link, bounds, errors."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mastod.mastodon.client import Api
from mastod.mastodon.errors import NotFound, RateLimited
from mastod.notify.backfill import (
    BASELINE_KEY,
    PagePacing,
    backfill,
    catch_up,
    rate_limit_wait,
)
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from tests.notify.conftest import note, until
from tests.notify.fake import Collector, FakeMastodon
from tests.notify.filesystems import fill, free, small_fs


def ids(first: int, last: int) -> list[str]:
    return [str(i) for i in range(first, last + 1)]


async def test_first_run_takes_a_baseline_and_then_pages_forward(
    api: Api, fake: FakeMastodon, store: NotificationStore, hub: Hub, intake: Intake
) -> None:
    fake.add(*(note(i) for i in range(1, 101)))
    result = await backfill(api, store, intake)
    assert result.baseline
    assert result.complete
    assert result.ingested == 0
    assert fake.requests == [{"limit": ["1"]}]  # the newest notification only
    assert store.count() == 0
    assert store.meta(BASELINE_KEY) == "100"

    collector = Collector()
    hub.subscribe(collector)
    fake.add(*(note(i) for i in range(101, 106)))
    result = await backfill(api, store, intake)
    assert (result.pages, result.ingested, result.complete) == (1, 5, True)
    assert fake.requests[-1] == {"limit": ["80"], "min_id": ["100"]}
    await until(lambda: len(collector.ids) == 5)
    assert collector.ids == ids(101, 105)


async def test_pages_forward_by_link_oldest_first(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1000))
    fake.add(*(note(i) for i in range(990, 1251)))
    result = await backfill(api, store, intake, limit=80)
    assert (result.pages, result.ingested, result.complete) == (4, 250, True)
    assert [r["min_id"] for r in fake.requests] == [["1000"], ["1080"], ["1160"], ["1240"]]
    assert all(r["limit"] == ["80"] for r in fake.requests)
    assert [i for i, _ in store.since("1000", None, 1000)] == ids(1001, 1250)
    assert [i for _, i, _ in store.page_by_seq(1, None, 1000)] == ids(1001, 1250)  # arrival


async def test_a_run_is_bounded_and_the_next_goes_on(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1))
    fake.add(*(note(i) for i in range(2, 52)))
    first = await backfill(api, store, intake, limit=10, max_pages=2)
    assert (first.pages, first.ingested, first.complete) == (2, 20, False)
    second = await backfill(api, store, intake, limit=10, max_pages=10)
    assert (second.pages, second.ingested, second.complete) == (4, 30, True)
    assert fake.requests[2]["min_id"] == ["21"]
    assert store.newest_id() == "51"


async def test_what_arrives_meanwhile_from_another_source_is_delivered_once(
    api: Api, fake: FakeMastodon, store: NotificationStore, hub: Hub, intake: Intake
) -> None:
    store.add(note(1))
    collector = Collector()
    hub.subscribe(collector)
    fake.add(*(note(i) for i in range(1, 5)))
    fake.hold_notifications = asyncio.Event()
    running = asyncio.create_task(backfill(api, store, intake))
    await until(lambda: len(fake.requests) == 1)
    assert await intake.ingest(note(3))  # e.g. pushed while the page is on its way
    fake.hold_notifications.set()
    result = await running
    assert (result.ingested, intake.duplicates) == (2, 1)
    assert [i for i, _ in store.since(None, None, 10)] == ids(1, 4)
    await until(lambda: len(collector.ids) == 3)
    assert collector.ids == ["3", "2", "4"]  # each once, in the order they arrived


async def test_types_are_asked_for_and_kept_on_every_page(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1))
    fake.add(*(note(i, "follow" if i % 2 else "mention") for i in range(2, 30)))
    result = await backfill(api, store, intake, limit=5, types={"follow", "poll"})
    assert result.ingested == 14
    assert all(r["types[]"] == ["follow", "poll"] for r in fake.requests)
    assert [i for i, _ in store.since(None, {"mention"}, 100)] == ["1"]


async def test_rate_limit_propagates_typed(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1))
    fake.rate_limited = 1
    with pytest.raises(RateLimited) as caught:
        await backfill(api, store, intake)
    assert caught.value.rate_limit_reset == "2099-01-01T00:00:00Z"  # normalised by the core
    fake.add(note(2))
    assert (await backfill(api, store, intake)).ingested == 1


async def test_catch_up_waits_out_errors_and_runs_until_complete(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1))
    fake.add(*(note(i) for i in range(2, 200)))
    fake.rate_limited = 1
    fake.rate_limit_reset = (datetime.now(UTC) + timedelta(seconds=0.5)).isoformat()
    fake.server_errors = 1
    waits: list[int] = []

    def backoff(failures: int) -> float:
        waits.append(failures)
        return 0.0

    assert await catch_up(api, store, intake, backoff=backoff) == 198
    assert waits == [1]  # the 429 waited for its reset; only the 503 backed off
    assert store.newest_id() == "199"
    assert len(fake.requests) == 2 + 3  # two refused, then 80 + 80 + 38


def test_rate_limit_wait() -> None:
    soon = (datetime.now(UTC) + timedelta(seconds=30)).isoformat()
    assert 28 < (rate_limit_wait(RateLimited("x", rate_limit_reset=soon)) or 0) <= 30
    assert rate_limit_wait(RateLimited("x", rate_limit_reset="2099-01-01T00:00:00Z")) == 900
    assert rate_limit_wait(RateLimited("x", rate_limit_reset="2000-01-01T00:00:00")) == 1
    assert rate_limit_wait(RateLimited("x", rate_limit_reset="soon")) is None
    assert rate_limit_wait(RateLimited("x")) is None
    assert rate_limit_wait(NotFound("x")) is None


async def test_a_long_catch_up_pauses_between_runs(
    api: Api, fake: FakeMastodon, store: NotificationStore, intake: Intake
) -> None:
    store.add(note(1))
    fake.add(*(note(i) for i in range(2, 2 + 80 * 11)))  # 11 full pages, then an empty one
    loop = asyncio.get_running_loop()
    began = loop.time()
    pacing = PagePacing(burst=0, pause=0.05)  # no pages without a pause
    assert await catch_up(api, store, intake, backoff=lambda _: 0.0, pacing=pacing) == 880
    assert loop.time() - began >= 10 * 0.05  # after the first run of 10 pages
    assert len(fake.requests) == 12


def test_pages_are_paced_once_the_burst_is_spent() -> None:
    now = [0.0]
    pacing = PagePacing(burst=30, pause=2.0, clock=lambda: now[0])
    assert [pacing.spend(10) for _ in range(3)] == [0.0, 0.0, 0.0]  # a live burst: no wait
    assert pacing.spend(10) == 20.0  # then one page per pause
    now[0] += 4.0
    assert pacing.spend(0) == 16.0  # refilled meanwhile
    now[0] += 100.0
    assert pacing.spend(10) == 0.0  # refilled up to the burst, not beyond
    assert pacing.spend(25) == 10.0


async def test_catch_up_retries_a_full_disk_from_the_last_stored_id(
    api: Api, fake: FakeMastodon, hub: Hub, tmp_path: Path
) -> None:
    with small_fs(512) as mount:
        store = NotificationStore(mount / "state", maintenance_interval=3600)
        await store.start()
        intake = Intake(store, hub)
        collector = Collector()
        hub.subscribe(collector)
        store.add(note(1))
        fake.add(*(note(i, pad=400) for i in range(2, 300)))
        fill(mount)
        retries: list[int] = []

        def backoff(failures: int) -> float:
            retries.append(failures)
            return 0.01

        running = asyncio.create_task(catch_up(api, store, intake, backoff=backoff))
        await until(lambda: len(retries) >= 3)
        assert store.problem == "disk full"
        assert retries[:3] == [0, 1, 2]  # backing off more each time
        asked = {r["min_id"][0] for r in fake.requests}
        free(mount)
        assert await running > 0
        assert store.problem is None
        assert asked <= {"1"} | {str(i) for i in range(2, 300, 80)}  # never past the gap
        assert [i for i, _ in store.since(None, None, 1000)] == ids(1, 299)
        await until(lambda: len(collector.ids) == 298)
        assert collector.ids == ids(2, 299)  # each once, in order
        fill(mount)
        await store.close()  # the final checkpoint fails: the WAL keeps it all
        free(mount)
        store = NotificationStore(mount / "state", maintenance_interval=3600)
        await store.start()
        assert store.count() == 299
        await store.close()
