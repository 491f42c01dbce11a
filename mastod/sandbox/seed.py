"""The data a fresh sandbox starts with: three accounts, tokens, and a little conversation.

alice (the owner) follows bob; bob and carol follow alice. Each account has posted a few
statuses with hashtags, alice's second one carries an image, bob has mentioned alice and sent
her a direct message, and bob has favourited alice's first post, so the home timeline,
notifications, conversations and searches all have something in them from the start.
"""

from __future__ import annotations

import itertools
import struct
import zlib
from datetime import timedelta

from mastod.sandbox import constants as c
from mastod.sandbox import records as r
from mastod.sandbox.ops.interactions import bookmark, favourite
from mastod.sandbox.ops.posting import post_status
from mastod.sandbox.ops.relations import follow
from mastod.sandbox.state import Sandbox


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (99, 100, 255)) -> bytes:
    """A valid, tiny solid-colour PNG (for seed media, avatars and tests)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(row * height)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def seed_sandbox(sb: Sandbox) -> None:
    """Fill a new sandbox; the seed's timestamps lie in the past hour, a minute apart."""
    real_clock = sb.clock
    start = real_clock() - 3600.0
    ticks = itertools.count()
    sb.clock = lambda: start + 60.0 * next(ticks)
    try:
        _seed(sb)
    finally:
        sb.clock = real_clock


def _seed(sb: Sandbox) -> None:
    app = r.App(
        sb.next_id("app"),
        c.APP_NAME,
        c.CLIENT_ID,
        c.CLIENT_SECRET,
        ["urn:ietf:wg:oauth:2.0:oob"],
        c.APP_SCOPES.split(),
        c.APP_WEBSITE,
    )
    sb.apps[app.id] = app
    alice, bob, carol = (
        _account(sb, c.OWNER_USERNAME, "Alice", "The sandbox owner. #mastod"),
        _account(sb, c.OTHER_USERNAME, "Bob", "Bob posts about the fediverse."),
        _account(sb, c.THIRD_USERNAME, "Carol", ""),
    )
    sb.add_token(c.OWNER_TOKEN, alice, c.ALL_SCOPES, app.id)
    sb.add_token(c.OTHER_TOKEN, bob, c.ALL_SCOPES, app.id)
    sb.add_token(c.READ_ONLY_TOKEN, alice, "read", app.id)
    sb.add_token(c.APP_TOKEN, None, "read write:accounts", app.id)
    follow(sb, alice, bob)
    follow(sb, bob, alice)
    follow(sb, carol, alice)
    image = r.Media(
        sb.next_id("media"), alice, "image", "image/png", "sandbox.png", png(4, 4), sb.now()
    )
    image.description = "A small blue square"
    sb.media[image.id] = image
    first = post_status(sb, alice, "Hello from the sandbox! #introductions", app_id=app.id)
    post_status(sb, alice, "Testing #mastod with a picture", media_ids=[image.id])
    post_status(sb, alice, "A quiet unlisted note about #mastod", visibility="unlisted")
    post_status(sb, bob, "Good morning, #fediverse!")
    greeting = post_status(sb, bob, "@alice welcome to the sandbox! #introductions")
    post_status(sb, bob, "@alice psst, this one is just for you", visibility="direct")
    post_status(sb, carol, "Carol here, saying hi. #introductions")
    post_status(sb, alice, "@bob thank you!", in_reply_to_id=greeting.id)
    favourite(sb, bob, first)
    bookmark(sb, alice, greeting)
    featured = r.FeaturedTag(sb.next_id("featured_tag"), alice, "mastod")
    sb.featured_tags[featured.id] = featured
    lst = r.UserList(sb.next_id("list"), alice, "Friends")
    lst.members[bob] = r.Link(sb.next_id("list_account"), lst.id, bob)
    sb.lists[lst.id] = lst


def _account(sb: Sandbox, username: str, name: str, note: str) -> str:
    account = r.Account(
        sb.next_id("account"),
        username,
        name,
        sb.now() - timedelta(days=30),
        note=note,
        email=f"{username}@sandbox.invalid",
        language="en",
    )
    sb.accounts[account.id] = account
    return account.id
