"""Apps, client_credentials tokens and account registration."""

from __future__ import annotations

import re

import aiohttp

from mastod.sandbox import APP_TOKEN, CLIENT_ID, CLIENT_SECRET, OWNER_TOKEN, Sandbox
from tests.sandbox.conftest import auth

REGISTRATION = {
    "username": "dave",
    "email": "dave@example.org",
    "password": "correct horse",
    "agreement": True,
    "locale": "en",
}


async def test_register_app_then_client_credentials(anon: aiohttp.ClientSession) -> None:
    form = [
        ("client_name", "probe"),
        ("redirect_uris[]", "urn:ietf:wg:oauth:2.0:oob"),
        ("scopes", "read write:accounts"),
    ]
    async with anon.post("/api/v1/apps", data=form) as resp:
        app = await resp.json()
    assert app["scopes"] == ["read", "write:accounts"]
    assert app["client_secret"]
    body = {
        "grant_type": "client_credentials",
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "scope": "write:accounts",
    }
    async with anon.post("/oauth/token", data=body) as resp:
        token = await resp.json()
    assert token["token_type"] == "Bearer"
    assert token["scope"] == "write:accounts"
    assert isinstance(token["created_at"], int)
    async with anon.get(
        "/api/v1/apps/verify_credentials", headers=auth(token["access_token"])
    ) as resp:
        assert (await resp.json())["name"] == "probe"


async def test_token_with_the_well_known_client(anon: aiohttp.ClientSession) -> None:
    body = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    async with anon.post("/oauth/token", json=body) as resp:
        assert (await resp.json())["scope"] == "read"
    async with anon.post("/oauth/token", json={**body, "client_secret": "wrong"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "invalid_client"
    async with anon.post("/oauth/token", json={**body, "scope": "admin:write"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_scope"
    async with anon.post("/oauth/token", json={**body, "scope": "write:accounts"}) as resp:
        app_token = (await resp.json())["access_token"]
    async with anon.post("/api/v1/accounts", json=REGISTRATION, headers=auth(app_token)) as resp:
        assert resp.status == 200
    async with anon.post("/oauth/token", json={**body, "grant_type": "password"}) as resp:
        assert resp.status == 400
        assert (await resp.json())["error"] == "unsupported_grant_type"


async def test_app_validation(anon: aiohttp.ClientSession) -> None:
    async with anon.post("/api/v1/apps", json={"client_name": "", "redirect_uris": []}) as resp:
        assert resp.status == 422
        assert (await resp.json())["error"].startswith("Validation failed: Application name")


async def test_registration_returns_a_token_for_an_unconfirmed_user(
    anon: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    async with anon.post("/api/v1/accounts", json=REGISTRATION, headers=auth(APP_TOKEN)) as resp:
        assert resp.status == 200, await resp.text()
        token = await resp.json()
    assert token["scope"] == "read write write:accounts follow push"  # the app's scopes
    new = auth(token["access_token"])
    async with anon.get("/api/v1/accounts/verify_credentials", headers=new) as resp:
        assert resp.status == 403
        assert await resp.json() == {"error": "Your login is missing a confirmed e-mail address"}
    sandbox.confirm_account("dave")
    async with anon.get("/api/v1/accounts/verify_credentials", headers=new) as resp:
        assert (await resp.json())["username"] == "dave"


async def test_registration_needs_an_app_token(anon: aiohttp.ClientSession) -> None:
    async with anon.post("/api/v1/accounts", json=REGISTRATION, headers=auth(OWNER_TOKEN)) as resp:
        assert resp.status == 403
    async with anon.post("/api/v1/accounts", json=REGISTRATION) as resp:
        assert resp.status == 401


async def test_registration_validation_details(anon: aiohttp.ClientSession) -> None:
    bad = {"username": "alice", "email": "nope", "password": "short", "agreement": False}
    async with anon.post("/api/v1/accounts", json=bad, headers=auth(APP_TOKEN)) as resp:
        assert resp.status == 422
        body = await resp.json()
    assert body["error"].startswith("Validation failed: ")
    assert {field: [e["error"] for e in errs] for field, errs in body["details"].items()} == {
        "username": ["ERR_TAKEN"],
        "email": ["ERR_INVALID"],
        "password": ["ERR_TOO_SHORT"],
        "agreement": ["ERR_ACCEPTED"],
    }


OOB = "urn:ietf:wg:oauth:2.0:oob"


async def _oob_app(anon: aiohttp.ClientSession, scopes: str = "read write push") -> dict[str, str]:
    form = {"client_name": "init", "redirect_uris": OOB, "scopes": scopes}
    async with anon.post("/api/v1/apps", data=form) as resp:
        return dict(await resp.json())


def _authorize_query(app: dict[str, str], scope: str = "read write push") -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": app["client_id"],
        "redirect_uri": OOB,
        "scope": scope,
    }


def _exchange(app: dict[str, str], code: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app["client_id"],
        "client_secret": app["client_secret"],
        "redirect_uri": OOB,
    }


async def test_out_of_band_authorization_in_a_browser(anon: aiohttp.ClientSession) -> None:
    app = await _oob_app(anon)
    async with anon.get("/oauth/authorize", params=_authorize_query(app)) as resp:
        assert resp.status == 200
        page = await resp.text()
    assert 'action="/oauth/authorize"' in page
    assert "read write push" in page
    async with anon.post(
        "/oauth/authorize", data=_authorize_query(app), allow_redirects=False
    ) as resp:
        assert resp.status == 302
        shown = resp.headers["Location"]
    assert shown.startswith("/oauth/authorize/native?code=")
    async with anon.get(shown) as resp:
        page = await resp.text()
    code = re.search(r'class="oauth-code"', page) and shown.split("code=", 1)[1]
    assert code
    assert f'value="{code}"' in page
    async with anon.post("/oauth/token", data=_exchange(app, code)) as resp:
        token = await resp.json()
    assert token["scope"] == "read write push"
    async with anon.get(
        "/api/v1/accounts/verify_credentials", headers=auth(token["access_token"])
    ) as resp:
        assert (await resp.json())["username"] == "alice"
    async with anon.post("/oauth/token", data=_exchange(app, code)) as resp:  # used up
        assert resp.status == 400
        assert (await resp.json())["error"] == "invalid_grant"


async def test_approval_without_a_browser_and_bad_requests(anon: aiohttp.ClientSession) -> None:
    app = await _oob_app(anon)
    url = "/oauth/authorize?" + "&".join(f"{k}={v}" for k, v in _authorize_query(app).items())
    async with anon.post("/_sandbox/oauth/approve", json={"url": url, "scope": "read"}) as resp:
        code = (await resp.json())["code"]
    async with anon.post(
        "/oauth/token", data={**_exchange(app, code), "redirect_uri": "x"}
    ) as resp:
        assert (await resp.json())["error"] == "invalid_grant"  # and the code is spent
    async with anon.post("/_sandbox/oauth/approve", json={"url": url, "scope": "read"}) as resp:
        code = (await resp.json())["code"]
    async with anon.post("/oauth/token", data=_exchange(app, code)) as resp:
        assert (await resp.json())["scope"] == "read"
    for bad, error in (
        ({"scope": "admin:write"}, "invalid_scope"),
        ({"client_id": "nope"}, "invalid_client"),
        ({"redirect_uri": "https://elsewhere.example/cb"}, "invalid_redirect_uri"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ):
        async with anon.get("/oauth/authorize", params={**_authorize_query(app), **bad}) as resp:
            assert resp.status == 400
            assert (await resp.json())["error"] == error
