"""The MQTT bridge against a real mosquitto and the sandbox instance: notifications on their
topics exactly once across a broker restart, RPC over both topic forms, the retained state,
the notify entity, and a broker that is down when the daemon starts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mastod.mqtt.connection import backoff
from mastod.sandbox import RunningSandbox
from tests.integration.conftest import Rpc, start_daemon
from tests.integration.test_notifications import act
from tests.mqtt.conftest import Broker, mqtt_client, next_message, require_mosquitto, wait_for


def mqtt_section(broker: Broker, **extra: Any) -> dict[str, Any]:
    return {"mqtt": {"url": broker.url, "client_id": "mastod-test", **extra}}


def connected(rpc: Rpc) -> bool:
    return bool(rpc.daemon.state.status()["mqtt"]["state"] == "connected")


async def test_a_notification_arrives_on_its_topic(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    sections = {"notifications": {"source": "streaming"}, **mqtt_section(broker)}
    async with mqtt_client(broker, "mastod/notification/+") as watcher:
        rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
        try:
            await wait_for(lambda: connected(rpc))
            await wait_for(
                lambda: rpc.daemon.state.status()["notifications"]["state"] == "connected"
            )
            made = await act(upstream, "mention", text="@alice hello")
            message = await next_message(watcher)
            assert str(message.topic) == "mastod/notification/mention"
            assert not message.retain
            payload = json.loads(message.payload)
            assert payload["id"] == made[0]["id"]
            assert payload["type"] == "mention"
            # the same object `mastod listen` prints: what get_notifications returns
            listed = await rpc.call("get_notifications", {"limit": 1})
            assert payload == listed[0]
        finally:
            await runner.cleanup()


async def test_calls_over_both_topic_forms(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    rpc, runner = await start_daemon(tmp_path, upstream.url, mqtt_section(broker))
    try:
        await wait_for(lambda: connected(rpc))
        # MQTT 5: the answer on the response topic, with the correlation data
        async with mqtt_client(broker, "client/answers") as client:
            properties = Properties(PacketTypes.PUBLISH)
            properties.ResponseTopic = "client/answers"
            properties.CorrelationData = b"req-7"
            posted = await rpc.call("publish_status", {"status": "over MQTT"})
            request = {"jsonrpc": "2.0", "id": 7, "method": "get_status", "params": [posted["id"]]}
            await client.publish("mastod/rpc", json.dumps(request), qos=1, properties=properties)
            answer = await next_message(client)
            assert answer.properties is not None
            assert answer.properties.CorrelationData == b"req-7"
            reply = json.loads(answer.payload)
            assert reply["id"] == 7
            assert reply["result"]["id"] == posted["id"]
        # 3.1.1 (and Node-RED): <prefix>/rpc/<name> answered on <prefix>/rpc/<name>/reply
        async with mqtt_client(
            broker, "mastod/rpc/flow1/reply", protocol=aiomqtt.ProtocolVersion.V311
        ) as client:
            batch = [
                {"jsonrpc": "2.0", "id": 1, "method": "status"},
                {"jsonrpc": "2.0", "id": 2, "method": "subscribe"},
                {"jsonrpc": "2.0", "id": 3, "method": "no_such_method"},
            ]
            await client.publish("mastod/rpc/flow1", json.dumps(batch), qos=1)
            replies = {r["id"]: r for r in json.loads((await next_message(client)).payload)}
            assert replies[1]["result"]["mqtt"]["state"] == "connected"
            assert replies[2]["error"]["code"] == -32010
            assert "MQTT" in replies[2]["error"]["message"]
            assert replies[3]["error"]["code"] == -32601
            await client.publish("mastod/rpc/flow1", b"{not json", qos=1)
            assert json.loads((await next_message(client)).payload)["error"]["code"] == -32700
    finally:
        await runner.cleanup()


async def test_availability_state_and_the_notify_entity(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    sections = mqtt_section(broker, notify_visibility="private")
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    try:
        await wait_for(lambda: connected(rpc))
        async with mqtt_client(broker, "mastod/status", "mastod/state") as client:
            seen: dict[str, aiomqtt.Message] = {}
            while len(seen) < 2:
                message = await next_message(client)
                seen[str(message.topic)] = message
            assert seen["mastod/status"].payload == b"online"
        # subscribed after it was published (the first subscription may have seen it live)
        async with mqtt_client(broker, "mastod/status") as later:
            online = await next_message(later)
            assert (online.payload, online.retain) == (b"online", True)
        state = json.loads(seen["mastod/state"].payload)
        assert state["mqtt"]["state"] == "connected"
        assert "uptime_s" not in state
        async with mqtt_client(broker, "mastod/notify/reply") as client:
            await client.publish("mastod/notify", "The washing machine is done", qos=1)
            reply = json.loads((await next_message(client)).payload)
            status = reply["result"]
            assert status["visibility"] == "private"
            assert "washing machine" in status["content"]
    finally:
        await runner.cleanup()
    async with mqtt_client(broker, "mastod/status") as client:
        assert (await next_message(client)).payload == b"offline"  # said on a clean stop


async def test_broker_down_at_start_then_up(tmp_path: Path, upstream: RunningSandbox) -> None:
    require_mosquitto()
    broker = Broker(tmp_path / "broker")
    rpc, runner = await start_daemon(tmp_path, upstream.url, mqtt_section(broker))
    try:
        await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["state"] == "disconnected")
        status = await rpc.call("status")  # RPC is served all the same
        assert status["mqtt"]["state"] == "disconnected"
        assert "refused" in status["mqtt"]["error"].lower()
        await broker.start()
        await wait_for(lambda: connected(rpc), timeout=60 + 2 * backoff(1))
    finally:
        await runner.cleanup()
        await broker.stop()


async def test_broker_restart_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    """Notifications keep coming while the broker is away; the watcher (a persistent
    session, as Home Assistant's is) gets every one exactly once, in the order stored.
    QoS 2 end to end: with QoS 1 the broker itself may redeliver to the watcher what it had
    not seen acknowledged when it stopped, which says nothing about the bridge."""
    sections = {"notifications": {"source": "streaming"}, **mqtt_section(broker, qos=2)}
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    kinds = ("mention", "favourite", "follow", "reblog")
    received: list[str] = []

    async def collect(client: aiomqtt.Client, count: int) -> None:
        while len(received) < count:
            received.append(json.loads((await next_message(client, 60)).payload)["id"])

    watcher = {"identifier": "watcher", "clean_session": False, "qos": 2}
    watch = ("mastod/notification/+",)
    protocol = aiomqtt.ProtocolVersion.V311
    try:
        await wait_for(lambda: connected(rpc))
        await wait_for(lambda: rpc.daemon.state.status()["notifications"]["state"] == "connected")
        made: list[str] = []
        async with mqtt_client(broker, *watch, protocol=protocol, **watcher) as client:  # type: ignore[arg-type]
            for kind in kinds:
                made += [n["id"] for n in await act(upstream, kind, text="@alice one")]
            await collect(client, len(made))
        await broker.stop()
        await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["state"] == "disconnected")
        for kind in kinds:  # while the broker is down: stored, published later
            made += [n["id"] for n in await act(upstream, kind, text="@alice two")]
        await broker.start()
        for kind in kinds:  # while the bridge reconnects and catches up
            made += [n["id"] for n in await act(upstream, kind, text="@alice three")]
        async with mqtt_client(broker, *watch, protocol=protocol, **watcher) as client:  # type: ignore[arg-type]
            await collect(client, len(made))
            await wait_for(lambda: connected(rpc))
        assert received == made, (received, made)  # each once, in the order stored
        assert len(set(made)) == len(made) == 3 * len(kinds)
        # the bridge counts each once the broker acknowledged it (after the watcher got it)
        await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["published"] >= len(made))
        assert rpc.daemon.state.status()["mqtt"]["published"] == len(made)
    finally:
        await runner.cleanup()


async def test_rpc_limits_and_retained_requests(
    tmp_path: Path, upstream: RunningSandbox, broker: Broker
) -> None:
    """The frame limit of the other transports applies; a retained request (left on the
    broker) is never run, at this connect or any later one."""
    sections = {**mqtt_section(broker), "rpc": {"max_frame_bytes": 2000}}
    async with mqtt_client(broker) as setter:  # before the daemon connects
        post = {"jsonrpc": "2.0", "id": 1, "method": "publish_status", "params": ["retained!"]}
        await setter.publish("mastod/rpc/old", json.dumps(post), qos=1, retain=True)
    rpc, runner = await start_daemon(tmp_path, upstream.url, sections)
    try:
        await wait_for(lambda: connected(rpc))
        async with mqtt_client(broker, "mastod/rpc/big/reply", "mastod/rpc/old/reply") as client:
            big = {"jsonrpc": "2.0", "id": 2, "method": "status", "params": {"x": "y" * 3000}}
            await client.publish("mastod/rpc/big", json.dumps(big), qos=1)
            message = await next_message(client)
            assert str(message.topic) == "mastod/rpc/big/reply"
            error = json.loads(message.payload)["error"]
            assert error["code"] == -32600
            assert "larger than 2000 bytes" in error["message"]
        # the retained request came first (at subscribe), and nothing was posted
        posts = [r for r in upstream.sandbox.recorded if r.path == "/api/v1/statuses"]
        assert [r for r in posts if r.method == "POST"] == []
    finally:
        await runner.cleanup()
