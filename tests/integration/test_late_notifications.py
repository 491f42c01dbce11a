"""No notification skipped: Mastodon makes a lower id visible after a higher one (ids come
from one sequence, jobs commit in any order), and un-filters older notifications when a
notification request is accepted. Through the daemon's real stack and the sandbox, each
reaches a subscriber exactly once, for the push source and the streaming source, and a
subscriber that resumes from the last id it printed misses none of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from mastod.sandbox import RunningSandbox
from mastod.sandbox.ops.notify import accept_request, commit
from tests.integration.conftest import Rpc, start_daemon
from tests.integration.test_notifications import Subscriber, act, free_port, wait_for


def ids(made: list[dict[str, Any]]) -> str:
    assert len(made) == 1
    return str(made[0]["id"])


async def collect(sub: Subscriber, wanted: set[str]) -> list[str]:
    """Ids received until every one of `wanted` came (all of them kept, in order)."""
    got: list[str] = []
    while not wanted <= set(got):
        got.append(str((await sub.next(timeout=30))["id"]))
    return got


async def exactly_once(upstream: RunningSandbox, rpc: Rpc, source: str) -> None:
    """The scenario, whichever source carries the notifications."""
    sb = upstream.sandbox
    alice = sb.account_by_username("alice").id
    sub, _ = await Subscriber.open(rpc)
    first = ids(await act(upstream, "mention", text="@alice first"))
    assert (await sub.next())["id"] == first

    # commit-order race: `late` gets its id first but becomes visible after `early`
    sb.uncommitted_notifications = 1
    late = ids(await act(upstream, "favourite"))
    early = ids(await act(upstream, "follow"))
    assert int(late) < int(early)
    assert (await sub.next())["id"] == early
    if source == "streaming":  # it becomes visible while the stream is down: never streamed
        sb.faults.drop_streams()
    commit(sb, late)

    # un-filtering: carol's mention is filtered until alice accepts her request
    sb.filtered_senders.add((alice, sb.account_by_username("carol").id))
    filtered = ids(await act(upstream, "mention", actor="carol", text="@alice hello"))
    after = ids(await act(upstream, "reblog"))
    got = await collect(sub, {late, after})
    merged = accept_request(sb, alice, sb.account_by_username("carol").id)
    assert merged == [filtered]  # below `after`, never pushed nor streamed
    got += await collect(sub, {filtered})
    end = ids(await act(upstream, "mention", text="@alice end"))
    got += await collect(sub, {end})
    assert sorted(got) == sorted([late, filtered, after, end])  # each once, nothing else
    assert got[-1] == end

    # a subscriber that resumes from an id it printed gets what was stored after it,
    # in the order stored: the late and the un-filtered ones too
    resumed, _ = await Subscriber.open(rpc, since_id=first)
    again = await collect(resumed, {end})
    assert again == [early, *got]
    resumed.close()
    sub.close()


async def push_daemon(
    tmp_path: Path, upstream: RunningSandbox, sweep_interval: float
) -> tuple[Rpc, web.AppRunner]:
    port = free_port()
    sections = {
        "notifications": {"source": "push", "sweep_interval": sweep_interval},
        "webhook": {"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
    }
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    await wait_for(lambda: bool(upstream.sandbox.push_subscriptions))
    return rpc, runner


async def test_push_source_delivers_late_and_unfiltered_notifications_once(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    rpc, runner = await push_daemon(tmp_path, upstream, sweep_interval=0.2)
    try:
        with capture_logs() as logs:
            await exactly_once(upstream, rpc, "push")
        # the un-filtered one is never pushed: the periodic sweep found it
        assert "sweep.found" in [e["event"] for e in logs]
    finally:
        await runner.cleanup()


async def test_a_pushed_id_the_catch_up_missed_is_fetched_by_id(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    rpc, runner = await push_daemon(tmp_path, upstream, sweep_interval=300)
    sb = upstream.sandbox
    try:
        sub, _ = await Subscriber.open(rpc)
        sb.uncommitted_notifications = 1
        late = ids(await act(upstream, "favourite"))
        early = ids(await act(upstream, "follow"))
        assert (await sub.next())["id"] == early
        with capture_logs() as logs:
            commit(sb, late)
            assert (await sub.next())["id"] == late
        assert [e["id"] for e in logs if e["event"] == "sweep.fetched_late"] == [late]
        by_id = [r for r in sb.recorded if r.path == f"/api/v1/notifications/{late}"]
        assert [r.method for r in by_id] == ["GET"]
        sub.close()
    finally:
        await runner.cleanup()


async def test_streaming_source_delivers_late_and_unfiltered_notifications_once(
    tmp_path: Path, upstream: RunningSandbox
) -> None:
    # the default sweep interval: the reconnect and `notifications_merged` do the work
    sections = {"notifications": {"source": "streaming"}}
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    try:
        state = rpc.daemon.state.status
        await wait_for(lambda: state()["notifications"]["state"] == "connected")
        with capture_logs() as logs:
            await exactly_once(upstream, rpc, "streaming")
        events = [e["event"] for e in logs]
        assert "streaming.notifications_merged" in events
        assert events.count("sweep.found") >= 2  # after the reconnect, and on the merge
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("scope", ["read:accounts read:statuses write"])
async def test_a_stream_refused_for_its_scopes_shows_in_status(
    tmp_path: Path, upstream: RunningSandbox, scope: str
) -> None:
    sb = upstream.sandbox
    token = "token-without-read-notifications-0123"
    sb.add_token(token, sb.account_by_username("alice").id, scope, next(iter(sb.apps)))
    sections = {"notifications": {"source": "streaming"}}
    with capture_logs() as logs:
        rpc, runner = await start_daemon(tmp_path, upstream.url, sections, access_token=token)
        try:
            state = rpc.daemon.state.status
            await wait_for(lambda: "refused" in state()["notifications"]["state"])
            text = state()["notifications"]["state"]
            assert text == (
                "refused by the server: Access token does not have the required scopes"
                " (the token needs read:notifications or read)"
            )
            sb.faults.drop_streams()  # the same refusal on the next connection
            await wait_for(lambda: sum(e["event"] == "streaming.connected" for e in logs) >= 2)
            await wait_for(lambda: "refused" in state()["notifications"]["state"])
        finally:
            await runner.cleanup()
    refused = [e for e in logs if e["event"] == "streaming.refused"]
    assert len(refused) == 1  # once per episode, not once per connection
    assert refused[0]["missing_scope"] == "read:notifications"
    assert token not in repr(logs)
