"""The Mastodon side of Web Push: `/api/v1/push/subscription`, kept registered.

Mastodon keeps one subscription per access token; a POST replaces it. We register
`subscription[standard]=true` (RFC 8291 `aes128gcm`; servers before 4.4 ignore it and send
legacy `aesgcm`, which we decrypt too), an explicit alert for every type Mastodon knows (each
defaults to false), and `data[policy]`. The answer's `server_key` is the instance's VAPID key,
which every push must be signed with.

A loop (`start`) checks every `recheck_interval` that the subscription still exists and is
ours (Mastodon deletes it after some failed deliveries, or when the token is revoked) and
registers it again if not, at once when the public URL changes (`set_endpoint`) or when asked
(`recheck`: the account's token was refused, or replaced). A failure is
logged, shown in `state`, and retried with backoff (a refused token is not: the next try is
when it changes, or at the next interval); it never stops the daemon.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from mastod.config import NOTIFICATION_TYPES, NotificationsConfig
from mastod.logs import get_logger
from mastod.mastodon.client import Api
from mastod.mastodon.errors import MastodonError, NotFound, Unauthorized, UnexpectedResponse
from mastod.net import backoff_delay, origin
from mastod.push import b64
from mastod.push.keys import PushKeys
from mastod.redaction import redact_text
from mastod.tasks import TaskSet, stop_task

log = get_logger(__name__)

PATH = "/api/v1/push/subscription"


class PushSubscription:
    def __init__(
        self,
        api: Api,
        keys: PushKeys,
        notifications: NotificationsConfig,
        *,
        tasks: TaskSet,
        recheck_interval: float = 600.0,
        retry_initial: float = 5.0,
        retry_max: float = 300.0,
    ) -> None:
        self._api = api
        self._keys = keys
        self._wanted = frozenset(notifications.types)
        self._policy = notifications.policy
        self._tasks = tasks
        self.recheck_interval = recheck_interval
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.state = "not started"
        self.id: str | None = None
        self.standard: bool | None = None  # False: the server sends legacy aesgcm pushes
        self._server_key: bytes | None = None
        self._known_key = asyncio.Event()
        self._endpoint: str | None = None
        self._enabled: frozenset[str] | None = None  # alerts the server kept when we registered
        self._lock = asyncio.Lock()
        self._refused = False  # the last check failed on the token: retrying cannot help
        self._wake = asyncio.Event()
        self._loop: asyncio.Task[Any] | None = None

    @property
    def server_key(self) -> bytes | None:
        """The instance's VAPID public key (uncompressed point), once a call has returned it."""
        return self._server_key

    async def wait_server_key(self, within: float) -> bytes | None:
        """The VAPID key, waiting up to `within` seconds for the first check to learn it."""
        if self._known_key.is_set():  # every push but the first few: no timer, no task
            return self._server_key
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._known_key.wait(), within)
        return self._server_key

    async def register(self, endpoint_url: str) -> dict[str, Any]:
        """POST a new subscription for `endpoint_url` (replacing this token's old one)."""
        params = {
            "subscription": {
                "endpoint": endpoint_url,
                "keys": {"p256dh": self._keys.p256dh, "auth": self._keys.auth},
                "standard": True,
            },
            "data": {
                "alerts": {name: name in self._wanted for name in sorted(NOTIFICATION_TYPES)},
                "policy": self._policy,
            },
        }
        answer = _entity(await self._api.post(PATH, params))
        self._enabled = _enabled(answer)
        self._learn(answer)
        unsupported = sorted(self._wanted - self._enabled)
        log.info(
            "push.subscribed",
            id=self.id,
            standard=self.standard,
            endpoint=origin(endpoint_url),  # its path ends in the webhook secret
            policy=answer.get("policy"),
        )
        if unsupported:
            log.warning("push.alerts_not_supported", types=unsupported)
        if self.standard is False:
            log.info("push.legacy_server", detail="the server sends aesgcm pushes")
        return answer

    async def ensure(self, endpoint_url: str) -> bool:
        """Make sure Mastodon has our subscription for `endpoint_url`; True if it does now.

        Registers when there is none (404) or it differs (endpoint, alerts, policy). Never
        raises a Mastodon error: it is logged and kept in `state`.
        """
        async with self._lock:
            try:
                try:
                    current = _entity(await self._api.get(PATH))
                except NotFound:
                    log.info("push.subscription_missing")
                    current = None
                if current is not None and self._matches(current, endpoint_url):
                    self._learn(current)
                else:
                    await self.register(endpoint_url)
            except MastodonError as exc:
                self._refused = isinstance(exc, Unauthorized)
                # `status` shows this unredacted by any log pipeline: mask our secrets here
                self.state = f"error: {redact_text(exc.error)}"
                log.warning("push.subscribe_failed", error=exc.error, http_status=exc.http_status)
                return False
            except Exception:  # a bug of ours must not end the re-check loop for good
                self.state = "error: internal error (see the log)"
                log.exception("push.subscribe_crashed")
                return False
            self.state = "registered"
            return True

    async def unregister(self) -> None:
        """DELETE this token's subscription (clean shutdown with `webhook.unsubscribe_on_exit`)."""
        async with self._lock:
            try:
                await self._api.delete(PATH)
            except MastodonError as exc:
                self.state = f"error: {redact_text(exc.error)}"
                log.warning("push.unsubscribe_failed", error=exc.error, http_status=exc.http_status)
                return
            self.id = None
            self.state = "unregistered"
            log.info("push.unsubscribed")

    def set_endpoint(self, endpoint_url: str) -> None:
        """Use this endpoint from now on; the loop checks (and re-registers) at once."""
        self._endpoint = endpoint_url
        self._wake.set()

    def recheck(self) -> None:
        """Check at once instead of at the next interval (the account's token was refused or
        replaced: Mastodon drops the subscription of a revoked token)."""
        self._wake.set()

    def start(self, endpoint_url: str | None) -> None:
        """Start the check loop (for `endpoint_url`, or from the first `set_endpoint`)."""
        if endpoint_url is not None:
            self._endpoint = endpoint_url
        if self._loop is None:
            self._loop = self._tasks.spawn(self._run(), name="push.subscription")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        await stop_task(loop)

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            endpoint = self._endpoint
            if endpoint is None:
                self.state = "waiting for a public URL"
                await self._wake.wait()
                continue
            if await self.ensure(endpoint):
                delay, failures = self.recheck_interval, 0
            elif self._refused:  # until the token changes (`recheck`) or the next interval
                delay = self.recheck_interval
            else:
                delay = backoff_delay(failures, base=self.retry_initial, cap=self.retry_max)
                failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    def _matches(self, current: dict[str, Any], endpoint_url: str) -> bool:
        if current.get("endpoint") != endpoint_url:
            return False
        if "policy" in current and current["policy"] != self._policy:
            return False  # servers before 4.1 do not report the policy: nothing to compare
        expected = self._enabled if self._enabled is not None else self._wanted
        return _enabled(current) == expected

    def _learn(self, entity: dict[str, Any]) -> None:
        ident = entity.get("id")
        self.id = None if ident is None else str(ident)
        standard = entity.get("standard")
        self.standard = standard if isinstance(standard, bool) else None
        key = _server_key(entity.get("server_key"))
        if key is None:
            log.warning("push.server_key_unusable")
        else:
            self._server_key = key
            self._known_key.set()


def _entity(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise UnexpectedResponse("The push subscription answer is not an object")
    return data


def _enabled(entity: dict[str, Any]) -> frozenset[str]:
    alerts = entity.get("alerts")
    if not isinstance(alerts, dict):
        return frozenset()
    return frozenset(name for name, on in alerts.items() if on is True or on == "true")


def _server_key(value: object) -> bytes | None:
    if not isinstance(value, str):
        return None
    try:
        point = b64.decode(value)
    except ValueError:
        return None
    return point if len(point) == 65 and point[0] == 4 else None
