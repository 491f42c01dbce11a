"""A token the instance refuses costs one request and one log line, not a retry loop: against
the sandbox, with the token revoked through its `/oauth/revoke` (401) or lacking
`read:notifications` (403). A replaced token (what SIGHUP does) brings the catch-up back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from mastod.account import Account
from mastod.config import MastodonConfig
from mastod.mastodon.client import MastodonClient
from mastod.notify.backfill import BASELINE_KEY, CatchUpFailures, catch_up
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, RunningSandbox, Sandbox, start_sandbox
from mastod.tasks import TaskSet
from tests.notify.conftest import until

SCOPES = "read write follow push"
SANDBOX_APP = "1"  # the sandbox's pre-registered app, whose client id and secret we hold
PATH = "/api/v1/notifications"


@pytest.fixture
async def instance() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox(sandbox=Sandbox())
    yield running
    await running.close()


@pytest.fixture
async def client(instance: RunningSandbox) -> AsyncIterator[MastodonClient]:
    token = instance.sandbox.add_token("first-token-4e1a", "1", SCOPES, SANDBOX_APP).token
    config = MastodonConfig(base_url=instance.url, access_token=token, max_retries=0)
    mastodon = MastodonClient(config)
    await mastodon.start()
    yield mastodon
    await mastodon.close()


async def sandbox_post(instance: RunningSandbox, path: str, **kwargs: Any) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{instance.url}{path}", **kwargs) as response,
    ):
        assert response.status == 200
        return await response.json()


async def mention(instance: RunningSandbox) -> str:
    made = await sandbox_post(instance, "/_sandbox/act", json={"action": "mention"})
    return str(made["notifications"][0]["id"])


def notification_requests(instance: RunningSandbox) -> int:
    return sum(1 for r in instance.sandbox.recorded if r.path == PATH)


def events(logs: list[dict[str, Any]], prefix: str) -> list[str]:
    return [e["event"] for e in logs if e["event"].startswith(prefix)]


def first(logs: list[dict[str, Any]], event: str) -> dict[str, Any]:
    return next(e for e in logs if e["event"] == event)


def no_wait(attempt: int) -> float:
    return 0.0


async def test_a_revoked_token_is_not_retried_until_a_new_one_is_verified(
    instance: RunningSandbox, client: MastodonClient, store: NotificationStore, intake: Intake
) -> None:
    api = client.api()
    tasks = TaskSet("test.account")
    account = Account(client, tasks=tasks)
    failures = CatchUpFailures()
    restored: list[int] = []

    def token_restored() -> None:  # what the sources do when the account heals
        async def again() -> None:
            restored.append(await catch_up(api, store, intake, backoff=no_wait, failures=failures))

        tasks.spawn(again(), name="test.catch_up")

    account.on_verified.append(token_restored)
    account.start()
    await until(lambda: account.state == "verified")
    assert await catch_up(api, store, intake, backoff=no_wait, failures=failures) == 0
    assert store.meta(BASELINE_KEY) is not None  # the seeded history is not new

    old = client.token
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": old}
    await sandbox_post(instance, "/oauth/revoke", data=form)
    missed = await mention(instance)
    before = notification_requests(instance)
    with capture_logs() as logs:
        # the first run is refused; the next ones (a push, a reconnect) send nothing
        for _ in range(4):
            assert await catch_up(api, store, intake, backoff=no_wait, failures=failures) == 0
    assert notification_requests(instance) == before + 1
    assert events(logs, "backfill.") == ["backfill.failed"]
    failed = first(logs, "backfill.failed")
    assert (failed["http_status"], failed["retry_in"]) == (401, "a new token")
    assert account.state == "unauthorized"  # the request core told the account

    new = instance.sandbox.add_token("second-token-9b27", "1", SCOPES, SANDBOX_APP).token
    with capture_logs() as logs:
        client.set_token(new)  # what SIGHUP does after the token file is replaced
        account.token_changed()
        await until(lambda: restored == [1])
    assert store.newest_id() == missed
    assert events(logs, "backfill.") == ["backfill.done", "backfill.recovered"]
    await account.stop()
    await tasks.cancel()
    assert old is not None
    assert old not in "".join(str(e) for e in logs)


async def test_a_token_without_read_notifications_is_logged_once_per_episode(
    instance: RunningSandbox, client: MastodonClient, store: NotificationStore, intake: Intake
) -> None:
    assert await catch_up(client.api(), store, intake, backoff=no_wait) == 0  # the baseline
    missed = await mention(instance)
    before = notification_requests(instance)
    limited = instance.sandbox.add_token("limited-token-03cd", "1", "write push", SANDBOX_APP)
    client.set_token(limited.token)
    good = instance.sandbox.add_token("good-token-66f0", "1", SCOPES, SANDBOX_APP).token
    attempts: list[int] = []

    def backoff(attempt: int) -> float:
        attempts.append(attempt)
        if len(attempts) == 3:  # three refusals, then the token is replaced (SIGHUP)
            client.set_token(good)
        return 0.0

    with capture_logs() as logs:
        task = asyncio.create_task(catch_up(client.api(), store, intake, backoff=backoff))
        assert await asyncio.wait_for(task, 30) == 1
    assert attempts == [0, 1, 2]
    assert notification_requests(instance) == before + 4  # three refused, then the page
    assert "backfill.recovered" in events(logs, "backfill.")
    assert events(logs, "backfill.").count("backfill.failed") == 1
    assert [e["event"] for e in logs if e.get("log_level") == "debug"].count(
        "backfill.failed_again"
    ) == 2
    assert first(logs, "backfill.failed")["http_status"] == 403
    assert store.newest_id() == missed
