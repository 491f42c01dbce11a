"""The OAuth authorization step (Doorkeeper's routes, as Mastodon serves them): the approval
page, the approval itself, and the page showing an out-of-band code. The sandbox has no login:
the page acts for the owner (`alice`). Tests approve without a browser through
`POST /_sandbox/oauth/approve` with `{"url": "<authorization URL>"}` (optionally `"username"`,
and `"scope"` to grant fewer scopes than asked, as a server may), answered `{"code": ...}`."""

from __future__ import annotations

import html
import secrets
from datetime import timedelta

from aiohttp import web
from yarl import URL

from mastod.sandbox import records as r
from mastod.sandbox.auth import params_of
from mastod.sandbox.constants import OWNER_USERNAME
from mastod.sandbox.errors import ApiError
from mastod.sandbox.keys import SANDBOX_KEY
from mastod.sandbox.params import Params, nest
from mastod.sandbox.respond import ok
from mastod.sandbox.state import Sandbox

routes = web.RouteTableDef()

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)  # Doorkeeper's authorization_code_expires_in


def _error(error: str, description: str) -> ApiError:
    return ApiError(400, error, error_description=description)


def _check(sb: Sandbox, p: Params) -> tuple[r.App, str, str]:
    """The app, redirect URI and scope of a valid authorization request."""
    client_id = p.string("client_id") or ""
    app = next((a for a in sb.apps.values() if a.client_id == client_id), None)
    if app is None:
        raise _error("invalid_client", "Client authentication failed due to unknown client.")
    redirect_uri = p.string("redirect_uri") or ""
    if redirect_uri not in app.redirect_uris:
        raise _error(
            "invalid_redirect_uri",
            "The requested redirect uri is malformed or doesn't match client redirect URI.",
        )
    if p.string("response_type") != "code":
        raise _error(
            "unsupported_response_type",
            "The authorization server does not support this response type.",
        )
    scopes = (p.string("scope") or "read").split()
    if not scopes or not set(scopes) <= set(app.scopes):
        raise _error("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
    return app, redirect_uri, " ".join(scopes)


def _issue(sb: Sandbox, app: r.App, username: str, scope: str, redirect_uri: str) -> str:
    account = sb.account_by_username(username)
    code = secrets.token_urlsafe(32)
    sb.auth_codes[code] = r.AuthCode(code, app.id, account.id, scope, redirect_uri, sb.now())
    return code


def redeem(sb: Sandbox, app: r.App, code: str, redirect_uri: str) -> r.AuthCode | None:
    """The code's grant, used up; None when it is unknown, expired, used, or another app's."""
    grant = sb.auth_codes.pop(code, None)
    if grant is None or grant.app_id != app.id or grant.redirect_uri != redirect_uri:
        return None
    return grant if sb.now() - grant.created_at <= CODE_LIFETIME else None


@routes.get("/oauth/authorize")
async def authorize_page(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    p = params_of(request)
    app, redirect_uri, scope = _check(sb, p)
    fields = {
        "client_id": app.client_id,
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": scope,
    }
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">' for k, v in fields.items()
    )
    body = (
        "<!DOCTYPE html><html><head><title>Authorize</title></head><body>"
        f"<h1>Authorize {html.escape(app.name)}?</h1>"
        f"<p>It will use the account @{OWNER_USERNAME} with the scopes: "
        f"{html.escape(scope)}</p>"
        f'<form method="post" action="/oauth/authorize">{hidden}'
        '<button type="submit">Authorize</button></form></body></html>'
    )
    return web.Response(text=body, content_type="text/html")


@routes.post("/oauth/authorize")
async def approve(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    app, redirect_uri, scope = _check(sb, params_of(request))
    code = _issue(sb, app, OWNER_USERNAME, scope, redirect_uri)
    if redirect_uri == OOB:
        raise web.HTTPFound(URL("/oauth/authorize/native").with_query(code=code))
    raise web.HTTPFound(URL(redirect_uri).update_query(code=code))


@routes.get("/oauth/authorize/native")
async def show_code(request: web.Request) -> web.Response:
    code = html.escape(request.rel_url.query.get("code", ""))
    body = (
        "<!DOCTYPE html><html><head><title>Authorization code</title></head><body>"
        "<p>Copy this authorization code and paste it to the application.</p>"
        f'<input type="text" readonly value="{code}" class="oauth-code"></body></html>'
    )
    return web.Response(text=body, content_type="text/html")


@routes.post("/_sandbox/oauth/approve")
async def approve_for_tests(request: web.Request) -> web.Response:
    sb = request.app[SANDBOX_KEY]
    p = params_of(request)
    query = URL(p.text("url")).query
    app, redirect_uri, scope = _check(sb, Params(nest(query.items())))
    granted = p.string("scope") or scope
    code = _issue(sb, app, p.string("username") or OWNER_USERNAME, granted, redirect_uri)
    return ok({"code": code})
