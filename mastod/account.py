"""The configured account as `status` shows it, kept true while the daemon runs.

It is verified (`verify_credentials`) in the background from start-up on, so a silent or
unreachable instance never holds the listeners or READY back; a failure other than a bad token
is retried with backoff. A 401 to any call made with the configured token marks the account
`unauthorized` at once (the request core reports it): the first one of an episode is logged
and tells the `on_unauthorized` listeners (the push subscription re-checks itself); later ones
change nothing, so a revoked token never turns into a burst of requests. Nothing is retried
with a token the instance refused: a new one (SIGHUP after replacing the file or credential)
is verified at once, and once one is after a refusal, the `on_verified` listeners hear of it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from mastod.logs import get_logger
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.errors import MastodonError, Unauthorized
from mastod.net import backoff_delay
from mastod.redaction import redact_text
from mastod.tasks import TaskSet, stop_task

log = get_logger(__name__)

PATH = "/api/v1/accounts/verify_credentials"
SHOWN = ("id", "username", "acct", "url")  # what `status` shows of the account
HOW_TO_FIX = "replace the access token and send SIGHUP (systemctl reload mastod)"


class Account:
    def __init__(
        self,
        client: MastodonClient,
        *,
        tasks: TaskSet,
        retry_initial: float = 5.0,
        retry_max: float = 300.0,
    ) -> None:
        self._client = client
        self._tasks = tasks
        self.retry_initial = retry_initial
        self.retry_max = retry_max
        self.info: dict[str, Any] | None = None
        self.state = "not started"
        self.error: str | None = None
        self.on_unauthorized: list[Callable[[], None]] = []
        self.on_verified: list[Callable[[], None]] = []
        self._refused = False  # a token was refused since the last verification
        self._wake = asyncio.Event()
        self.checked = asyncio.Event()  # set once the first check is over, however it went
        self._loop: asyncio.Task[Any] | None = None
        client.on_unauthorized = self.unauthorized

    @property
    def problem(self) -> str | None:
        """What is wrong, for `/health` (None: nothing to report)."""
        if self.state == "unauthorized":
            return f"account unauthorized: {self.error} ({HOW_TO_FIX})"
        if self.state == "error":
            return f"account not verified: {self.error}"
        return None

    def start(self) -> None:
        if self._loop is None:
            self.state = "checking"  # from now on, not when the task first runs
            self._loop = self._tasks.spawn(self._run(), name="account.check")

    async def stop(self) -> None:
        loop, self._loop = self._loop, None
        await stop_task(loop)

    def unauthorized(self, exc: Unauthorized) -> None:
        """A call with the configured token got 401 (the request core calls this)."""
        if self.state == "unauthorized":
            return
        self.state = "unauthorized"
        self._refused = True
        # `status` shows this unredacted by any log pipeline: mask our secrets here
        self.error = redact_text(exc.error)
        log.warning("account.unauthorized", error=exc.error, http_status=exc.http_status)
        for listener in self.on_unauthorized:
            listener()

    def token_changed(self) -> None:
        """The configured token was replaced: verify it now."""
        self.state = "checking"
        self.error = None
        self._wake.set()

    def status(self) -> dict[str, Any]:
        shown = None if self.info is None else {k: self.info.get(k) for k in SHOWN}
        return {"account": shown, "account_state": self.state, "account_error": self.error}

    async def _run(self) -> None:
        failures = 0
        while True:
            self._wake.clear()
            if not self._client.token:
                self.state, self.error = "no token", None
                self.checked.set()
                await self._wake.wait()
                continue
            delay: float | None = None  # wait for a new token
            verified = await self._check()
            self.checked.set()
            if verified:
                failures = 0
            elif self.state != "unauthorized":
                delay = backoff_delay(failures, base=self.retry_initial, cap=self.retry_max)
                failures += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def _check(self) -> bool:
        self.state = "checking"
        try:
            info = await self._client.api().get(PATH)
        except Unauthorized:
            return False  # `unauthorized` has marked it (the request core reported the 401)
        except MastodonError as exc:
            self.state, self.error = "error", redact_text(exc.error)
            log.warning("account.unverified", error=exc.error, http_status=exc.http_status)
            return False
        self.info = info if isinstance(info, dict) else None
        self.state, self.error = "verified", None
        log.info("account.verified", acct=(self.info or {}).get("acct"))
        healed, self._refused = self._refused, False
        if healed:
            for listener in self.on_verified:
                listener()
        return True
