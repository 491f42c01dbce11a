"""Accounts: the own profile, other profiles, their statuses, followers and lists."""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.constants import (
    MAX_ATTRIBUTION_DOMAINS,
    MAX_IMAGE_DESCRIPTION,
    MAX_PROFILE_FIELDS,
)
from mastod.sandbox.errors import invalid, not_found
from mastod.sandbox.ops.visibility import has_media, has_tag, visible
from mastod.sandbox.pagination import paginate
from mastod.sandbox.params import Params, Upload
from mastod.sandbox.respond import ok, paged
from mastod.sandbox.views.accounts import account, credential_account, relationship
from mastod.sandbox.views.misc import featured_tag, user_list
from mastod.sandbox.views.statuses import status

routes = web.RouteTableDef()


@routes.get("/api/v1/accounts/verify_credentials")
async def verify_credentials(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", also=("profile",))
    return ok(credential_account(c.view, c.sb.account(c.me)))


@routes.patch("/api/v1/accounts/update_credentials")
async def update_credentials(request: web.Request) -> web.Response:
    c = caller(request, "write:accounts")
    me = c.sb.account(c.me)
    p = c.params
    changes = _profile_changes(p)
    for name in ("avatar", "header"):
        upload = p.upload(name)
        if upload is not None:
            changes[name] = _image(c, name, upload)
    for key, value in changes.items():
        setattr(me, key, value)
    return ok(credential_account(c.view, me))


def _profile_changes(p: Params) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, limit in (
        ("display_name", 30),
        ("note", 500),
        ("avatar_description", MAX_IMAGE_DESCRIPTION),
        ("header_description", MAX_IMAGE_DESCRIPTION),
    ):
        value = p.string(name)
        if value is not None:
            if len(value) > limit:
                label = name.replace("_", " ").capitalize()
                raise invalid(f"{label} is too long (maximum is {limit} characters)")
            changes[name] = value
    if p.has("attribution_domains"):
        changes["attribution_domains"] = _domains(p.array("attribution_domains"))
    for name in ("locked", "bot", "discoverable", "hide_collections", "indexable"):
        if p.has(name):
            changes[name] = p.flag(name, False)
    source = p.sub("source")
    privacy = source.string("privacy")
    if privacy is not None:
        if privacy not in ("public", "unlisted", "private"):
            raise invalid("Setting default privacy is not included in the list")
        changes["privacy"] = privacy
    if source.has("sensitive"):
        changes["sensitive"] = source.flag("sensitive", False)
    if source.has("language"):
        changes["language"] = source.string("language") or None
    if p.has("fields_attributes"):
        changes["fields"] = _fields(p.data["fields_attributes"])
    return changes


def _domains(given: list[str]) -> list[str]:
    """`attribution_domains`: host names, at most ten (`Account#attribution_domains`)."""
    domains = [d.strip().lower() for d in given if d.strip()]
    if len(domains) > MAX_ATTRIBUTION_DOMAINS:
        raise invalid(f"Attribution domains must not be more than {MAX_ATTRIBUTION_DOMAINS}")
    for domain in domains:
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain):
            raise invalid(f"Attribution domains {domain} is not a valid domain")
    return domains


def _fields(raw: Any) -> list[tuple[str, str]]:
    """`fields_attributes` as a hash of index -> {name, value} (forms) or an array (JSON)."""
    if isinstance(raw, dict):
        items = [raw[k] for k in sorted(raw, key=lambda k: (len(str(k)), str(k)))]
    elif isinstance(raw, list):
        items = raw
    else:
        items = []
    fields = []
    for item in items:
        if isinstance(item, dict):
            name, value = str(item.get("name") or ""), str(item.get("value") or "")
            if name or value:
                fields.append((name, value))
    if len(fields) > MAX_PROFILE_FIELDS:
        raise invalid("Fields is too big")
    return fields


def _image(c: Caller, name: str, upload: Upload) -> str:
    if not upload.content_type.startswith("image/"):
        raise invalid(f"{name.capitalize()} file has an extension that does not match its contents")
    return c.sb.store_blob(upload.content_type, upload.data)


@routes.get("/api/v1/accounts/relationships")
async def relationships(request: web.Request) -> web.Response:
    c = caller(request, "read:follows")
    raw = c.params.data.get("id")
    ids = [str(x) for x in raw] if isinstance(raw, list) else ([str(raw)] if raw else [])
    return ok([relationship(c.view, i) for i in dict.fromkeys(ids) if i in c.sb.accounts])


@routes.get("/api/v1/accounts/lookup")
async def lookup(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    acct = c.params.string("acct")
    if not acct:
        raise not_found()
    return ok(account(c.view, c.sb.account_by_username(acct)))


@routes.get("/api/v1/accounts/{id}")
async def get_account(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    return ok(account(c.view, c.sb.account(c.path_id())))


@routes.get("/api/v1/accounts/{id}/statuses")
async def account_statuses(request: web.Request) -> web.Response:
    c = caller(request, "read:statuses", "optional")
    target = c.sb.account(c.path_id())
    p = c.params
    chosen = [s for s in c.sb.statuses.values() if s.account_id == target.id]
    if p.flag("pinned", False):
        chosen = [s for s in chosen if (target.id, s.id) in c.sb.pins]
    if p.flag("exclude_replies", False):
        chosen = [s for s in chosen if s.in_reply_to_account_id in (None, target.id)]
    if p.flag("exclude_reblogs", False):
        chosen = [s for s in chosen if s.reblog_of_id is None]
    if p.flag("only_media", False):
        chosen = [s for s in chosen if has_media(c.sb, s)]
    tagged = p.string("tagged")
    if tagged:
        chosen = [s for s in chosen if has_tag(s, tagged)]
    rows = [(s.id, s) for s in visible(c.sb, c.account_id, chosen)]
    page = paginate(request, p, rows, default=20, maximum=40)
    return paged(page, lambda s: status(c.view, s))


@routes.get("/api/v1/accounts/{id}/followers")
async def followers(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    target = c.sb.account(c.path_id())
    rows = [(f.id, f.account_id) for f in c.sb.follows.values() if f.target_id == target.id]
    return _follow_page(c, target, rows)


@routes.get("/api/v1/accounts/{id}/following")
async def following(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    target = c.sb.account(c.path_id())
    rows = [(f.id, f.target_id) for f in c.sb.follows.values() if f.account_id == target.id]
    return _follow_page(c, target, rows)


def _follow_page(c: Caller, target: r.Account, rows: list[tuple[str, str]]) -> web.Response:
    if target.hide_collections and c.account_id != target.id:
        rows = []
    if c.account_id is not None:
        rows = [(i, a) for i, a in rows if not c.sb.blocked_either(c.account_id, a)]
    page = paginate(c.request, c.params, rows, default=40, maximum=80)
    return paged(page, lambda a: account(c.view, c.sb.account(a)))


@routes.get("/api/v1/accounts/{id}/lists")
async def account_lists(request: web.Request) -> web.Response:
    c = caller(request, "read:lists")
    target = c.sb.account(c.path_id())
    mine = [lst for lst in c.sb.lists.values() if lst.account_id == c.me]
    return ok([user_list(lst) for lst in mine if target.id in lst.members])


@routes.get("/api/v1/accounts/{id}/featured_tags")
async def account_featured_tags(request: web.Request) -> web.Response:
    c = caller(request, "read:accounts", "optional")
    target = c.sb.account(c.path_id())
    tags = [t for t in c.sb.featured_tags.values() if t.account_id == target.id]
    return ok([featured_tag(c.view, t) for t in tags])
