"""MQTT 5 when the broker speaks it, 3.1.1 otherwise: against a broker that refuses MQTT 5
the way 3.1.1 brokers do (CONNACK return code 1), the bridge connects again with 3.1.1.

mosquitto speaks 5, so this broker is a small fake speaking just enough 3.1.1 (CONNECT,
PUBLISH at QoS 1, SUBSCRIBE, PINGREQ, DISCONNECT)."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from mastod.mqtt.connection import refused_protocol
from mastod.sandbox import RunningSandbox
from tests.integration.conftest import start_daemon
from tests.mqtt.conftest import wait_for


class Mqtt311Broker:
    def __init__(self) -> None:
        self.levels: list[int] = []  # protocol level of each CONNECT
        self.topics: list[str] = []  # of each PUBLISH

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                header = (await reader.readexactly(1))[0]
                length, shift = 0, 0
                while True:
                    byte = (await reader.readexactly(1))[0]
                    length |= (byte & 0x7F) << shift
                    shift += 7
                    if not byte & 0x80:
                        break
                body = await reader.readexactly(length)
                kind = header >> 4
                if kind == 1:  # CONNECT: "\0\4MQTT", then the protocol level
                    self.levels.append(body[6])
                    if body[6] != 4:
                        writer.write(b"\x20\x02\x00\x01")  # refused: protocol version
                        await writer.drain()
                        break
                    writer.write(b"\x20\x02\x00\x00")
                elif kind == 3:  # PUBLISH
                    size = int.from_bytes(body[:2])
                    self.topics.append(body[2 : 2 + size].decode())
                    if (header >> 1) & 3:
                        writer.write(b"\x40\x02" + body[2 + size : 4 + size])  # PUBACK
                elif kind == 8:  # SUBSCRIBE: packet id, then (filter, options) pairs
                    granted, at = bytearray(), 2
                    while at < len(body):
                        at += 2 + int.from_bytes(body[at : at + 2]) + 1
                        granted.append(1)
                    writer.write(bytes([0x90, 2 + len(granted)]) + body[:2] + granted)
                elif kind == 12:  # PINGREQ
                    writer.write(b"\xd0\x00")
                elif kind == 14:  # DISCONNECT
                    break
                await writer.drain()
        writer.close()


async def test_a_broker_without_mqtt5_gets_3_1_1(tmp_path: Path, upstream: RunningSandbox) -> None:
    fake = Mqtt311Broker()
    server = await asyncio.start_server(fake.serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    mqtt = {"url": f"mqtt://127.0.0.1:{port}", "discovery": False}
    rpc, runner = await start_daemon(tmp_path, upstream.url, {"mqtt": mqtt})
    try:
        await wait_for(lambda: rpc.daemon.state.status()["mqtt"]["state"] == "connected")
        assert rpc.daemon.state.status()["mqtt"]["protocol"] == "3.1.1"
        assert fake.levels[:2] == [5, 4]
        await wait_for(lambda: "mastod/state" in fake.topics)
        assert fake.topics[0] == "mastod/status"
    finally:
        await runner.cleanup()
        server.close()
        await server.wait_closed()


def test_only_a_protocol_refusal_downgrades() -> None:
    from aiomqtt.exceptions import MqttConnectError
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.reasoncodes import ReasonCode

    assert refused_protocol(MqttConnectError(1))
    assert refused_protocol(MqttConnectError(ReasonCode(PacketTypes.CONNACK, identifier=0x84)))
    assert not refused_protocol(MqttConnectError(5))  # not authorised
    assert not refused_protocol(MqttConnectError(ReasonCode(PacketTypes.CONNACK, identifier=0x87)))
