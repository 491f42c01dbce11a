"""A WebSocket client frame written by hand, for tests that must control the raw socket (a
client that never reads, a stalled sender), which a WebSocket library will not do."""

from __future__ import annotations

import os


def text_frame(payload: bytes) -> bytes:
    """One masked client text frame (RFC 6455 section 5.2)."""
    mask = os.urandom(4)
    size = len(payload)
    if size < 126:
        head = bytes([0x81, 0x80 | size])
    elif size < 1 << 16:
        head = bytes([0x81, 0x80 | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x81, 0x80 | 127]) + size.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
