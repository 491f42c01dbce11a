"""Account registration."""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import action
from mastod.mastodon.client import Api
from mastod.mastodon.errors import InvalidParam, UnexpectedResponse


@action
async def register_account(
    api: Api,
    username: str,
    email: str,
    password: str,
    locale: str = "en",
    reason: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    date_of_birth: str | None = None,
    invite_code: str | None = None,
) -> dict[str, Any]:
    """Register a new account.

    Mastodon accepts registrations only with an app token (no user) holding
    `write:accounts`. Either give `client_id` and `client_secret` of an app registered on the
    instance with that scope (the token is then obtained with the client_credentials grant
    for this call only), or leave them out and call with an app token as `access_token` (or
    configure one). Returns the new user's Token; the account must confirm its e-mail
    address before most calls work.
    """
    if client_id is not None or client_secret is not None:
        api = api.with_token(await _app_token(api, client_id, client_secret))
    params = {
        "username": username,
        "email": email,
        "password": password,
        "locale": locale,
        "reason": reason,
        "date_of_birth": date_of_birth,
        "invite_code": invite_code,
        "agreement": True,  # the caller agrees to the server's rules by registering
    }
    return await api.post("/api/v1/accounts", params)


async def _app_token(api: Api, client_id: str | None, client_secret: str | None) -> str:
    if not client_id:
        raise InvalidParam("client_id", "is required with client_secret")
    if not client_secret:
        raise InvalidParam("client_secret", "is required with client_id")
    grant = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "scope": "write:accounts",
    }
    # The token endpoint authenticates the app by its credentials, not by any bearer token.
    token = await api.with_token(None).post("/oauth/token", grant)
    access_token = token.get("access_token") if isinstance(token, dict) else None
    if not isinstance(access_token, str) or not access_token:
        raise UnexpectedResponse("The server's token endpoint returned no access token")
    return access_token
