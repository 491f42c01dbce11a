"""Who is calling: token lookup and scope checks, in Doorkeeper's order (401, 403, then 422).

Scopes are granular (`read:statuses`); the parent (`read`) always satisfies them, and the
legacy `follow` scope satisfies the follows/blocks/mutes ones, as Mastodon's controllers
declare (`doorkeeper_authorize! :follow, :read, :'read:blocks'`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.errors import ApiError, out_of_scope, unauthorized, user_required
from mastod.sandbox.keys import RAW_BODY_KEY, SANDBOX_KEY
from mastod.sandbox.params import Params, parse_body
from mastod.sandbox.state import Sandbox
from mastod.sandbox.views.base import View

Mode = Literal["user", "app", "optional"]

_LEGACY_FOLLOW = frozenset(
    {"read:follows", "write:follows", "read:blocks", "write:blocks", "read:mutes", "write:mutes"}
)
_PARAMS = web.RequestKey("mastod.sandbox.params", Params)


@dataclass(frozen=True)
class Caller:
    """The sandbox, the parsed parameters and the authenticated token (if any) of a request."""

    sb: Sandbox
    request: web.Request
    params: Params
    token: r.Token | None

    @property
    def account_id(self) -> str | None:
        return self.token.account_id if self.token else None

    @property
    def me(self) -> str:
        """The user's account id; only valid after a `mode="user"` check."""
        if self.token is None or self.token.account_id is None:
            raise user_required()
        return self.token.account_id

    @property
    def view(self) -> View:
        return View(self.sb, self.account_id)

    def path_id(self, name: str = "id") -> str:
        return self.request.match_info[name]


def params_of(request: web.Request) -> Params:
    """Query and body parameters merged (body wins), parsed once per request."""
    cached = request.get(_PARAMS)
    if cached is None:
        raw = request.get(RAW_BODY_KEY, b"")
        body = parse_body(raw, request.headers.get("Content-Type", ""))
        cached = request[_PARAMS] = Params.merge(list(request.rel_url.query.items()), body)
    return cached


def bearer(request: web.Request) -> str | None:
    """The token of a request: `Authorization: Bearer`, else an `access_token` parameter."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.rel_url.query.get("access_token") or None


def accepted_scopes(scope: str) -> frozenset[str]:
    accepted = {scope, scope.split(":", 1)[0]}
    if scope in _LEGACY_FOLLOW:
        accepted.add("follow")
    return frozenset(accepted)


def caller(
    request: web.Request,
    scope: str | None,
    mode: Mode = "user",
    *,
    also: tuple[str, ...] = (),
) -> Caller:
    """Authenticate a request for an endpoint needing `scope` (or any of `also`).

    `user`: a user token is required; `app`: any token; `optional`: a valid token is checked
    for scope, a missing or unknown one makes an anonymous caller (`authorize_if_got_token!`).
    """
    sb = request.app[SANDBOX_KEY]
    params = params_of(request)
    value = bearer(request)
    token = sb.tokens.get(value) if value else None
    if token is None and value in sb.revoked_tokens:
        raise ApiError(401, "The access token was revoked")
    if token is None:
        if mode == "optional":
            return Caller(sb, request, params, None)
        raise unauthorized()
    if scope is not None and not (accepted_scopes(scope) | set(also)) & token.scopes:
        raise out_of_scope()
    if mode == "user":
        if token.account_id is None:
            raise user_required()
        if not sb.account(token.account_id).confirmed:
            raise ApiError(403, "Your login is missing a confirmed e-mail address")
    return Caller(sb, request, params, token)
