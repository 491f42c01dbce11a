"""What runs after the webhook has acknowledged a push: verify, decrypt, hand on.

A push is passed to `on_push` only when its VAPID JWT is the instance's and meant for our
origin, and it decrypts with our keys. Anything else is logged with a short reason (never a
key, header value or plaintext) and dropped. A push identical to one accepted (same JWT,
same body) before that JWT expires is a replay: dropped without a look upstream. Counts of
all three are kept for `status`.

A push whose only fault is an `exp` out of range (a clock off by more than `clock_skew`) is
still passed on: all it does is trigger a catch-up, and dropping it would silence push for as
long as the clocks disagree. The skew is logged once per episode, with the offset; the
episode ends with the next push whose `exp` is in range.
"""

from __future__ import annotations

import hashlib
import itertools
import time
from collections.abc import Awaitable, Callable

from mastod.logs import get_logger
from mastod.push.decrypt import PushPayload, open_push
from mastod.push.errors import ClockSkewed, PushRejected
from mastod.push.keys import PushKeys
from mastod.push.vapid import CLOCK_SKEW, MAX_LIFETIME, verify_vapid
from mastod.push.webhook import PushRequest

log = get_logger(__name__)

MAX_REMEMBERED = 10_000  # accepted pushes whose fingerprint is kept for replay detection

OnPush = Callable[[PushPayload], Awaitable[None]]
ServerKeySource = Callable[[], Awaitable[bytes | None]]


class PushReceiver:
    """The webhook's handler. `server_key` awaits the instance's VAPID key (None if it cannot
    be had), `audience` gives our current public URL (None while there is none)."""

    def __init__(
        self,
        keys: PushKeys,
        *,
        server_key: ServerKeySource,
        audience: Callable[[], str | None],
        on_push: OnPush,
        clock_skew: float = CLOCK_SKEW,
    ) -> None:
        self._keys = keys
        self._server_key = server_key
        self._audience = audience
        self._on_push = on_push
        self._clock_skew = clock_skew
        self.accepted = 0
        self.rejected = 0
        self.replayed = 0
        self._seen = SeenPushes()
        self.skewed = 0  # accepted although their `exp` was out of range
        self.skew: float | None = None  # the offset of the current skew episode, if one is on

    async def __call__(self, request: PushRequest) -> None:
        encoding = request.headers.get("content-encoding")
        key = _fingerprint(request)
        if self._seen.holds(key, time.time()):
            self.replayed += 1
            log.debug("push.replayed", encoding=encoding)
            return
        try:
            expires, payload = await self._open(request)
        except PushRejected as exc:
            self.rejected += 1
            log.warning("push.rejected", reason=exc.reason, encoding=encoding)
            return
        self._seen.add(key, expires)
        self.accepted += 1
        log.info(
            "push.accepted",
            notification_id=payload.notification_id,
            notification_type=payload.notification_type,
            encoding=encoding,
        )
        try:
            await self._on_push(payload)
        except Exception:
            log.exception("push.handler_failed", notification_id=payload.notification_id)

    async def _open(self, request: PushRequest) -> tuple[float, PushPayload]:
        """The push's JWT expiry and its payload; PushRejected unless it verifies."""
        audience = self._audience()
        if audience is None:
            raise PushRejected("no public URL yet")
        server_key = await self._server_key()
        if server_key is None:
            raise PushRejected("instance VAPID key not known")
        try:
            claims = verify_vapid(
                request.headers,
                server_key=server_key,
                audience=audience,
                clock_skew=self._clock_skew,
            )
        except ClockSkewed as exc:
            payload = open_push(request.body, request.headers, self._keys)
            self._skewed(exc)
            # remembered as long as a token signed now could be valid, whatever the clocks say
            return time.time() + MAX_LIFETIME + self._clock_skew, payload
        payload = open_push(request.body, request.headers, self._keys)
        if self.skew is not None:
            log.info("push.clock_skew_ended")
            self.skew = None
        return claims.exp, payload

    def _skewed(self, exc: ClockSkewed) -> None:
        self.skewed += 1
        if self.skew is None:
            log.warning(
                "push.clock_skew",
                reason=exc.reason,
                offset_s=round(exc.offset),
                window_s=self._clock_skew,
                detail="accepted as a trigger to catch up; check NTP on both hosts",
            )
        self.skew = exc.offset


class SeenPushes:
    """Fingerprints of accepted pushes until their JWT expires: the same push again within
    that time is a replay (anyone who captured one could otherwise make every copy cost
    upstream requests). Bounded: past the limit and a tenth more, the expired go first, then
    the oldest, down to the limit; so a full set is swept once per tenth of the limit added,
    not on every push, and the newest `limit` are always kept."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._slack = max(1, limit // 10)
        self._expiry: dict[bytes, float] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def holds(self, key: bytes, now: float) -> bool:
        expires = self._expiry.get(key)
        if expires is None:
            return False
        if expires > now:
            return True
        del self._expiry[key]
        return False

    def add(self, key: bytes, expires: float, now: float | None = None) -> None:
        self._expiry[key] = expires
        if len(self._expiry) > self._limit + self._slack:
            now = time.time() if now is None else now
            kept = {k: exp for k, exp in self._expiry.items() if exp > now}
            for old in list(itertools.islice(kept, max(0, len(kept) - self._limit))):
                del kept[old]
            self._expiry = kept


def _fingerprint(request: PushRequest) -> bytes:
    """The JWT (the whole Authorization header) and the body, as one digest."""
    digest = hashlib.sha256(request.headers.get("authorization", "").encode("utf-8", "replace"))
    digest.update(b"\0")
    digest.update(request.body)
    return digest.digest()
