"""Base64 as Web Push writes it: URL-safe; padding and the standard alphabet tolerated."""

from __future__ import annotations

import base64
import binascii

_TO_STANDARD = str.maketrans("-_", "+/")


def encode(data: bytes) -> str:
    """URL-safe base64 without `=` padding (what browsers send Mastodon as subscription keys)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode(text: str) -> bytes:
    """Decode URL-safe or standard base64, padded or not; ValueError if it is neither."""
    compact = text.strip().rstrip("=").translate(_TO_STANDARD)
    try:
        return base64.b64decode(compact + "=" * (-len(compact) % 4), validate=True)
    except binascii.Error:
        raise ValueError("not base64") from None
