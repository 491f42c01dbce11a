"""Apps, OAuth tokens (client_credentials, authorization_code) and account registration."""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from datetime import date

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import caller, params_of
from mastod.sandbox.errors import ApiError, invalid
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.params import Params
from mastod.sandbox.respond import empty, ok
from mastod.sandbox.routes.authorize import redeem
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import View
from mastod.sandbox.views.misc import application, token

routes = web.RouteTableDef()

_TOP_SCOPES = {"read", "write", "push", "profile", "follow", "admin:read", "admin:write"}
_READ = "accounts blocks bookmarks favourites filters follows lists mutes notifications search"
_WRITE = "accounts blocks bookmarks conversations favourites filters follows lists media mutes"
_GRANULAR = {f"read:{x}" for x in (_READ + " statuses").split()} | {
    f"write:{x}" for x in (_WRITE + " notifications reports statuses").split()
}
_RESERVED = {"admin", "root", "support", "help", "mastodon", "postmaster", "webmaster"}


def valid_scope(scope: str) -> bool:
    return (
        scope in _TOP_SCOPES
        or scope in _GRANULAR
        or scope.startswith(("admin:read:", "admin:write:"))
    )


@routes.post("/api/v1/apps")
async def create_app(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    p = params_of(request)
    name = p.text("client_name").strip()
    raw_uris = p.data.get("redirect_uris")
    uris = (
        [str(u) for u in raw_uris]
        if isinstance(raw_uris, list)
        else p.text("redirect_uris").split()
    )
    scopes = (p.string("scopes") or "read").split()
    problems = []
    if not name:
        problems.append("Application name can't be blank")
    if not uris:
        problems.append("Redirect URI can't be blank")
    if not all(valid_scope(s) for s in scopes):
        problems.append("Scopes doesn't match configured on the server.")
    if problems:
        raise invalid(*problems)
    app = r.App(
        sb.next_id("app"),
        name,
        secrets.token_urlsafe(32),
        secrets.token_urlsafe(32),
        uris,
        scopes,
        p.string("website") or None,
    )
    sb.apps[app.id] = app
    return ok(application(View(sb, None), app, with_secret=True))


@routes.get("/api/v1/apps/verify_credentials")
async def verify_app(request: web.Request) -> web.Response:
    c = caller(request, None, "app")
    assert c.token is not None
    return ok(application(c.view, c.sb.apps[c.token.app_id], with_secret=False))


def _oauth_error(status: int, error: str, description: str) -> ApiError:
    return ApiError(status, error, error_description=description)


def _client(sb: Sandbox, request: web.Request) -> r.App:
    """The app authenticating by `client_id`/`client_secret` params or HTTP Basic."""
    p = params_of(request)
    client_id, secret = p.string("client_id"), p.string("client_secret")
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip()).decode()
        except ValueError:
            decoded = ""
        client_id, _, secret = decoded.partition(":")
    for app in sb.apps.values():
        if app.client_id == client_id and secrets.compare_digest(app.client_secret, secret or ""):
            return app
    raise _oauth_error(
        401,
        "invalid_client",
        "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method.",
    )


@routes.post("/oauth/token")
async def oauth_token(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    p = params_of(request)
    grant = p.string("grant_type")
    if not grant:
        raise _oauth_error(400, "invalid_request", "Missing required parameter: grant_type.")
    if grant not in ("client_credentials", "authorization_code"):
        raise _oauth_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        )
    app = _client(sb, request)
    if grant == "authorization_code":
        issued = redeem(sb, app, p.string("code") or "", p.string("redirect_uri") or "")
        if issued is None:
            raise _oauth_error(
                400,
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not "
                "match the redirection URI used in the authorization request, or was issued "
                "to another client.",
            )
        return ok(
            token(sb.add_token(secrets.token_urlsafe(32), issued.account_id, issued.scope, app.id))
        )
    requested = (p.string("scope") or "read").split()
    if not requested or not all(s in app.scopes for s in requested):
        raise _oauth_error(
            400, "invalid_scope", "The requested scope is invalid, unknown, or malformed."
        )
    row = sb.add_token(secrets.token_urlsafe(32), None, " ".join(requested), app.id)
    return ok(token(row))


@routes.post("/oauth/revoke")
async def oauth_revoke(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    app = _client(sb, request)
    value = params_of(request).string("token")
    row = sb.tokens.get(value or "")
    if row is not None and row.app_id == app.id:
        del sb.tokens[row.token]
        sb.revoked_tokens.add(row.token)
        sb.push_subscriptions.pop(row.token, None)
        sb.streams.drop_token(row.token)
    return empty()


@routes.post("/api/v1/accounts")
async def register(request: web.Request) -> web.Response:
    c = caller(request, "write:accounts", "app")
    assert c.token is not None
    if c.token.account_id is not None:
        raise ApiError(403, "This method requires an client credentials authentication")
    p = c.params
    details = _registration_problems(c.sb, p.text("username"), p.text("email"), p)
    if details:
        messages = [
            f"{field.capitalize()} {e['description']}"
            for field, errs in details.items()
            for e in errs
        ]
        raise ApiError(422, "Validation failed: " + ", ".join(messages), details=details)
    username = p.text("username")
    account = r.Account(
        c.sb.next_id("account"),
        username,
        username,
        c.sb.now(),
        email=p.text("email"),
        language=p.string("locale") or None,
        confirmed=False,
    )
    c.sb.accounts[account.id] = account
    app = c.sb.apps[c.token.app_id]
    row = c.sb.add_token(secrets.token_urlsafe(32), account.id, " ".join(app.scopes), app.id)
    return ok(token(row))


def _check_age(sb: Sandbox, born: str | None, add: Callable[[str, str, str], None]) -> None:
    """With `registration_min_age` set, `date_of_birth` (YYYY-MM-DD) is required and checked
    (`User#date_of_birth` validations of Mastodon 4.4+)."""
    if sb.registration_min_age is None:
        return
    if not born:
        add("date_of_birth", "ERR_BLANK", "can't be blank")
        return
    try:
        day = date.fromisoformat(born)
    except ValueError:
        add("date_of_birth", "ERR_INVALID", "is invalid")
        return
    today = sb.now().date()
    age = today.year - day.year - ((today.month, today.day) < (day.month, day.day))
    if age < sb.registration_min_age:
        add("date_of_birth", "ERR_BELOW_LIMIT", "is below the age limit")


def _registration_problems(
    sb: Sandbox, username: str, email: str, p: Params
) -> dict[str, list[dict[str, str]]]:
    details: dict[str, list[dict[str, str]]] = {}

    def add(field: str, code: str, description: str) -> None:
        details.setdefault(field, []).append({"error": code, "description": description})

    taken = {a.username.lower() for a in sb.accounts.values()}
    if not username:
        add("username", "ERR_BLANK", "can't be blank")
    elif not re.fullmatch(r"[A-Za-z0-9_]+", username):
        add("username", "ERR_INVALID", "must contain only letters, numbers and underscores")
    elif len(username) > 30:
        add("username", "ERR_TOO_LONG", "is too long (maximum is 30 characters)")
    elif username.lower() in _RESERVED:
        add("username", "ERR_RESERVED", "is reserved")
    elif username.lower() in taken:
        add("username", "ERR_TAKEN", "has already been taken")
    if not email:
        add("email", "ERR_BLANK", "can't be blank")
    elif not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        add("email", "ERR_INVALID", "is invalid")
    elif email.lower() in {(a.email or "").lower() for a in sb.accounts.values()}:
        add("email", "ERR_TAKEN", "has already been taken")
    password = p.text("password")
    if not password:
        add("password", "ERR_BLANK", "can't be blank")
    elif len(password) < 8:
        add("password", "ERR_TOO_SHORT", "is too short (minimum is 8 characters)")
    elif len(password) > 72:
        add("password", "ERR_TOO_LONG", "is too long (maximum is 72 characters)")
    if not p.flag("agreement", False):
        add("agreement", "ERR_ACCEPTED", "must be accepted")
    _check_age(sb, p.string("date_of_birth"), add)
    locale = p.string("locale")
    if locale and not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z]{2,4})?", locale):
        add("locale", "ERR_INCLUSION", "is not included in the list")
    return details
