"""Fan-out over real Unix-socket and WebSocket connections on loopback."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from mastod.mastodon.shaping import shape
from mastod.notify.hub import Hub
from mastod.notify.store import encode
from tests.notify.conftest import TRANSPORTS, Client, Opener, Rpc, note, until


async def test_every_subscriber_gets_every_notification_once_in_order(rpc: Rpc) -> None:
    clients = [await rpc.unix(), await rpc.unix(), await rpc.websocket()]
    subs = [await c.subscribe() for c in clients]
    assert len(set(subs)) == 3
    assert rpc.hub.subscriber_count == 3
    ids = [str(i) for i in range(95, 295)]  # crosses "99" -> "100"
    for nid in ids:
        await rpc.ingest(note(nid))
        await asyncio.sleep(0)
    await rpc.ingest(note(9999, "follow"))  # the end marker
    for client, sub in zip(clients, subs, strict=True):
        frames: list[dict[str, Any]] = []
        while not frames or frames[-1]["params"]["notification"]["id"] != "9999":
            frames.append(await client.next_message())
        assert [f["params"]["notification"]["id"] for f in frames] == [*ids, "9999"]
        assert {f["params"]["subscription"] for f in frames} == {sub}
        assert frames[0] == {
            "jsonrpc": "2.0",
            "method": "notification",
            "params": {"subscription": sub, "notification": shape(note("95"))},
        }
    status = frames[0]["params"]["notification"]["status"]
    assert "attachments" in status
    assert "hashtags" in status


@TRANSPORTS
async def test_types_filter(rpc: Rpc, open_client: Opener) -> None:
    client = await open_client(rpc)
    await client.subscribe(types=["follow", "favourite"])
    kinds = ["mention", "follow", "reblog", "favourite", "follow", "poll", "mention", "follow"]
    for nid, kind in enumerate(kinds, start=1):
        await rpc.ingest(note(nid, kind))
    assert await client.notifications_until("8") == ["2", "4", "5", "8"]


async def test_empty_or_blank_types_are_invalid_params(rpc: Rpc) -> None:
    client = await rpc.unix()
    for types in ([], [""]):
        answer = await client.call("subscribe", {"types": types})
        assert answer["error"]["code"] == -32602
        assert "types" in answer["error"]["message"]
    assert rpc.hub.subscriber_count == 0


@pytest.mark.parametrize("replay_page", [7])
async def test_since_id_replay_then_live_no_gap_no_duplicate(rpc: Rpc) -> None:
    """Subscribers join at different moments, with different since_ids, while notifications
    are being ingested; each gets exactly the ids after its since_id, in order."""
    stored = [str(i) for i in range(1, 301)]
    await rpc.ingest(*(note(nid) for nid in stored))
    live = [str(i) for i in range(301, 701)]

    async def publisher() -> None:
        for n, nid in enumerate(live):
            await rpc.ingest(note(nid))
            if n % 3:
                await asyncio.sleep(0)

    async def subscriber(since_id: str, delay_steps: int, websocket: bool) -> list[str]:
        for _ in range(delay_steps):
            await asyncio.sleep(0)
        client = await (rpc.websocket() if websocket else rpc.unix())
        await client.send(
            {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"since_id": since_id}}
        )
        first = await client.recv()
        assert first["id"] == 1
        assert "subscription" in first["result"]
        return await client.notifications_until("700")

    cases = [("0", 0), ("", 3), ("150", 10), ("299", 40), ("300", 90), ("350", 200), ("9", 5)]
    results = await asyncio.gather(
        publisher(),
        *(subscriber(s, d, n % 2 == 1) for n, (s, d) in enumerate(cases)),
    )
    everything = stored + live
    for (since, _), got in zip(cases, results[1:], strict=True):
        expected = [i for i in everything if (len(i), i) > (len(since), since)]
        assert got == expected, since


@TRANSPORTS
async def test_a_late_arrival_reaches_live_and_resuming_subscribers_in_stored_order(
    rpc: Rpc, open_client: Opener
) -> None:
    """Mastodon can make a lower id visible after a higher one: it is new to everyone, and
    since_id is a position in the order stored, not an id threshold."""
    await rpc.ingest(note(1), note(2), note(5))
    live = await open_client(rpc)
    await live.subscribe()
    await rpc.ingest(note(3), note(6))  # 3 comes late, after 5
    assert await live.notifications_until("6") == ["3", "6"]
    for since, expected in (("5", ["3", "6"]), ("2", ["5", "3", "6"]), ("3", ["6"])):
        resumed = await open_client(rpc)
        await resumed.subscribe(since_id=since)
        assert await resumed.notifications_until("6") == expected, since
    # an id the store does not hold: what was stored before counts by id order, what is
    # stored after the subscription counts whatever its id, but for that id itself (the
    # subscriber has it; the log lost it to a torn write and a backfill brought it again)
    unknown = await open_client(rpc)
    await unknown.subscribe(since_id="4")
    assert await unknown.notifications_until("6") == ["5", "6"]
    await rpc.ingest(note(4), note(0))
    assert await unknown.notifications_until("0") == ["0"]
    assert await live.notifications_until("0") == ["4", "0"]


async def test_since_id_as_an_integer(rpc: Rpc) -> None:
    await rpc.ingest(*(note(i) for i in range(1, 6)))
    client = await rpc.unix()
    await client.subscribe(since_id=3)
    assert await client.notifications_until("5") == ["4", "5"]


@TRANSPORTS
@pytest.mark.parametrize("queue_size", [64])
async def test_a_stalled_subscriber_delays_nobody_and_gets_dropped(
    rpc: Rpc, open_client: Opener, queue_size: int
) -> None:
    stalled = await open_client(rpc)
    stalled_sub = await stalled.subscribe()
    readers = [await rpc.unix(), await rpc.websocket()]
    for reader in readers:
        await reader.subscribe()
    received: list[list[str]] = [[], []]

    async def read(client: Client, into: list[str]) -> None:
        while True:
            frame = await client.next_message()
            into.append(frame["params"]["notification"]["id"])

    def caught_up(count: int) -> Callable[[], bool]:
        return lambda: all(len(r) >= count for r in received)

    tasks = [asyncio.create_task(read(c, r)) for c, r in zip(readers, received, strict=True)]
    ids = [str(i) for i in range(1000, 4000)]
    most_queued = 0
    for start in range(0, len(ids), 20):
        for nid in ids[start : start + 20]:
            await rpc.ingest(note(nid, pad=2000))
            most_queued = max(most_queued, rpc.hub.queued(stalled_sub) or 0)
        # the publisher paces itself on the readers only; the stalled client never reads
        await until(caught_up(start + 20))
    for task in tasks:
        task.cancel()
    assert received == [ids, ids]
    assert most_queued <= queue_size  # memory stays bounded while it does not read
    assert rpc.hub.queued(stalled_sub) is None  # ended: overflowed
    assert rpc.hub.subscriber_count == 2

    got: list[str] = []
    while True:
        frame = await stalled.next_message()
        if frame["method"] == "dropped":
            break
        assert frame["params"]["subscription"] == stalled_sub
        got.append(frame["params"]["notification"]["id"])
    assert got == ids[: len(got)]
    assert len(got) < len(ids)
    assert frame["params"] == {"subscription": stalled_sub, "since_id": got[-1]}
    await stalled.subscribe(since_id=frame["params"]["since_id"])
    assert await stalled.notifications_until(ids[-1]) == ids[len(got) :]


@pytest.mark.parametrize("queue_size", [5])
@TRANSPORTS
async def test_a_burst_larger_than_the_queue_does_not_drop_a_subscriber_that_keeps_up(
    rpc: Rpc, open_client: Opener
) -> None:
    # A catch-up stores a page (up to 80) in one step: a connection that is not making us
    # wait takes it all; the bound is for one that does (a stalled reader).
    await rpc.ingest(note(10))
    client = await open_client(rpc)
    await client.subscribe()
    for nid in range(11, 31):  # one loop step, four times the queue
        assert await rpc.intake.ingest(note(nid))
    assert await client.notifications_until("30") == [str(i) for i in range(11, 31)]
    assert rpc.hub.subscriber_count == 1


@TRANSPORTS
async def test_unsubscribe(rpc: Rpc, open_client: Opener) -> None:
    client, other = await open_client(rpc), await rpc.unix()
    everything = await client.subscribe()
    follows = await client.subscribe(types=["follow"])
    theirs = await other.subscribe()
    assert rpc.hub.subscriber_count == 3
    await rpc.ingest(note(1))
    assert (await client.next_message())["params"]["subscription"] == everything
    assert (await client.call("unsubscribe", {"subscription": theirs}))["result"] is False
    assert (await client.call("unsubscribe", [everything]))["result"] is True
    assert (await client.call("unsubscribe", [everything]))["result"] is False
    assert rpc.hub.subscriber_count == 2
    await rpc.ingest(note(2), note(3, "follow"))
    frame = await client.next_message()
    assert frame["params"]["subscription"] == follows
    assert frame["params"]["notification"]["id"] == "3"
    assert await other.notifications_until("3") == ["1", "2", "3"]


async def test_closing_the_connection_ends_its_subscriptions(rpc: Rpc) -> None:
    unix, ws = await rpc.unix(), await rpc.websocket()
    for client in (unix, ws):
        await client.subscribe()
        await client.subscribe(types=["mention"])
    assert rpc.hub.subscriber_count == 4
    await unix.close()
    await until(lambda: rpc.hub.subscriber_count == 2)
    await ws.close()
    await until(lambda: rpc.hub.subscriber_count == 0)
    await rpc.ingest(note(1))  # nobody is left to send it to; nothing breaks


async def test_the_answer_precedes_the_first_replayed_notification_in_a_batch(
    rpc: Rpc,
) -> None:
    await rpc.ingest(*(note(i) for i in range(1, 4)))
    client = await rpc.unix()
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": {"since_id": "0"}},
        {"jsonrpc": "2.0", "id": 2, "method": "subscribe", "params": {"since_id": "2"}},
    ]
    client.writer.write(json.dumps(batch).encode() + b"\n")
    answer: Any = json.loads(await client.reader.readline())
    assert isinstance(answer, list)
    assert len(answer) == 2
    frames = [await client.recv() for _ in range(4)]
    assert sorted(f["params"]["notification"]["id"] for f in frames) == ["1", "2", "3", "3"]


async def test_publish_serialises_nothing_per_subscriber(
    rpc: Rpc, monkeypatch: pytest.MonkeyPatch
) -> None:
    clients = [await rpc.unix() for _ in range(100)]
    for client in clients:
        await client.subscribe()
    calls: list[object] = []

    def counting(real: Callable[..., Any]) -> Callable[..., Any]:
        def dumps(obj: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(obj)
            return real(obj, *args, **kwargs)

        return dumps

    # every JSON encoder the daemon has (`mastod.jsontext`: orjson, else the stdlib)
    monkeypatch.setattr(json, "dumps", counting(json.dumps))
    monkeypatch.setattr(orjson, "dumps", counting(orjson.dumps))
    await rpc.ingest(note(42))
    frames = [await client.recv() for client in clients]
    monkeypatch.undo()
    assert len(calls) == 1  # intake's one encode, for the store and every subscriber
    text = encode(shape(note(42)))
    assert all(f["params"]["notification"] == json.loads(text) for f in frames)


async def test_subscribing_needs_a_running_hub(rpc: Rpc, hub: Hub) -> None:
    await hub.close()
    client = await rpc.unix()
    answer = await client.call("subscribe")
    assert answer["error"] == {"code": -32603, "message": "Internal error"}


@TRANSPORTS
async def test_the_answer_names_the_position_a_reconnect_resumes_from(
    rpc: Rpc, open_client: Opener
) -> None:
    client = await open_client(rpc)
    answer = (await client.call("subscribe", {}))["result"]
    assert answer["since_id"] == ""  # an empty log: resuming replays all that comes
    await rpc.ingest(note(1), note(3), note(2))  # stored order: 1, 3, 2
    assert await client.notifications_until("2") == ["1", "3", "2"]
    live = (await client.call("subscribe", {}))["result"]
    assert live["since_id"] == "2"  # the one stored last, not the highest id
    await rpc.ingest(note(4))
    resumed = await open_client(rpc)
    await resumed.subscribe(since_id=live["since_id"])
    assert await resumed.notifications_until("4") == ["4"]
    replay = (await resumed.call("subscribe", {"since_id": "1"}))["result"]
    assert replay["since_id"] == "1"
