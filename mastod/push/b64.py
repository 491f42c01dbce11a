"""Base64 as Web Push writes it: URL-safe; padding and the standard alphabet tolerated."""

from __future__ import annotations

import base64
import binascii

_TO_STANDARD = bytes.maketrans(b"-_", b"+/")


def encode(data: bytes) -> str:
    """URL-safe base64 without `=` padding (what browsers send Mastodon as subscription keys)."""
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode(text: str) -> bytes:
    """Decode URL-safe or standard base64, padded or not; ValueError if it is neither.

    Translated as bytes and checked by binascii's strict mode (no character outside the
    alphabet, padding only at the end): what `b64decode(validate=True)` checks, without its
    regular expression and str translation table (2.6 -> ~0.5 µs for a JWT's signature).
    """
    try:
        compact = text.strip().rstrip("=").encode("ascii").translate(_TO_STANDARD)
        return binascii.a2b_base64(compact + b"=" * (-len(compact) % 4), strict_mode=True)
    except (UnicodeEncodeError, binascii.Error):
        raise ValueError("not base64") from None
