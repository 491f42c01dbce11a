"""The sweep and the fetch by id (`notify.sweep`) against a fake Mastodon: what they store,
what they leave to the catch-up, and what they never take for missing (history before the
baseline, rows retention pruned)."""

from __future__ import annotations

from pathlib import Path

from structlog.testing import capture_logs

from mastod.mastodon.client import Api
from mastod.mastodon.errors import ServerError
from mastod.notify import retention
from mastod.notify.backfill import BASELINE_KEY
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.notify.sweep import SweepFailures, Swept, fetch_missing, sweep
from tests.notify.conftest import note, until
from tests.notify.fake import Collector, FakeMastodon


def stored(store: NotificationStore) -> list[str]:
    """Ids in the order stored."""
    return [i for _, i, _ in store.page_by_seq(0, None, 1000)]


async def test_nothing_before_the_first_catch_up(
    fake: FakeMastodon, api: Api, store: NotificationStore, intake: Intake
) -> None:
    fake.add(*(note(i) for i in range(1, 4)))
    assert await sweep(api, store, intake) == Swept(0, newer=False)
    assert fake.requests == []  # no baseline yet: the account's history is not new
    assert store.count() == 0


async def test_it_stores_what_is_missing_below_the_newest_stored_id(
    fake: FakeMastodon, api: Api, store: NotificationStore, hub: Hub, intake: Intake
) -> None:
    store.set_meta(BASELINE_KEY, "3")
    fake.add(*(note(i) for i in range(1, 11)))
    await intake.ingest_many([note(4), note(6), note(8)])
    collector = Collector()
    hub.subscribe(collector)
    swept = await sweep(api, store, intake, types=["mention"])
    assert swept == Swept(2, newer=True)  # 9 and 10: the catch-up's, in id order
    assert fake.requests == [{"limit": ["80"], "types[]": ["mention"]}]
    assert stored(store) == ["4", "6", "8", "5", "7"]  # not 1-3: before the baseline
    await until(lambda: len(collector.ids) == 2)
    assert collector.ids == ["5", "7"]
    assert await sweep(api, store, intake) == Swept(0, newer=True)  # nothing twice


async def test_a_pruned_notification_is_not_a_missing_one(
    fake: FakeMastodon, api: Api, tmp_path: Path, hub: Hub
) -> None:
    store = NotificationStore(tmp_path / "pruned", max_rows=3, max_age=None)
    await store.start()
    try:
        intake = Intake(store, hub)
        store.set_meta(BASELINE_KEY, "0")
        fake.add(*(note(i) for i in range(1, 7)))
        await intake.ingest_many([note(i) for i in (1, 2, 4, 5, 6)])
        assert retention.pruned_below(store) is None
        await retention.prune(store)
        assert stored(store) == ["4", "5", "6"]
        assert retention.pruned_below(store) == "4"
        assert await sweep(api, store, intake) == Swept(0, newer=False)
        assert stored(store) == ["4", "5", "6"]  # neither 1-2 (pruned) nor 3 (below them)
    finally:
        await store.close()


async def test_fetch_by_id_only_what_the_store_lacks(
    fake: FakeMastodon, api: Api, store: NotificationStore, intake: Intake
) -> None:
    store.set_meta(BASELINE_KEY, "0")
    fake.add(note(5), note(6))
    await intake.ingest(note(6))
    assert await fetch_missing(api, store, intake, ["6", "5", "7"]) == 1
    assert fake.requests == [{"id": ["5"]}, {"id": ["7"]}]  # 7 is gone (404): skipped
    assert stored(store) == ["6", "5"]


def test_failing_sweeps_are_logged_once_per_episode() -> None:
    failures = SweepFailures()
    down = ServerError("Service unavailable", http_status=503)
    with capture_logs() as logs:
        failures.failed(down, "push")
        failures.failed(down, "push")
        assert failures.error == "Service unavailable"  # `status` shows it as sweep_error
        failures.succeeded()
        failures.succeeded()
        assert failures.error is None
        failures.failed(down, "streaming")
    assert [(e["event"], e.get("context")) for e in logs] == [
        ("sweep.failed", "push"),
        ("sweep.recovered", None),
        ("sweep.failed", "streaming"),
    ]
