"""Status text: hashtags and mentions in it, its HTML rendering, and Mastodon's timestamp format."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

_TAG = re.compile(r"(?<![\w/#])#(\w*[^\W\d_]\w*)")
_MENTION = re.compile(r"(?<![\w/@])@(\w+)(?:@([\w.-]+\w))?")
_TOKEN = re.compile(f"{_TAG.pattern}|{_MENTION.pattern}")


def iso(moment: datetime) -> str:
    """A timestamp as Mastodon writes it: UTC, milliseconds, `Z`."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_day(moment: datetime) -> str:
    """Midnight of the day, as Mastodon writes account `created_at`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


def hashtags(text: str) -> list[str]:
    """Hashtags in order of appearance, first spelling kept, duplicates (any case) dropped."""
    seen: dict[str, str] = {}
    for name in _TAG.findall(text):
        seen.setdefault(name.lower(), name)
    return list(seen.values())


def mentioned_usernames(text: str) -> list[str]:
    """`@user` and `@user@domain` mentions, as usernames (the domain is not checked)."""
    seen: dict[str, str] = {}
    for username, _domain in _MENTION.findall(text):
        seen.setdefault(username.lower(), username)
    return list(seen.values())


def to_html(text: str, base: str, mention_url: Callable[[str], str | None]) -> str:
    """Render plain status text as Mastodon's HTML: paragraphs, `<br />`, linked tags and mentions.

    `mention_url(username)` gives the profile URL of a known account, or None to leave the
    mention as plain text.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join(f"<p>{_linkify(p, base, mention_url)}</p>" for p in paragraphs)


def _linkify(paragraph: str, base: str, mention_url: Callable[[str], str | None]) -> str:
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(paragraph):
        out.append(_escape(paragraph[position : match.start()]))
        position = match.end()
        tag, username = match.group(1), match.group(2)
        if tag is not None:
            href = f"{base}/tags/{tag.lower()}"
            out.append(
                f'<a href="{html.escape(href)}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(tag)}</span></a>"
            )
            continue
        url = mention_url(username)
        if url is None:
            out.append(_escape(match.group(0)))
            continue
        out.append(
            f'<span class="h-card" translate="no"><a href="{html.escape(url)}" '
            f'class="u-url mention">@<span>{html.escape(username)}</span></a></span>'
        )
    out.append(_escape(paragraph[position:]))
    return "".join(out)


def _escape(fragment: str) -> str:
    return html.escape(fragment, quote=False).replace("\n", "<br />")
