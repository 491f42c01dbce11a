"""What runs after the webhook has acknowledged a push: verify, decrypt, hand on.

A push is passed to `on_push` only when its VAPID JWT is the instance's and meant for our
origin, and it decrypts with our keys. Anything else is logged with a short reason (never a
key, header value or plaintext) and dropped. Counts of both are kept for `status`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from mastod.logs import get_logger
from mastod.push.decrypt import PushPayload, open_push
from mastod.push.errors import PushRejected
from mastod.push.keys import PushKeys
from mastod.push.vapid import verify_vapid
from mastod.push.webhook import PushRequest

log = get_logger(__name__)

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

    async def __call__(self, request: PushRequest) -> None:
        encoding = request.headers.get("content-encoding")
        try:
            payload = await self._open(request)
        except PushRejected as exc:
            self.rejected += 1
            log.warning("push.rejected", reason=exc.reason, encoding=encoding)
            return
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

    async def _open(self, request: PushRequest) -> PushPayload:
        audience = self._audience()
        if audience is None:
            raise PushRejected("no public URL yet")
        server_key = await self._server_key()
        if server_key is None:
            raise PushRejected("instance VAPID key not known")
        verify_vapid(request.headers, server_key=server_key, audience=audience)
        return open_push(request.body, request.headers, self._keys)
