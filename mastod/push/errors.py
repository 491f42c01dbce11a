"""The two ways push can fail: a push we drop, and a setup we cannot start with."""

from __future__ import annotations


class PushRejected(Exception):
    """A push that is not from our instance, or cannot be read. It is dropped, never answered.

    `reason` is short, fixed text for the log: it never quotes the request, the plaintext
    or a key.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClockSkewed(PushRejected):
    """A push signed by the instance whose VAPID `exp` is out of range of our clock.

    The signature proves the instance sent it (at some time), so it still says "something
    new may be waiting": the receiver treats it as a trigger to catch up. `offset` is how far
    the instance's clock seems ahead of ours (negative: behind), taking `exp` as its signing
    time plus the lifetime Mastodon gives its tokens.
    """

    def __init__(self, reason: str, offset: float) -> None:
        super().__init__(reason)
        self.offset = offset


class PushSetupError(Exception):
    """Push cannot start: the keys in `state_dir` are unusable or the webhook cannot listen.

    The message names the path or address, says why, and what to do.
    """
