"""Where notifications come from: Web Push through the webhook, or the streaming API, chosen
from `notifications.source` (`auto`: push when a public URL can be had — `webhook.public_url`
or an ngrok auth token — else streaming, which needs an access token). Both feed the one
`Intake`; a catch-up backfill covers what arrived while the daemon was down."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from mastod.config import Config
from mastod.logs import get_logger
from mastod.mastodon.client import MastodonClient
from mastod.notify.backfill import catch_up
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore
from mastod.notify.streaming import StreamingSource
from mastod.tasks import TaskSet

# seconds after a catch-up run that found nothing new before the next one starts
CATCH_UP_SPACING = 0.1

if TYPE_CHECKING:  # the push stack (cryptography, http_ece, pyngrok: ~9 MiB) loads on demand
    from mastod.push.decrypt import PushPayload
    from mastod.push.service import PushService

log = get_logger(__name__)


def choose_source(config: Config) -> str:
    """The source `notifications.source` asks for, with `auto` resolved."""
    source = config.notifications.source
    if source != "auto":
        return source
    if config.webhook.public_url or config.ngrok.auth_token:
        return "push"
    return "streaming" if config.mastodon.access_token else "none"


def _backoff(failures: int) -> float:
    return min(300.0, 2.0 ** min(failures, 8)) * (0.5 + random.random())  # noqa: S311


class Sources:
    """Runs the chosen source; `start()`/`close()` form one cleanup context."""

    def __init__(
        self, config: Config, client: MastodonClient, store: NotificationStore, intake: Intake
    ) -> None:
        self.config = config
        self.client = client
        self.store = store
        self.intake = intake
        self.kind = choose_source(config)
        self.push: PushService | None = None
        self.streaming: StreamingSource | None = None
        self.tasks = TaskSet("notify.sources")
        self.problem: str | None = None
        self._catching_up = False
        self._again = False
        self._next_run = 0.0  # loop time before which no catch-up run starts

    async def start(self) -> None:
        if self.kind == "push":
            from mastod.push.errors import PushSetupError
            from mastod.push.service import PushService

            self.push = PushService(
                self.config, self.client.api(), on_push=self._on_push, tasks=self.tasks
            )
            try:
                await self.push.start()
            except PushSetupError as exc:
                if self.config.notifications.source == "push":
                    raise
                log.warning("notify.push_unavailable", reason=str(exc), fallback="streaming")
                self.push, self.kind = None, "streaming"
            else:
                self._catch_up()
        if self.kind == "streaming":
            token = self.config.mastodon.access_token
            if not token:
                self.problem = "streaming needs mastodon.access_token"
                log.warning("notify.streaming_unavailable", reason=self.problem)
                return
            self.streaming = StreamingSource(
                self.client.api(), token, self.store, self.intake,
                types=self.config.notifications.types,
            )  # fmt: skip
            await self.streaming.start()  # it catches up after every (re)connect itself

    async def close(self) -> None:
        if self.streaming is not None:
            await self.streaming.close()
        await self.tasks.cancel()
        if self.push is not None:
            await self.push.close()

    def state(self) -> dict[str, Any]:
        if self.push is not None:
            return self.push.state()
        if self.streaming is not None:
            return {
                "source": "streaming",
                "state": self.streaming.state,
                "connections": self.streaming.connections,
            }
        return {"source": self.kind, "state": self.problem or "off"}

    def _catch_up(self) -> None:
        """Backfill in the background; one run at a time (it runs until it is complete)."""
        if self._catching_up:
            self._again = True  # something new arrived meanwhile: one more run after this
            return
        self._catching_up = True

        async def run() -> None:
            try:
                while True:
                    loop = asyncio.get_running_loop()
                    await asyncio.sleep(self._next_run - loop.time())
                    self._again = False
                    ingested = await catch_up(
                        self.client.api(), self.store, self.intake,
                        backoff=_backoff, types=self.config.notifications.types,
                    )  # fmt: skip
                    # A run that found nothing new answered pushes about what was already
                    # fetched: the next waits, so a burst of them costs a run or two, not
                    # one each (the rate limit belongs to the user's calls).
                    self._next_run = loop.time() + (0.0 if ingested else CATCH_UP_SPACING)
                    if not self._again:
                        break
            finally:
                self._catching_up = False

        self.tasks.spawn(run(), name="notify.catch_up")

    async def _on_push(self, payload: PushPayload) -> None:
        """A verified push says that a notification exists: fetch what is new, in id order.

        Fetching each pushed notification by id would store them in the order the fetches
        return (out of order under load), and one acknowledged but not yet stored when the
        daemon dies would be lost: the next backfill starts after the newest stored id. A
        single-flight backfill from that id stores in order and can lose nothing.
        """
        log.debug("notify.push", type=payload.notification_type)
        self._catch_up()
