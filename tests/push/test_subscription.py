"""The Mastodon side, against a small fake `/api/v1/push/subscription` on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest
import structlog

from mastod.config import DEFAULT_NOTIFICATION_TYPES, NOTIFICATION_TYPES, NotificationsConfig
from mastod.mastodon.client import Api
from mastod.push.keys import PushKeys
from mastod.push.subscription import PushSubscription
from mastod.tasks import TaskSet
from tests.push.conftest import API_TOKEN, Instance
from tests.push.fakes import FakeMastodon

ENDPOINT = "https://hooks.example/push/secret-one"
OTHER_ENDPOINT = "https://other.example/push/secret-one"


async def until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.01)


@pytest.fixture
async def subscription(api: Api, keys: PushKeys, tasks: TaskSet) -> AsyncIterator[PushSubscription]:
    made = PushSubscription(
        api,
        keys,
        NotificationsConfig(types=("mention", "follow"), policy="all"),
        tasks=tasks,
        recheck_interval=60.0,
        retry_initial=0.05,
        retry_max=0.2,
    )
    yield made
    await made.stop()


async def test_register_sends_mastodons_form_fields(
    subscription: PushSubscription, mastodon: FakeMastodon, keys: PushKeys, instance: Instance
) -> None:
    await subscription.register(ENDPOINT)

    [form] = mastodon.forms()
    fields = dict(form)
    assert len(fields) == len(form)  # every field once
    assert fields["subscription[endpoint]"] == ENDPOINT
    assert fields["subscription[keys][p256dh]"] == keys.p256dh
    assert fields["subscription[keys][auth]"] == keys.auth
    assert fields["subscription[standard]"] == "true"
    assert fields["data[policy]"] == "all"
    assert fields["data[alerts][mention]"] == "true"
    assert fields["data[alerts][follow]"] == "true"
    # every other type Mastodon knows is sent false (each alert defaults to false anyway)
    alerts = {k[len("data[alerts][") : -1]: v for k, v in form if k.startswith("data[alerts][")}
    assert set(alerts) == NOTIFICATION_TYPES
    assert {t for t, v in alerts.items() if v == "true"} == {"mention", "follow"}
    assert mastodon.seen[0].authorization == f"Bearer {API_TOKEN}"
    assert subscription.id == "1"  # a JSON integer in Mastodon's answer
    assert subscription.server_key == instance.server_point
    assert subscription.standard is True


async def test_policy_goes_in_data(
    api: Api, keys: PushKeys, tasks: TaskSet, mastodon: FakeMastodon
) -> None:
    made = PushSubscription(api, keys, NotificationsConfig(policy="followed"), tasks=tasks)
    assert await made.ensure(ENDPOINT)
    fields = dict(mastodon.forms()[0])
    assert fields["data[policy]"] == "followed"
    assert "policy" not in fields
    assert {k for k, v in fields.items() if v == "true"} == {
        "subscription[standard]",
        *(f"data[alerts][{t}]" for t in DEFAULT_NOTIFICATION_TYPES),
    }


async def test_ensure_creates_on_404_then_only_checks(
    subscription: PushSubscription, mastodon: FakeMastodon
) -> None:
    assert subscription.state == "not started"
    assert await subscription.ensure(ENDPOINT)
    assert [s.method for s in mastodon.seen] == ["GET", "POST"]
    assert subscription.state == "registered"

    assert await subscription.ensure(ENDPOINT)
    assert [s.method for s in mastodon.seen] == ["GET", "POST", "GET"]


async def test_ensure_learns_an_existing_matching_subscription(
    api: Api, keys: PushKeys, tasks: TaskSet, mastodon: FakeMastodon, instance: Instance
) -> None:
    """After a restart: Mastodon still has it, so no POST; the server key comes from GET."""
    await PushSubscription(api, keys, NotificationsConfig(), tasks=tasks).register(ENDPOINT)
    restarted = PushSubscription(api, keys, NotificationsConfig(), tasks=tasks)
    assert restarted.server_key is None
    assert await restarted.ensure(ENDPOINT)
    assert mastodon.count("POST") == 1
    assert restarted.server_key == instance.server_point
    assert restarted.id == "1"


@pytest.mark.parametrize(
    "drift",
    [
        {"endpoint": OTHER_ENDPOINT},
        {"policy": "none"},
        {"alerts": {"mention": True}},
        {"alerts": {"mention": True, "follow": True, "reblog": True}},
    ],
)
async def test_ensure_registers_again_when_it_differs(
    subscription: PushSubscription, mastodon: FakeMastodon, drift: dict[str, object]
) -> None:
    assert await subscription.ensure(ENDPOINT)
    assert mastodon.subscription is not None
    mastodon.subscription.update(drift)
    assert await subscription.ensure(ENDPOINT)
    assert mastodon.count("POST") == 2
    assert mastodon.subscription["endpoint"] == ENDPOINT
    assert mastodon.subscription["alerts"]["follow"] is True


async def test_an_older_server_without_some_types_does_not_cause_churn(
    api: Api, keys: PushKeys, tasks: TaskSet, mastodon: FakeMastodon
) -> None:
    mastodon.known_types = frozenset({"mention", "follow", "reblog"})
    made = PushSubscription(api, keys, NotificationsConfig(types=("mention", "quote")), tasks=tasks)
    with structlog.testing.capture_logs() as logs:
        assert await made.ensure(ENDPOINT)
        assert await made.ensure(ENDPOINT)
    assert mastodon.count("POST") == 1
    assert [e["types"] for e in logs if e["event"] == "push.alerts_not_supported"] == [["quote"]]


async def test_failures_go_to_state_not_up(
    subscription: PushSubscription, mastodon: FakeMastodon
) -> None:
    mastodon.fail = [(403, "This action is outside the authorized scopes", None)]
    with structlog.testing.capture_logs() as logs:
        assert not await subscription.ensure(ENDPOINT)
    assert subscription.state == "error: This action is outside the authorized scopes"
    assert [e["http_status"] for e in logs if e["event"] == "push.subscribe_failed"] == [403]

    mastodon.fail = [(422, "Validation failed: Endpoint is invalid", "POST")]
    assert not await subscription.ensure(ENDPOINT)  # GET 404, then the POST fails
    assert [s.method for s in mastodon.seen[-2:]] == ["GET", "POST"]
    assert subscription.state == "error: Validation failed: Endpoint is invalid"


async def test_loop_retries_with_backoff_until_it_works(
    subscription: PushSubscription, mastodon: FakeMastodon
) -> None:
    mastodon.fail = [(503, "Service Unavailable", None)] * 3
    subscription.start(ENDPOINT)
    await until(lambda: subscription.state == "registered")
    assert mastodon.count("GET") == 4
    assert mastodon.count("POST") == 1


async def test_periodic_recheck_recreates_a_dropped_subscription(
    subscription: PushSubscription, mastodon: FakeMastodon
) -> None:
    subscription.recheck_interval = 0.05
    subscription.start(ENDPOINT)
    await until(lambda: mastodon.count("POST") == 1)
    mastodon.subscription = None  # Mastodon deleted it (failed deliveries, say)
    await until(lambda: mastodon.count("POST") == 2)
    assert mastodon.subscription is not None
    assert mastodon.subscription["endpoint"] == ENDPOINT
    assert subscription.id == "2"


async def test_a_new_public_url_registers_at_once(
    subscription: PushSubscription, mastodon: FakeMastodon
) -> None:
    subscription.start(None)
    await until(lambda: subscription.state == "waiting for a public URL")
    assert mastodon.seen == []
    subscription.set_endpoint(ENDPOINT)
    await until(lambda: mastodon.count("POST") == 1)
    subscription.set_endpoint(OTHER_ENDPOINT)  # long before the 60 s re-check
    await until(lambda: mastodon.count("POST") == 2)
    assert mastodon.subscription is not None
    assert mastodon.subscription["endpoint"] == OTHER_ENDPOINT


async def test_unregister(subscription: PushSubscription, mastodon: FakeMastodon) -> None:
    assert await subscription.ensure(ENDPOINT)
    await subscription.unregister()
    assert mastodon.seen[-1].method == "DELETE"
    assert mastodon.subscription is None
    assert subscription.state == "unregistered"
    assert subscription.id is None

    mastodon.fail = [(503, "Service Unavailable", None)]
    await subscription.unregister()  # logged, not raised
    assert subscription.state == "error: Service Unavailable"


async def test_server_key_waits_for_the_first_check(
    subscription: PushSubscription, instance: Instance
) -> None:
    assert await subscription.wait_server_key(0.01) is None
    waiting = asyncio.ensure_future(subscription.wait_server_key(5))
    await asyncio.sleep(0)
    assert await subscription.ensure(ENDPOINT)
    assert await waiting == instance.server_point


@pytest.mark.parametrize("bad", [None, "", "not base64!", "AAAA"])
async def test_an_unusable_server_key_is_not_learned(
    subscription: PushSubscription, mastodon: FakeMastodon, bad: str | None
) -> None:
    mastodon.server_key = bad  # type: ignore[assignment]
    with structlog.testing.capture_logs() as logs:
        assert await subscription.ensure(ENDPOINT)
    assert subscription.server_key is None
    assert "push.server_key_unusable" in [e["event"] for e in logs]
