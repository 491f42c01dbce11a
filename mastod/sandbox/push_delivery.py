"""Web Push delivery: each new notification is POSTed to the recipient's push subscriptions.

As Mastodon's `NotifyService` and `Web::PushNotificationWorker` (PROTOCOL.md §2.2, §2.3): a
notification goes to every subscription of the recipient (one per access token) whose
`alerts` enable its type and whose `policy` allows its sender (`all`; `followed`: the
recipient follows the sender; `follower`: the sender follows the recipient; `none`).

Delivery runs in the background, never in the request that made the notification. Any 2xx is
success. A 4xx other than 408 and 429 deletes the subscription. Anything else (5xx, 408, 429,
an unfollowed 3xx, no answer) is tried again after each of `Sandbox.push_retry_delays` (as
Sidekiq's `retry: 5`, only sooner). Before every try the subscription, the notification and
the policy are checked again, and a notification older than 48 hours is dropped. Every
attempt is recorded in `Sandbox.push_deliveries`.

Unlike Mastodon, loopback and private endpoints are allowed (that is what a sandbox is for)
and redirects are not followed.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from typing import Any

import aiohttp

from mastod.sandbox import records as r
from mastod.sandbox.push_payload import push_payload
from mastod.sandbox.recorded import RecordedPush
from mastod.sandbox.state import Sandbox
from mastod.sandbox.webpush import PushRequest, build_push

log = logging.getLogger(__name__)

TIMEOUT = aiohttp.ClientTimeout(total=30, connect=5, sock_read=10)  # Mastodon's Request
MAX_AGE = 48 * 3600.0  # Web::PushNotificationWorker drops older notifications
_KEEP_TRYING = frozenset({408, 429})


def pushable(sb: Sandbox, sub: r.PushSubscription, n: r.Notification) -> bool:
    """`Web::PushSubscription#pushable?`: the type's alert is on and the policy allows it."""
    if not sub.alerts.get(n.type, False):
        return False
    token = sb.tokens.get(sub.token)
    if token is None or token.account_id is None:
        return False
    me, sender = token.account_id, n.from_account_id
    if sub.policy == "all":
        return True
    if sub.policy == "followed":
        return sb.is_following(me, sender)
    if sub.policy == "follower":
        return sb.is_following(sender, me)
    return False


def subscriptions_of(sb: Sandbox, account_id: str) -> list[r.PushSubscription]:
    """All push subscriptions of an account's tokens."""
    return [
        sub
        for sub in sb.push_subscriptions.values()
        if (token := sb.tokens.get(sub.token)) is not None and token.account_id == account_id
    ]


class PushDelivery:
    """Sends the pushes of one running sandbox through the app's client session.

    `on_notification` is the `Sandbox.on_notification` hook; `settle()` waits until nothing
    is in flight; `close()` cancels what is.
    """

    def __init__(self, sb: Sandbox, session: aiohttp.ClientSession) -> None:
        self.sb = sb
        self.session = session
        self._tasks: set[asyncio.Task[None]] = set()

    def on_notification(self, recipient: str, entity: dict[str, Any]) -> None:
        n = self.sb.notifications.get(str(entity["id"]))
        if n is None:
            return
        loop = asyncio.get_running_loop()  # before any coroutine exists that could be lost
        for sub in subscriptions_of(self.sb, recipient):
            if pushable(self.sb, sub, n):
                task = loop.create_task(self._deliver(sub, n), name=f"push {n.id} to {sub.id}")
                self._tasks.add(task)
                task.add_done_callback(self._finished)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    async def settle(self) -> None:
        """Wait until every delivery (with its retries) has finished."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.settle()

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("sandbox push delivery crashed", exc_info=error)

    async def _deliver(self, sub: r.PushSubscription, n: r.Notification) -> None:
        delays = self.sb.push_retry_delays
        for attempt in itertools.count(1):
            if not self._still_wanted(sub, n):
                return
            push = build_push(self.sb, sub, push_payload(self.sb, sub, n))
            status, error = await self._post(push)
            outcome = _outcome(status, last=attempt > len(delays))
            self._record(
                RecordedPush(
                    push.endpoint, push.encoding, n.id, sub.id, attempt, status, error,
                    outcome, push.headers, push.body,
                )
            )  # fmt: skip
            if outcome == "unsubscribed":
                if self.sb.push_subscriptions.get(sub.token) is sub:
                    del self.sb.push_subscriptions[sub.token]
                return
            if outcome != "retrying":
                if outcome == "failed":
                    log.warning("sandbox push to %s failed: %s", push.endpoint, error or status)
                return
            await asyncio.sleep(delays[attempt - 1])

    def _still_wanted(self, sub: r.PushSubscription, n: r.Notification) -> bool:
        """Mastodon's worker reloads both rows and checks `pushable?` again on every try."""
        sb = self.sb
        return (
            sb.push_subscriptions.get(sub.token) is sub
            and sb.notifications.get(n.id) is n
            and sb.clock() - n.created_at.timestamp() <= MAX_AGE
            and pushable(sb, sub, n)
        )

    async def _post(self, push: PushRequest) -> tuple[int | None, str | None]:
        try:
            async with self.session.post(
                push.endpoint, data=push.body, headers=push.headers, allow_redirects=False
            ) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            return None, f"{type(exc).__name__}: {exc}"

    def _record(self, entry: RecordedPush) -> None:
        deliveries = self.sb.push_deliveries
        deliveries.append(entry)
        limit = self.sb.record_limit
        if limit is not None and len(deliveries) > limit + limit // 10:
            del deliveries[: len(deliveries) - limit]


def _outcome(status: int | None, *, last: bool) -> str:
    if status is not None and 200 <= status < 300:
        return "delivered"
    if status is not None and 400 <= status < 500 and status not in _KEEP_TRYING:
        return "unsubscribed"
    return "failed" if last else "retrying"


def new_session() -> aiohttp.ClientSession:
    """The client session pushes go out through (one per running sandbox)."""
    return aiohttp.ClientSession(timeout=TIMEOUT, cookie_jar=aiohttp.DummyCookieJar())
