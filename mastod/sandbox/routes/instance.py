"""`GET /api/v1/instance` and `GET /api/v2/instance`: what the sandbox says about itself."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from mastod.sandbox import constants as k
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.respond import ok
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.accounts import account
from mastod.sandbox.views.base import View

routes = web.RouteTableDef()

_TITLE = "mastod sandbox"
_DESCRIPTION = "An in-memory Mastodon-compatible instance for trying and testing mastod."
_MIME_TYPES = ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "audio/mpeg"]


def streaming_url(base: str) -> str:
    """The instance's own base URL with the WebSocket scheme (`ws://`, or `wss://` for https)."""
    url = URL(base)
    return str(url.with_scheme("wss" if url.scheme == "https" else "ws"))


def _limits() -> dict[str, Any]:
    return {
        "statuses": {
            "max_characters": k.MAX_CHARACTERS,
            "max_media_attachments": k.MAX_MEDIA_ATTACHMENTS,
            "characters_reserved_per_url": 23,
        },
        "media_attachments": {
            "supported_mime_types": _MIME_TYPES,
            "image_size_limit": 16777216,
            "image_matrix_limit": 33177600,
            "video_size_limit": 103809024,
            "video_frame_rate_limit": 120,
            "video_matrix_limit": 8294400,
        },
        "polls": {
            "max_options": 4,
            "max_characters_per_option": 50,
            "min_expiration": 300,
            "max_expiration": 2629746,
        },
    }


def _owner(sb: Sandbox) -> dict[str, Any] | None:
    owner = next((a for a in sb.accounts.values() if a.username == k.OWNER_USERNAME), None)
    return account(View(sb, None), owner) if owner else None


@routes.get("/api/v1/instance")
async def instance_v1(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    base = URL(sb.url)
    limits = _limits()
    return ok(
        {
            "uri": base.authority,
            "title": _TITLE,
            "short_description": _DESCRIPTION,
            "description": _DESCRIPTION,
            "email": k.CONTACT_EMAIL,
            "version": k.MASTODON_VERSION,
            "urls": {"streaming_api": streaming_url(sb.url)},
            "stats": {
                "user_count": len(sb.accounts),
                "status_count": len(sb.statuses),
                "domain_count": 0,
            },
            "thumbnail": None,
            "languages": ["en"],
            "registrations": True,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": {"accounts": {"max_featured_tags": k.MAX_FEATURED_TAGS}, **limits},
            "contact_account": _owner(sb),
            "rules": [],
        }
    )


@routes.get("/api/v2/instance")
async def instance_v2(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    base = URL(sb.url)
    configuration = {
        "urls": {"streaming": streaming_url(sb.url), "status": None},
        "vapid": {"public_key": sb.vapid_public_key},
        "accounts": {
            "max_featured_tags": k.MAX_FEATURED_TAGS,
            "max_pinned_statuses": k.MAX_PINNED_STATUSES,
            "max_profile_fields": k.MAX_PROFILE_FIELDS,
        },
        "translation": {"enabled": False},
        **_limits(),
    }
    return ok(
        {
            "domain": base.authority,
            "title": _TITLE,
            "version": k.MASTODON_VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": _DESCRIPTION,
            "usage": {"users": {"active_month": len(sb.accounts)}},
            "thumbnail": {"url": f"{sb.url}/_sandbox/files/missing.png"},
            "icon": [],
            "languages": ["en"],
            "configuration": configuration,
            "registrations": {"enabled": True, "approval_required": False, "message": None},
            "api_versions": {"mastodon": 6},
            "contact": {"email": k.CONTACT_EMAIL, "account": _owner(sb)},
            "rules": [],
        }
    )
