"""Web Push as one resource: keys, webhook listener, tunnel, subscription and receiver.

`start()` loads (or makes) the keys, starts the webhook listener, opens the tunnel and starts
the subscription loop; `close()` undoes it in reverse. The daemon runs the pair as one
aiohttp cleanup context and gives `on_push`, which is called with each verified, decrypted
`PushPayload` (no access token) in the background, after the push was acknowledged.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from mastod.config import Config
from mastod.listeners import GuardedSite
from mastod.logs import get_logger
from mastod.mastodon.client import Api
from mastod.push.errors import PushSetupError
from mastod.push.keys import load_or_create
from mastod.push.receiver import OnPush, PushReceiver
from mastod.push.subscription import PushSubscription
from mastod.push.webhook import create_webhook_app, push_path
from mastod.tasks import TaskSet
from mastod.tunnel import Tunnel

log = get_logger(__name__)


class PushService:
    def __init__(
        self,
        config: Config,
        api: Api,
        *,
        on_push: OnPush,
        tasks: TaskSet,
        recheck_interval: float = 600.0,
        tunnel_check_interval: float = 60.0,
        key_wait: float = 30.0,
    ) -> None:
        """`recheck_interval`: seconds between subscription checks; `key_wait`: how long a
        push that arrives before the instance's VAPID key is known waits for it."""
        self._config = config
        self._api = api
        self._on_push = on_push
        self._tasks = tasks
        self._recheck_interval = recheck_interval
        self._key_wait = key_wait
        self.tunnel = Tunnel(
            config.webhook,
            config.ngrok,
            config.state_dir,
            tasks=tasks,
            check_interval=tunnel_check_interval,
            on_url_change=self._url_changed,
        )
        self.subscription: PushSubscription | None = None
        self.receiver: PushReceiver | None = None
        self._secret: str | None = None
        self._runner: web.AppRunner | None = None
        self._site: GuardedSite | None = None
        self._listener: str | None = None
        self._phase = "not started"

    def endpoint(self, public_url: str) -> str:
        """The URL Mastodon pushes to: the public URL plus `/push/<secret>`."""
        if self._secret is None:
            raise RuntimeError("PushService.start() has not run")
        return public_url.rstrip("/") + push_path(self._secret)

    async def start(self) -> None:
        """Raise PushSetupError if the keys are unusable or the listener cannot bind; a
        tunnel or Mastodon failure is not raised but shown in `state()` and retried."""
        self._phase = "starting"
        try:
            secrets = await asyncio.to_thread(load_or_create, self._config.state_dir)
        except PushSetupError as exc:
            self._phase = f"error: {exc}"
            raise
        self._secret = secrets.webhook_secret
        subscription = PushSubscription(
            self._api,
            secrets.keys,
            self._config.notifications,
            tasks=self._tasks,
            recheck_interval=self._recheck_interval,
        )
        self.subscription = subscription

        async def server_key() -> bytes | None:
            return await subscription.wait_server_key(self._key_wait)

        self.receiver = PushReceiver(
            secrets.keys,
            server_key=server_key,
            audience=lambda: self.tunnel.public_url,
            on_push=self._on_push,
            clock_skew=self._config.webhook.clock_skew,
        )
        webhook = self._config.webhook
        app = create_webhook_app(
            secrets.webhook_secret,
            self.receiver,
            max_body_bytes=webhook.max_body_bytes,
            tasks=self._tasks,
        )
        # No access log: the request line holds the webhook secret.
        # An idle kept-alive connection is closed as soon as a slow one would be.
        runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=5.0, keepalive_timeout=webhook.read_timeout
        )
        await runner.setup()
        site = GuardedSite(
            runner,
            webhook.host,
            webhook.port,
            read_timeout=webhook.read_timeout,
            max_connections=webhook.max_connections,
            label="webhook",
            anonymous=True,  # the internet need not learn which software and version answer
        )
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            reason = f"webhook cannot listen on {webhook.host}:{webhook.port}: {exc.strerror}"
            self._phase = f"error: {reason}"
            raise PushSetupError(reason) from None
        self._runner, self._site = runner, site
        self._listener = f"{webhook.host}:{webhook.port}"
        log.info("push.listening", address=self._listener)
        url = await self.tunnel.start()
        subscription.start(None if url is None else self.endpoint(url))
        self._phase = "running"

    async def close(self) -> None:
        """Stop the loops, unsubscribe if configured, close the tunnel, stop listening."""
        subscription = self.subscription
        if subscription is not None:
            await subscription.stop()
            if self._config.webhook.unsubscribe_on_exit and subscription.id is not None:
                await subscription.unregister()
        await self.tunnel.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = self._site = None
        self._phase = "stopped"

    def state(self) -> dict[str, Any]:
        """For `status`: never holds a secret (the public URL is shown without our path)."""
        subscription, receiver, site = self.subscription, self.receiver, self._site
        skew = receiver.skew if receiver else None
        return {
            "source": "push",
            "state": self._phase,
            "listener": self._listener,
            "tunnel": self.tunnel.state,
            "public_url": self.tunnel.public_url,
            "subscription": subscription.state if subscription else "not started",
            "subscription_id": subscription.id if subscription else None,
            "standard": subscription.standard if subscription else None,
            "pushes": {
                "accepted": receiver.accepted if receiver else 0,
                "rejected": receiver.rejected if receiver else 0,
                "replayed": receiver.replayed if receiver else 0,
                "clock_skewed": receiver.skewed if receiver else 0,
            },
            # the offset of the current skew episode (from the pushes' `exp`), None if none
            "clock_skew_s": None if skew is None else round(skew),
            # connections the listener closed: refused at its cap, too slow with a request
            "connections": {
                "refused": site.refused if site else 0,
                "timed_out": site.timed_out if site else 0,
            },
        }

    def recheck(self) -> None:
        """Check the subscription now (the token was refused, or replaced)."""
        if self.subscription is not None:
            self.subscription.recheck()

    async def _url_changed(self, url: str) -> None:
        if self.subscription is not None and self._secret is not None:
            self.subscription.set_endpoint(self.endpoint(url))
