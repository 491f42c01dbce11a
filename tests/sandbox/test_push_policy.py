"""Which pushes are sent and what happens to them: alerts, policy, retries, refusals, fan-out."""

from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest

from mastod.sandbox import OTHER_TOKEN, OWNER_TOKEN, RunningSandbox, Sandbox
from tests.sandbox.conftest import act, subscribe
from tests.sandbox.push_receiver import PushReceiver, UserAgent

FAST = (0.01, 0.01, 0.01, 0.01, 0.01)


async def test_alerts_choose_the_types(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
) -> None:
    ua = UserAgent()
    alerts = {"mention": True, "favourite": False, "follow": True}  # reblog left out: off
    await subscribe(client, f"{receiver.url}/push/a", ua, alerts=alerts)
    await act(client, "favourite")
    await act(client, "reblog")
    [mention] = await act(client, "mention")
    assert ua.decrypt(await receiver.next())["notification_id"] == int(mention["id"])
    await running.push.settle()
    assert receiver.received.empty()
    assert [d.notification_id for d in sandbox.push_deliveries] == [mention["id"]]


@pytest.mark.parametrize(
    ("policy", "pushed_from"),
    [("all", ["Bob", "Carol"]), ("followed", ["Bob"]), ("follower", ["Carol"]), ("none", [])],
)
async def test_the_policy_looks_at_the_sender(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
    policy: str,
    pushed_from: list[str],
) -> None:
    # alice follows bob; carol follows alice; bob no longer follows alice.
    del sandbox.follows[("2", "1")]
    ua = UserAgent()
    await subscribe(client, f"{receiver.url}/push/a", ua, policy=policy)
    for actor in ("bob", "carol"):
        await act(client, "mention", actor=actor)
    await running.push.settle()
    titles = []
    while not receiver.received.empty():
        titles.append(ua.decrypt(receiver.received.get_nowait())["title"])
    assert sorted(titles) == [f"You were mentioned by {name}" for name in pushed_from]


@pytest.mark.parametrize("status", [503, 500, 429, 408])
async def test_transient_failures_are_retried(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
    status: int,
) -> None:
    sandbox.push_retry_delays = FAST
    receiver.statuses = [status, status]
    ua = UserAgent()
    await subscribe(client, f"{receiver.url}/push/a", ua, standard=False)
    [mention] = await act(client, "mention")
    pushes = [await receiver.next() for _ in range(3)]
    assert {ua.decrypt(p)["notification_id"] for p in pushes} == {int(mention["id"])}
    assert len({p.body for p in pushes}) == 3  # each try is encrypted afresh
    await running.push.settle()
    assert [(d.attempt, d.status, d.outcome) for d in sandbox.push_deliveries] == [
        (1, status, "retrying"),
        (2, status, "retrying"),
        (3, 201, "delivered"),
    ]
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 200


@pytest.mark.parametrize("status", [410, 404, 400])
async def test_a_refusing_endpoint_loses_its_subscription(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
    status: int,
) -> None:
    receiver.statuses = [status]
    await subscribe(client, f"{receiver.url}/push/a", UserAgent())
    await act(client, "mention")
    await receiver.next()
    await running.push.settle()
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 404
    assert [(d.status, d.outcome) for d in sandbox.push_deliveries] == [(status, "unsubscribed")]
    await act(client, "mention")
    await running.push.settle()
    assert receiver.received.empty()
    assert len(sandbox.push_deliveries) == 1


async def test_an_unreachable_endpoint_is_retried_then_given_up(
    client: aiohttp.ClientSession, running: RunningSandbox, sandbox: Sandbox
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sandbox.push_retry_delays = (0.01, 0.01)
    await subscribe(client, f"http://127.0.0.1:{port}/push/a", UserAgent())
    await act(client, "mention")
    await running.push.settle()
    assert [(d.attempt, d.status, d.outcome) for d in sandbox.push_deliveries] == [
        (1, None, "retrying"),
        (2, None, "retrying"),
        (3, None, "failed"),
    ]
    assert all(d.error and "Connect" in d.error for d in sandbox.push_deliveries)
    async with client.get("/api/v1/push/subscription") as resp:
        assert resp.status == 200  # only an answer can end a subscription


async def test_delivery_never_holds_up_the_request(
    client: aiohttp.ClientSession, running: RunningSandbox, receiver: PushReceiver
) -> None:
    receiver.delay = 1.0
    await subscribe(client, f"{receiver.url}/push/a", UserAgent())
    loop = asyncio.get_running_loop()
    started = loop.time()
    await act(client, "mention")
    assert loop.time() - started < 0.5
    await receiver.next()
    assert running.push.in_flight == 1  # still waiting for the receiver's answer
    await running.push.settle()
    assert running.push.in_flight == 0


async def test_each_token_of_the_account_gets_its_own_push(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
) -> None:
    second = sandbox.add_token("alice-second-token", "1", "read push", "1").token
    agents = {"/push/one": UserAgent(), "/push/two": UserAgent(), "/push/bob": UserAgent()}
    await subscribe(client, f"{receiver.url}/push/one", agents["/push/one"])
    await subscribe(client, f"{receiver.url}/push/two", agents["/push/two"], token=second)
    await subscribe(client, f"{receiver.url}/push/bob", agents["/push/bob"], token=OTHER_TOKEN)
    await act(client, "mention")
    pushes = [await receiver.next(), await receiver.next()]
    tokens = {p.path: agents[p.path].decrypt(p)["access_token"] for p in pushes}
    assert tokens == {"/push/one": OWNER_TOKEN, "/push/two": second}
    await running.push.settle()
    assert receiver.received.empty()  # bob's subscription hears nothing of alice's


@pytest.mark.parametrize("change", ["dismissed", "48 hours old", "alert turned off"])
async def test_a_retry_is_dropped_when_it_is_no_longer_wanted(
    client: aiohttp.ClientSession,
    running: RunningSandbox,
    sandbox: Sandbox,
    receiver: PushReceiver,
    change: str,
) -> None:
    """Before every try Mastodon's worker reloads the rows and checks `pushable?` again."""
    sandbox.push_retry_delays = (0.2,)
    receiver.statuses = [503]
    await subscribe(client, f"{receiver.url}/push/a", UserAgent())
    [mention] = await act(client, "mention")
    await receiver.next()
    if change == "dismissed":
        async with client.post(f"/api/v1/notifications/{mention['id']}/dismiss") as resp:
            assert resp.status == 200
    elif change == "48 hours old":
        now = sandbox.clock()
        sandbox.clock = lambda: now + 48 * 3600 + 1
    else:
        async with client.put(
            "/api/v1/push/subscription", json={"data": {"alerts": {"mention": False}}}
        ) as resp:
            assert resp.status == 200
    await running.push.settle()
    assert receiver.received.empty()
    assert [(d.attempt, d.outcome) for d in sandbox.push_deliveries] == [(1, "retrying")]
