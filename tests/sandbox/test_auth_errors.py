"""Tokens, scopes and Mastodon's error answers; ids that try to escape their route."""

from __future__ import annotations

import aiohttp
import pytest
from yarl import URL

from mastod.sandbox import APP_TOKEN, READ_ONLY_TOKEN
from tests.sandbox.conftest import auth

INVALID = {"error": "The access token is invalid"}
OUT_OF_SCOPE = {"error": "This action is outside the authorized scopes"}


async def test_missing_and_invalid_tokens_are_401(anon: aiohttp.ClientSession) -> None:
    async with anon.get("/api/v1/timelines/home") as resp:
        assert resp.status == 401
        assert await resp.json() == INVALID
    async with anon.get("/api/v1/timelines/home", headers=auth("nope")) as resp:
        assert resp.status == 401
        assert await resp.json() == INVALID


async def test_public_endpoints_ignore_an_unknown_token(anon: aiohttp.ClientSession) -> None:
    async with anon.get("/api/v1/accounts/1", headers=auth("nope")) as resp:
        assert resp.status == 200


async def test_scopes_are_enforced(anon: aiohttp.ClientSession) -> None:
    read_only = auth(READ_ONLY_TOKEN)
    async with anon.get("/api/v1/timelines/home", headers=read_only) as resp:
        assert resp.status == 200
    for method, path in [
        ("POST", "/api/v1/statuses"),
        ("POST", "/api/v1/accounts/2/follow"),
        ("POST", "/api/v1/lists"),
        ("POST", "/api/v1/statuses/113000000000000004/favourite"),
        ("GET", "/api/v1/push/subscription"),
        ("GET", "/api/v1/media/1"),
    ]:
        async with anon.request(method, path, headers=read_only) as resp:
            assert resp.status == 403, path
            assert await resp.json() == OUT_OF_SCOPE


async def test_app_token_on_a_user_endpoint_is_422(anon: aiohttp.ClientSession) -> None:
    async with anon.get("/api/v1/accounts/verify_credentials", headers=auth(APP_TOKEN)) as resp:
        assert resp.status == 422
        assert await resp.json() == {"error": "This method requires an authenticated user"}


async def test_access_token_query_parameter(anon: aiohttp.ClientSession) -> None:
    async with anon.get(
        "/api/v1/accounts/verify_credentials?access_token=sandbox-owner-token"
    ) as resp:
        assert resp.status == 200


@pytest.mark.parametrize(
    "raw",
    [
        "/api/v1/statuses/%2e%2e%2Fadmin",
        "/api/v1/statuses/..%2F..%2Fapi%2Fv1%2Ftimelines%2Fhome",
        "/api/v1/statuses/%2E%2E/favourite",
        "/api/v1/accounts/1%2Ffollow",
        "/api/v1/lists/%2E%2E",
        "/api/v1/statuses/1%3Fx=1",
    ],
)
async def test_escaping_ids_are_record_not_found(client: aiohttp.ClientSession, raw: str) -> None:
    method = "POST" if raw.endswith("favourite") else "GET"
    async with client.request(method, URL(raw, encoded=True)) as resp:
        assert resp.status == 404
        assert await resp.json() == {"error": "Record not found"}
        assert resp.url.raw_path == raw


async def test_unrouted_paths_and_methods_are_json_404(client: aiohttp.ClientSession) -> None:
    async with client.get("/api/v1/does/not/exist") as resp:
        assert resp.status == 404
        assert await resp.json() == {"error": "Record not found"}
    async with client.patch("/api/v1/timelines/home") as resp:
        assert resp.status == 404


async def test_malformed_json_body_is_400(client: aiohttp.ClientSession) -> None:
    headers = {"Content-Type": "application/json"}
    async with client.post("/api/v1/lists", data=b"{not json", headers=headers) as resp:
        assert resp.status == 400
        assert "error" in await resp.json()
