"""What runs after the webhook has acknowledged a push: verify, decrypt, hand on.

A push is passed to `on_push` only when its VAPID JWT is the instance's and meant for our
origin, and it decrypts with our keys. Anything else is logged with a short reason (never a
key, header value or plaintext) and dropped. A push identical to one accepted (same JWT,
same body) before that JWT expires is a replay: dropped without a look upstream. Counts of
all three are kept for `status`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Awaitable, Callable

from mastod.logs import get_logger
from mastod.push.decrypt import PushPayload, open_push
from mastod.push.errors import PushRejected
from mastod.push.keys import PushKeys
from mastod.push.vapid import verify_vapid
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
    ) -> None:
        self._keys = keys
        self._server_key = server_key
        self._audience = audience
        self._on_push = on_push
        self.accepted = 0
        self.rejected = 0
        self.replayed = 0
        self._seen = SeenPushes()

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
        claims = verify_vapid(request.headers, server_key=server_key, audience=audience)
        return claims.exp, open_push(request.body, request.headers, self._keys)


class SeenPushes:
    """Fingerprints of accepted pushes until their JWT expires: the same push again within
    that time is a replay (anyone who captured one could otherwise make every copy cost
    upstream requests). Bounded: the oldest go first when it is full."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self._limit = limit
        self._expiry: dict[bytes, float] = {}

    def holds(self, key: bytes, now: float) -> bool:
        expires = self._expiry.get(key)
        if expires is None:
            return False
        if expires > now:
            return True
        del self._expiry[key]
        return False

    def add(self, key: bytes, expires: float) -> None:
        self._expiry[key] = expires
        if len(self._expiry) > self._limit:
            now = time.time()
            for old in [k for k, exp in self._expiry.items() if exp <= now]:
                del self._expiry[old]
            while len(self._expiry) > self._limit:
                del self._expiry[next(iter(self._expiry))]


def _fingerprint(request: PushRequest) -> bytes:
    """The JWT (the whole Authorization header) and the body, as one digest."""
    digest = hashlib.sha256(request.headers.get("authorization", "").encode("utf-8", "replace"))
    digest.update(b"\0")
    digest.update(request.body)
    return digest.digest()
