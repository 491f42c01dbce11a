"""Where notifications come from: Web Push through the webhook, or the streaming API, chosen
from `notifications.source` (`auto`: push when a public URL can be had — `webhook.public_url`
or an ngrok auth token — else streaming, which needs an access token). Both feed the one
`Intake`; a catch-up backfill covers what arrived while the daemon was down, and a sweep
every `notifications.sweep_interval` seconds what became visible below the newest stored
id (`notify.sweep`)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from mastod.config import Config
from mastod.logs import get_logger
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.errors import MastodonError
from mastod.net import backoff_delay
from mastod.notify.backfill import CatchUpFailures, PagePacing, catch_up
from mastod.notify.intake import Intake
from mastod.notify.store import NotificationStore, StoreFailed
from mastod.notify.streaming import StreamingSource
from mastod.notify.sweep import SweepFailures, fetch_missing, sweep
from mastod.tasks import TaskSet

# seconds after a catch-up run that found nothing new before the next one starts
CATCH_UP_SPACING = 0.1

if TYPE_CHECKING:  # the push stack (cryptography, http_ece, pyngrok) loads only when used
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


def _failing(sweeps: SweepFailures) -> dict[str, str]:
    """`sweep_error` in `status` while the sweeps fail (Mastodon's message, no URL)."""
    return {} if sweeps.error is None else {"sweep_error": sweeps.error}


def _backoff(failures: int) -> float:
    return backoff_delay(failures, base=1.0, cap=300.0)


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
        self._working = False  # the push source's one worker: catch-up, fetches, sweeps
        self._catch_up_owed = False
        self._sweep_owed = False
        self._pushed: list[str] = []  # notification ids pushed since the last catch-up began
        self._sweeps = SweepFailures()
        self._catch_ups = CatchUpFailures()
        self._pacing = PagePacing()
        self._next_catch_up = 0.0  # loop time before which no catch-up run starts

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
                # a sweep after the first catch-up, as the streaming source does after every
                # connect: what became visible below the newest id while the daemon was down
                self._work(catch_up=True, sweep=True)
                self._start_sweeps()
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
            self._start_sweeps()

    async def close(self) -> None:
        if self.streaming is not None:
            await self.streaming.close()
        await self.tasks.cancel()
        if self.push is not None:
            await self.push.close()

    def state(self) -> dict[str, Any]:
        if self.push is not None:
            return {**self.push.state(), **_failing(self._sweeps)}
        if self.streaming is not None:
            return {
                "source": "streaming",
                "state": self.streaming.state,
                "connections": self.streaming.connections,
                **_failing(self.streaming.sweeps),
            }
        return {"source": self.kind, "state": self.problem or "off"}

    def token_refused(self) -> None:
        """The instance refused the account's token: it drops the push subscription of a
        revoked one, so re-check it now for `status` to say so."""
        if self.push is not None:
            self.push.recheck()

    def token_restored(self) -> None:
        """A token works again (replaced on SIGHUP): subscribe with it, fetch what was missed."""
        if self.push is not None:
            self.push.recheck()
            self._work(catch_up=True)
        if self.streaming is not None:
            self.streaming.request_catch_up()

    def _start_sweeps(self) -> None:
        async def every_interval() -> None:
            while True:
                await asyncio.sleep(self.config.notifications.sweep_interval)
                if self.streaming is not None:
                    self.streaming.request_sweep()
                else:
                    self._work(sweep=True)

        self.tasks.spawn(every_interval(), name="notify.sweeps")

    def _work(self, *, catch_up: bool = False, sweep: bool = False) -> None:
        """The push source's background work, one run at a time, in order: what is owed when
        it starts (a catch-up, then a sweep) and whatever was asked for meanwhile."""
        self._catch_up_owed |= catch_up
        self._sweep_owed |= sweep
        if self._working:
            return
        self._working = True

        async def run() -> None:
            try:
                while self._catch_up_owed or self._sweep_owed:
                    if self._catch_up_owed:
                        self._catch_up_owed = False
                        pushed, self._pushed = self._pushed, []
                        await self._catch_up(pushed)
                    else:
                        self._sweep_owed = False
                        await self._sweep()
            finally:
                self._working = False

        self.tasks.spawn(run(), name="notify.catch_up")

    async def _catch_up(self, pushed: list[str]) -> None:
        """Backfill until complete; then fetch by id what was pushed and is still missing (a
        notification Mastodon made visible after a higher id: the backfill skips it)."""
        loop = asyncio.get_running_loop()
        await asyncio.sleep(self._next_catch_up - loop.time())
        types = self.config.notifications.types
        api = self.client.api()
        ingested = await catch_up(
            api, self.store, self.intake,
            backoff=_backoff, types=types, pacing=self._pacing, failures=self._catch_ups,
        )  # fmt: skip
        # A run that found nothing new while a pushed notification is still missing answered
        # pushes of what it cannot find (not visible, gone): the next one waits, so a burst of
        # them costs a run or two, not one each (the rate limit belongs to the user's calls).
        # One whose pushes were all fetched by the run before it (Mastodon makes a
        # notification visible before it pushes it) does not.
        fetched = ingested > 0 or (bool(pushed) and self._all_stored(pushed))
        self._next_catch_up = loop.time() + (0.0 if fetched else CATCH_UP_SPACING)
        if self._catch_ups.refused(api):  # fetched once a new token is verified
            self._pushed.extend(pushed)
            return
        try:
            await fetch_missing(api, self.store, self.intake, pushed)
        except MastodonError as exc:
            self._sweeps.failed(exc, "fetch by id")  # the next sweep reads it again
            self._sweep_owed = True
        except StoreFailed:  # logged by the store; fetched again with the next push or sweep
            self._pushed.extend(pushed)

    def _all_stored(self, ids: list[str]) -> bool:
        return all(self.store.seq_of(i) is not None for i in ids)

    async def _sweep(self) -> None:
        types = self.config.notifications.types
        try:
            swept = await sweep(self.client.api(), self.store, self.intake, types=types)
        except MastodonError as exc:
            self._sweeps.failed(exc, "push")
            return
        except StoreFailed:  # logged by the store once per episode; the next sweep reads again
            return
        self._sweeps.succeeded()
        if swept.newer:  # not pushed (yet, or ever): fetched in order by a catch-up
            self._catch_up_owed = True

    async def _on_push(self, payload: PushPayload) -> None:
        """A verified push says that a notification exists: fetch what is new, in id order.

        Fetching each pushed notification by id first would store them in the order the
        fetches return (out of order under load), and one acknowledged but not yet stored
        when the daemon dies would be lost: the next backfill starts after the newest stored
        id. A single-flight backfill from that id stores in order and can lose nothing; the
        pushed id is fetched on its own only if that backfill did not bring it.
        """
        log.debug("notify.push", type=payload.notification_type)
        if self.store.seq_of(payload.notification_id) is not None:
            return  # stored already: a retry, or a run fetched it before its push came
        self._pushed.append(payload.notification_id)
        self._work(catch_up=True)
