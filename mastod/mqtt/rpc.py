"""JSON-RPC over topics, through the one dispatcher every transport uses (same methods,
errors and limits). A request on `<prefix>/rpc` is answered on its MQTT 5 response topic with
its correlation data; one on `<prefix>/rpc/<name>` on `<prefix>/rpc/<name>/reply` (3.1.1
clients, Node-RED flows). `subscribe` is refused (-32010): MQTT already delivers
notifications. The notify entity's messages (`<prefix>/notify`) are posted as statuses.
"""

from __future__ import annotations

import asyncio
import json

import aiomqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from mastod.logs import get_logger
from mastod.mqtt.topics import Topics
from mastod.rpc import errors
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.wire import encode, error_frame
from mastod.tasks import TaskSet

log = get_logger(__name__)

MAX_IN_FLIGHT = 64  # requests running at once; reading the broker pauses beyond it


class MqttPeer:
    transport = "mqtt"


class MqttRpc:
    def __init__(
        self,
        dispatcher: Dispatcher,
        topics: Topics,
        *,
        qos: int,
        max_frame_bytes: int,
        visibility: str,
        tasks: TaskSet,
    ) -> None:
        self.dispatcher = dispatcher
        self.topics = topics
        self.qos = qos
        self.max_frame_bytes = max_frame_bytes
        self.visibility = visibility
        self.tasks = tasks
        self.peer = MqttPeer()
        self._slots = asyncio.Semaphore(MAX_IN_FLIGHT)
        self._warned_no_response_topic = False

    async def serve(self, client: aiomqtt.Client) -> None:
        """Answer requests until the connection fails (raises `MqttError`)."""
        topics = (self.topics.rpc, self.topics.rpc_named, self.topics.notify)
        await client.subscribe([(topic, self.qos) for topic in topics])
        async for message in client.messages:
            if message.retain:  # a request left on the broker: never run it at each connect
                log.warning("mqtt.retained_request_ignored", topic=str(message.topic)[:200])
                continue
            await self._slots.acquire()
            self.tasks.spawn(self._answer(client, message), name="rpc.mqtt")

    async def _answer(self, client: aiomqtt.Client, message: aiomqtt.Message) -> None:
        try:
            topic = str(message.topic)
            if topic == self.topics.notify:
                await self._post(client, message.payload)
                return
            reply_to, properties = self._reply_address(topic, message)
            answer = await self._dispatch(message.payload)
            if answer is not None and reply_to is not None:
                await client.publish(reply_to, answer.encode(), qos=self.qos, properties=properties)
        except aiomqtt.MqttError as exc:  # the connection went: the serve loop sees it too
            log.info("mqtt.reply_lost", error=str(exc))
        finally:
            self._slots.release()

    def _reply_address(
        self, topic: str, message: aiomqtt.Message
    ) -> tuple[str | None, Properties | None]:
        if topic != self.topics.rpc:
            return Topics.reply(topic), None
        received = message.properties
        response_topic = getattr(received, "ResponseTopic", None)
        if not response_topic:
            if not self._warned_no_response_topic:  # once: a misconfigured client repeats
                self._warned_no_response_topic = True
                log.warning(
                    "mqtt.rpc_without_response_topic", topic=topic, use=self.topics.rpc_named
                )
            return None, None
        properties = Properties(PacketTypes.PUBLISH)  # type: ignore[no-untyped-call]
        correlation = getattr(received, "CorrelationData", None)
        if correlation is not None:
            properties.CorrelationData = correlation
        return str(response_topic), properties

    async def _dispatch(self, payload: bytes | bytearray) -> str | None:
        if len(payload) > self.max_frame_bytes:
            error = errors.RpcError(
                errors.INVALID_REQUEST,
                f"Invalid request: frame larger than {self.max_frame_bytes} bytes",
            )
            return encode(error_frame(error))
        return await self.dispatcher.handle(bytes(payload), self.peer)

    async def _post(self, client: aiomqtt.Client, payload: bytes | bytearray) -> None:
        """Post the notify entity's message as a status; the answer goes to `<topic>/reply`."""
        text = bytes(payload).decode("utf-8", "replace")
        request = {
            "jsonrpc": "2.0",
            "method": "publish_status",
            "params": {"status": text, "visibility": self.visibility},
            "id": "notify",
        }
        answer = await self.dispatcher.handle(encode(request), self.peer)
        assert answer is not None  # a request with an id is always answered
        error = json.loads(answer).get("error")
        if error is not None:
            log.warning("mqtt.notify_failed", code=error["code"], error=error["message"])
        await client.publish(Topics.reply(self.topics.notify), answer.encode(), qos=self.qos)
