"""`Sandbox`: the whole in-memory state of one sandbox instance."""

from __future__ import annotations

import base64
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mastod.sandbox import records as r
from mastod.sandbox.errors import not_found
from mastod.sandbox.faults import Faults
from mastod.sandbox.recorded import RecordedPush, RecordedRequest
from mastod.sandbox.streams import Streams

NotificationCallback = Callable[[str, dict[str, Any]], None]
"""Called as `callback(recipient_account_id, notification_entity)` for each new notification."""

Pair = tuple[str, str]

_STATUS_ID_BASE = 113_000_000_000_000_000


class Sandbox:
    """Accounts, statuses and everything around them, plus what the server recorded.

    Knobs:

    * `recording`: keep every request in `recorded` (only the newest `record_limit`, so a
      long-running `serve --sandbox` stays small; None keeps all);
    * `record_responses`: also keep each response (off by default, it costs memory);
    * `force_async_media`: every v2 upload answers 202;
    * `media_processing_polls`: how many `GET /api/v1/media/:id` answer 206 before 200;
    * `registration_min_age`: an instance with a minimum age requires `date_of_birth` at
      registration (None: no minimum, as most instances);
    * `push_retry_delays`: seconds to wait before each retry of a failed Web Push (Mastodon
      retries five times, over hours); every attempt is kept in `push_deliveries` (as many
      as `record_limit` allows);
    * `streams`: the streaming connections (`faults.drop_streams()` cuts them all);
    * `uncommitted_notifications`: the next that many notifications get their id but stay
      invisible, unpushed and unstreamed until `ops.notify.commit(sb, id)`, as a Sidekiq job
      whose transaction commits after a later job's (Mastodon's ids come from one sequence);
    * `filtered_senders`: (recipient, sender) pairs whose notifications are filtered (a
      pending notification request): left out of the list, never pushed nor streamed, until
      `ops.notify.accept_request(sb, recipient, sender)` un-filters them and sends the
      streaming event `notifications_merged`;
    * `clock`: seconds since the epoch; drives timestamps, rate-limit windows and the
      Idempotency-Key lifetime.
    """

    def __init__(self, *, seed: bool = True, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.base_url: str | None = None
        self.accounts: dict[str, r.Account] = {}
        self.statuses: dict[str, r.Status] = {}
        self.media: dict[str, r.Media] = {}
        self.follows: dict[Pair, r.Follow] = {}
        self.follow_requests: dict[Pair, r.Follow] = {}
        self.blocks: dict[Pair, r.Link] = {}
        self.mutes: dict[Pair, r.Mute] = {}
        self.endorsements: dict[Pair, r.Link] = {}
        self.notes: dict[Pair, str] = {}
        self.favourites: dict[Pair, r.Link] = {}
        self.bookmarks: dict[Pair, r.Link] = {}
        self.pins: dict[Pair, r.Link] = {}
        self.muted_threads: set[Pair] = set()
        self.lists: dict[str, r.UserList] = {}
        self.filters: dict[str, r.Filter] = {}
        self.featured_tags: dict[str, r.FeaturedTag] = {}
        self.tags: dict[str, r.Tag] = {}
        self.notifications: dict[str, r.Notification] = {}
        self.conversations: dict[str, r.Conversation] = {}
        self.apps: dict[str, r.App] = {}
        self.tokens: dict[str, r.Token] = {}
        self.auth_codes: dict[str, r.AuthCode] = {}
        self.revoked_tokens: set[str] = set()  # Doorkeeper keeps them, to say so when used
        self.push_subscriptions: dict[str, r.PushSubscription] = {}
        self.scheduled_statuses: dict[str, r.ScheduledStatus] = {}
        self.registration_min_age: int | None = None
        self.idempotency: dict[Pair, tuple[str, float]] = {}
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.recorded: list[RecordedRequest] = []
        self.recording = True
        self.record_limit: int | None = 10_000
        self.record_responses = False
        self.on_notification: list[NotificationCallback] = []
        self.push_deliveries: list[RecordedPush] = []
        self.push_retry_delays: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
        self.streams = Streams()
        self.uncommitted_notifications = 0
        self.filtered_senders: set[Pair] = set()
        self.faults = Faults(self.streams)
        self.force_async_media = False
        self.media_processing_polls = 2
        self.vapid_private_key = ec.generate_private_key(ec.SECP256R1())
        self._counters: dict[str, Iterator[int]] = {}
        if seed:
            from mastod.sandbox.seed import seed_sandbox

            seed_sandbox(self)

    # ids and time

    def next_id(self, kind: str) -> str:
        """The next id of a table: increasing digit strings, one sequence per table."""
        counter = self._counters.setdefault(kind, itertools.count(1))
        if kind == "status":
            return str(_STATUS_ID_BASE + next(counter))
        return str(next(counter))

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    @property
    def url(self) -> str:
        """The base URL entities link to (set when the server starts or on the first request)."""
        return self.base_url or "http://127.0.0.1"

    @property
    def vapid_public_key(self) -> str:
        """The VAPID public key as Mastodon shows it: URL-safe base64, with padding."""
        point = self.vapid_private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return base64.urlsafe_b64encode(point).decode()

    # lookups (404 when absent, as `find` does)

    def account(self, account_id: str) -> r.Account:
        account = self.accounts.get(account_id)
        if account is None:
            raise not_found()
        return account

    def account_by_username(self, username: str) -> r.Account:
        wanted = username.lstrip("@").split("@", 1)[0].lower()
        for account in self.accounts.values():
            if account.username.lower() == wanted:
                return account
        raise not_found()

    def status(self, status_id: str) -> r.Status:
        status = self.statuses.get(status_id)
        if status is None:
            raise not_found()
        return status

    def tag(self, name: str) -> r.Tag:
        """The tag row for a name, created on first use (tags are case-insensitive)."""
        tag = self.tags.get(name.lower())
        if tag is None:
            tag = self.tags[name.lower()] = r.Tag(self.next_id("tag"), name)
        return tag

    def store_blob(self, content_type: str, data: bytes) -> str:
        key = self.next_id("blob")
        self.blobs[key] = (content_type, data)
        return key

    def add_token(self, token: str, account_id: str | None, scopes: str, app_id: str) -> r.Token:
        row = r.Token(token, account_id, " ".join(scopes.split()), app_id, self.now())
        self.tokens[token] = row
        return row

    def confirm_account(self, username: str) -> None:
        """Confirm a registered account's e-mail, so its token can be used (Mastodon needs that)."""
        self.account_by_username(username).confirmed = True

    # relationship questions

    def is_following(self, account_id: str, target_id: str) -> bool:
        return (account_id, target_id) in self.follows

    def blocked_either(self, a: str, b: str) -> bool:
        return (a, b) in self.blocks or (b, a) in self.blocks

    def followers_of(self, account_id: str) -> list[r.Follow]:
        return [f for f in self.follows.values() if f.target_id == account_id]
