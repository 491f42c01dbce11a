"""The bridge's lifecycle: connect, announce, serve, and reconnect with jittered backoff.

Each connection runs one session: `online` (retained) on `<prefix>/status`, the discovery
configs, then three loops side by side — notifications from the log, the retained state,
requests — until one of them sees the connection fail. The daemon never waits for the
broker: a broker that is down at start or later shows as `mqtt.state: disconnected` with
the reason in `status`, logged once per episode, and the bridge keeps trying.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiomqtt
from aiohttp import web
from aiomqtt import ProtocolVersion

from mastod.config import Config, MqttConfig
from mastod.logs import get_logger
from mastod.mqtt import discovery
from mastod.mqtt.connection import (
    OFFLINE,
    ONLINE,
    Link,
    backoff,
    failure_of,
    make_client,
    protocol_name,
    reason,
    refused_protocol,
)
from mastod.mqtt.publisher import Position, publish_notifications
from mastod.mqtt.rpc import MqttRpc
from mastod.mqtt.topics import Topics
from mastod.notify.hub import Hub
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.wire import encode
from mastod.tasks import TaskSet

log = get_logger(__name__)

STATE_INTERVAL = 2.0  # seconds between checks of `status` for a change worth republishing
# `status` fields that change all the time without saying anything new
_VOLATILE = ("uptime_s",)


class MqttBridge:
    """`start()`/`close()` bracket it (one cleanup context, after the hub's)."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        hub: Hub,
        dispatcher: Dispatcher,
        position: Position,
        status: Callable[[], dict[str, Any]],
        account: Callable[[], Mapping[str, Any] | None],
        base_url: str,
        max_frame_bytes: int,
    ) -> None:
        self.config = config
        self.hub = hub
        self.position = position
        self.status = status
        self.account = account
        self.base_url = base_url
        self.topics = Topics(config.topic_prefix)
        self.link = Link(broker=config.url)
        self.tasks = TaskSet("mqtt")
        self.rpc = MqttRpc(
            dispatcher,
            self.topics,
            qos=config.qos,
            max_frame_bytes=max_frame_bytes,
            visibility=config.notify_visibility,
            tasks=self.tasks,
        )
        self._protocol = ProtocolVersion.V5
        self._client: aiomqtt.Client | None = None
        self._warned_no_account = False
        self._closing = False

    @classmethod
    def for_daemon(
        cls,
        config: Config,
        hub: Hub,
        dispatcher: Dispatcher,
        *,
        status: Callable[[], dict[str, Any]],
        account: Callable[[], Mapping[str, Any] | None],
    ) -> MqttBridge:
        assert config.mqtt is not None
        return cls(
            config.mqtt,
            hub=hub,
            dispatcher=dispatcher,
            position=Position(config.state_dir),
            status=status,
            account=account,
            base_url=config.mastodon.base_url,
            max_frame_bytes=config.rpc.max_frame_bytes,
        )

    async def context(self, _: web.Application) -> AsyncIterator[None]:
        """The bridge as an aiohttp cleanup context: after the hub, the account check and
        the sources, so it starts from what they set up and stops before them."""
        await self.start()
        yield
        await self.close()

    async def start(self) -> None:
        self.position.begin(self.hub.store.newest_id())
        self.tasks.spawn(self._run(), name="mqtt.bridge")

    async def close(self) -> None:
        """Say `offline` ourselves (a clean disconnect sends no will), then disconnect."""
        self._closing = True
        client = self._client
        if client is not None and self.link.state == "connected":
            # a broker that is gone publishes the will instead
            with contextlib.suppress(aiomqtt.MqttError):
                await client.publish(self.topics.status, OFFLINE, qos=1, retain=True)
        await self.tasks.cancel()
        self.position.close()

    def state(self) -> dict[str, Any]:
        return self.link.as_dict()

    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                client = make_client(self.config, self._protocol, self.topics.status)
                async with client:
                    self._client = client
                    self.link.connected(self._protocol)
                    failures = 0
                    log.info("mqtt.connected", broker=self.config.url, protocol=self.link.protocol)
                    await self._session(client)
            except aiomqtt.MqttError as exc:
                if self._protocol is ProtocolVersion.V5 and refused_protocol(exc):
                    self._protocol = ProtocolVersion.V311
                    log.info("mqtt.protocol_fallback", protocol=protocol_name(self._protocol))
                    continue
                self._failed(reason(exc))
            except OSError as exc:  # the TLS files (checked at start) went missing since
                self._failed(reason(exc))
            except Exception:  # a bug: logged, and the bridge carries on after the backoff
                log.exception("mqtt.session_failed")
                self._failed("internal error")
            finally:
                self._client = None
            if self._closing:  # a failure on the way out (a DISCONNECT timing out) took the
                return  # CancelledError's place: stop all the same
            failures += 1
            await asyncio.sleep(backoff(failures))

    def _failed(self, why: str) -> None:
        if self.link.disconnected(why):
            log.warning("mqtt.disconnected", broker=self.config.url, error=why)
        else:
            log.debug("mqtt.reconnect_failed", broker=self.config.url, error=why)

    async def _session(self, client: aiomqtt.Client) -> None:
        """Serve one connection until one of its loops fails (raises its error). Not a
        TaskGroup: Python 3.11's leaves the task marked as cancelling after a child fails."""
        await client.publish(self.topics.status, ONLINE, qos=1, retain=True)
        loops = [
            publish_notifications(
                client, self.hub, self.topics, self.config.qos, self.position, self.link
            ),
            self._publish_state(client),
            self.rpc.serve(client),
        ]
        running = [self.tasks.spawn(failure_of(loop), name="mqtt.session") for loop in loops]
        try:
            done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in running:
                task.cancel()
            await asyncio.gather(*running, return_exceptions=True)
        # what ended the session (a bug raises itself)
        raise next(iter(done)).result() or aiomqtt.MqttError("the session ended")

    async def _announce(self, client: aiomqtt.Client) -> bool:
        """Retain the discovery configs; False while the account is not known (they name it)."""
        account = self.account()
        if account is None or not account.get("id"):
            if not self._warned_no_account:
                self._warned_no_account = True
                log.warning("mqtt.discovery_waiting", reason="the account is not verified")
            return False
        for topic, payload in discovery.messages(
            account,
            self.base_url,
            self.topics,
            discovery_prefix=self.config.discovery_prefix,
            qos=self.config.qos,
        ):
            await client.publish(topic, payload.encode(), qos=1, retain=True)
        return True

    async def _publish_state(self, client: aiomqtt.Client) -> None:
        """The state when it changes; the discovery configs first (or once the account is
        verified, if it was not yet)."""
        last = None
        announced = not self.config.discovery
        while True:
            if not announced:
                announced = await self._announce(client)
            document = {k: v for k, v in self.status().items() if k not in _VOLATILE}
            text = encode(document)
            if text != last:
                await client.publish(self.topics.state, text.encode(), qos=1, retain=True)
                last = text
            await asyncio.sleep(STATE_INTERVAL)
