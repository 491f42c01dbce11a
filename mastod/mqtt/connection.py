"""The broker connection, built from the `mqtt` config: an aiomqtt client per attempt (MQTT 5
first, 3.1.1 when the broker refuses 5), the will that marks the daemon offline, and what
`status` says about the link. The password goes to the client only, never to a log line."""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiomqtt
from aiomqtt import ProtocolVersion
from aiomqtt.exceptions import MqttConnectError

from mastod.config import MqttConfig
from mastod.net import backoff_delay

TIMEOUT = 10.0  # seconds for CONNACK, PUBACK and SUBACK before the link counts as down
KEEPALIVE = 30  # seconds: how soon the broker notices a vanished daemon and sends the will
BACKOFF_FIRST = 0.5  # seconds before the first reconnect; doubles, with jitter
BACKOFF_CAP = 60.0
# CONNACK refusals meaning "not this protocol version": 3.1.1's 1, MQTT 5's 0x84
_UNSUPPORTED_PROTOCOL = frozenset({1, 0x84})
OFFLINE = b"offline"
ONLINE = b"online"

_PROTOCOL_NAMES = {ProtocolVersion.V5: "5", ProtocolVersion.V311: "3.1.1"}


def backoff(failures: int) -> float:
    """Seconds before reconnect attempt number `failures` (1, 2, ...), jittered so that
    daemons that lost one broker together do not all come back at the same instant."""
    return backoff_delay(max(failures - 1, 0), base=BACKOFF_FIRST, cap=BACKOFF_CAP)


def client_id(config: MqttConfig) -> str:
    """`mqtt.client_id`, else one per host and topic prefix: two daemons on one host (two
    profiles) need different prefixes anyway, and a broker disconnects the older of two
    clients that share an id."""
    if config.client_id:
        return config.client_id
    return f"mastod-{socket.gethostname()}-{config.topic_prefix.replace('/', '_')}"


def make_client(config: MqttConfig, protocol: ProtocolVersion, will_topic: str) -> aiomqtt.Client:
    parts = urlsplit(config.url)
    secure = parts.scheme == "mqtts"
    return aiomqtt.Client(
        parts.hostname or "localhost",
        parts.port or (8883 if secure else 1883),
        username=config.username,
        password=config.password,
        identifier=client_id(config),
        protocol=protocol,
        will=aiomqtt.Will(will_topic, OFFLINE, qos=1, retain=True),
        tls_context=_tls_context(config) if secure else None,
        timeout=TIMEOUT,
        keepalive=KEEPALIVE,
        logger=logging.getLogger("mastod.mqtt.client"),
    )


def _tls_context(config: MqttConfig) -> ssl.SSLContext:
    ca_file = config.tls.ca_file
    context = ssl.create_default_context(cafile=None if ca_file is None else str(ca_file))
    if not config.tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def refused_protocol(exc: aiomqtt.MqttError) -> bool:
    """Whether the broker refused the connection for its protocol version."""
    rc = getattr(exc, "rc", None)
    value = getattr(rc, "value", rc)
    return isinstance(exc, MqttConnectError) and value in _UNSUPPORTED_PROTOCOL


def protocol_name(protocol: ProtocolVersion) -> str:
    return _PROTOCOL_NAMES[protocol]


def reason(exc: BaseException) -> str:
    """One line about why the link failed (aiomqtt's text names no credential)."""
    text = str(exc) or type(exc).__name__
    cause = exc.__cause__
    if text in ("Disconnected during message iteration", "Unexpected disconnection") and cause:
        text = f"{text}: {cause}"
    return " ".join(text.split())[:200]


@dataclass
class Link:
    """What `status` shows under `mqtt`."""

    broker: str
    state: str = "connecting"
    error: str | None = None
    protocol: str | None = None
    since: float = field(default_factory=time.time)
    published: int = 0  # notifications the broker acknowledged since the daemon started

    def connected(self, protocol: ProtocolVersion) -> None:
        self.state, self.error, self.since = "connected", None, time.time()
        self.protocol = protocol_name(protocol)

    def disconnected(self, error: str) -> bool:
        """Record the failure; True when it starts an episode (worth one log line)."""
        episode = self.state != "disconnected"
        if episode:
            self.since = time.time()
        self.state, self.error = "disconnected", error
        return episode

    def as_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "broker": self.broker,
            "protocol": self.protocol,
            "error": self.error,
            "since": round(self.since, 3),
            "published": self.published,
        }


async def failure_of(work: Coroutine[Any, Any, None]) -> aiomqtt.MqttError | None:
    """Run `work`; the connection failure that ended it, as a value (None: it ended by
    itself). The bridge's tasks return it rather than raise it: a lost broker is an outcome
    the bridge acts on, not a task failure for `TaskSet` to report."""
    try:
        await work
    except aiomqtt.MqttError as exc:
        return exc
    return None
