"""The error table: what Mastodon and other servers answer, and the typed error it becomes."""

from __future__ import annotations

import pytest

from mastod.actions.statuses import add_favourite_status, get_status
from mastod.mastodon.client import Api, MastodonClient
from mastod.mastodon.errors import (
    BadRequest,
    Forbidden,
    MastodonError,
    NotFound,
    ServerError,
    Unauthorized,
    UnexpectedResponse,
    Unprocessable,
    Unreachable,
)
from tests.mastodon.conftest import TOKEN, FakeUpstream, Reply, make_config

HTML = "text/html"
TEXT = "text/plain"
JSON = "application/json"
PAGE = (
    "<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)
DETAILS = {"username": [{"error": "ERR_TAKEN", "description": "is already taken"}]}


@pytest.mark.parametrize(
    ("status", "body", "content_type", "error", "message"),
    [
        (502, PAGE, HTML, ServerError, "HTTP 502 from server (HTML error page)"),
        (500, "Internal failure\n  at line 3\n", TEXT, ServerError,
         "HTTP 500 from server: Internal failure at line 3"),
        (503, "", TEXT, ServerError, "HTTP 503 from server (empty body)"),
        (500, '{"error": "Somethi', JSON, ServerError,
         "HTTP 500 from server (malformed or truncated JSON)"),
        (404, '{"error":"Record not found"}', JSON, NotFound, "Record not found"),
        (404, '{"detail":"Not Found"}', JSON, NotFound, "Not Found"),  # Takahē
        (410, '{"error":"Gone"}', JSON, NotFound, "Gone"),
        (403, '{"error":"This action is outside the authorized scopes"}', JSON, Forbidden,
         "This action is outside the authorized scopes"),
        (422, '{"error":"Validation failed: Text can\'t be blank"}', JSON, Unprocessable,
         "Validation failed: Text can't be blank"),
        (422, '{"errors":{"username":["has already been taken"]}}', JSON, Unprocessable,
         "username: has already been taken"),
        (400, '{"error":"invalid_grant","error_description":"The grant is invalid"}', JSON,
         BadRequest, "invalid_grant: The grant is invalid"),
        (405, "Method Not Allowed", TEXT, BadRequest, "HTTP 405 from server: Method Not Allowed"),
        (401, '{"error":"The access token is invalid"}', JSON, Unauthorized,
         "The access token is invalid"),
        # Bad tokens as other servers (and Mastodon's require_user!) report them:
        (400, "Invalid access token", TEXT, Unauthorized,
         "HTTP 400 from server: Invalid access token"),
        (422, '{"error":"This method requires an authenticated user"}', JSON, Unauthorized,
         "This method requires an authenticated user"),
        (400, '{"error":"Bad Request: token not supplied"}', JSON, Unauthorized,
         "Bad Request: token not supplied"),
        (403, '{"error":"Invalid credentials."}', JSON, Unauthorized, "Invalid credentials."),
        (200, '[{"id": "1"', JSON, UnexpectedResponse,
         "HTTP 200 from server is malformed or truncated JSON"),
        (200, PAGE, HTML, UnexpectedResponse, "HTTP 200 from server is an HTML page"),
        (301, "", TEXT, UnexpectedResponse, "HTTP 301 from server (empty body)"),
    ],
)  # fmt: skip
async def test_error_table(
    api: Api,
    upstream: FakeUpstream,
    status: int,
    body: str,
    content_type: str,
    error: type[MastodonError],
    message: str,
) -> None:
    upstream.default = Reply(status, body, content_type=content_type)

    with pytest.raises(error) as caught:
        await add_favourite_status(api, "1")

    assert type(caught.value) is error
    assert caught.value.error == message
    assert caught.value.http_status == status


async def test_validation_details_are_kept(api: Api, upstream: FakeUpstream) -> None:
    upstream.default = Reply(422, {"error": "Validation failed", "details": DETAILS})

    with pytest.raises(Unprocessable) as caught:
        await add_favourite_status(api, "1")

    assert caught.value.details == DETAILS


async def test_messages_are_short_and_hold_no_url_or_markup(
    api: Api, upstream: FakeUpstream
) -> None:
    text = f"<b>boom</b> see {upstream.url}/api/v1/x?access_token={TOKEN} " + "x" * 5000
    upstream.default = Reply(500, text, content_type=TEXT)

    with pytest.raises(ServerError) as caught:
        await get_status(api, "1")

    assert len(caught.value.error) <= 200
    assert caught.value.error.startswith("HTTP 500 from server: boom see <url> xxx")
    assert TOKEN not in caught.value.error
    assert "<b>" not in caught.value.error


async def test_redirect_is_not_followed(api: Api, upstream: FakeUpstream) -> None:
    upstream.default = Reply(302, "", headers={"Location": "http://127.0.0.2:1/steal"})

    with pytest.raises(UnexpectedResponse) as caught:
        await get_status(api, "1")

    assert len(upstream.seen) == 1
    assert "127.0.0.2" not in caught.value.error


async def test_unreachable_server(unused_tcp_port: int) -> None:
    client = MastodonClient(make_config(f"http://127.0.0.1:{unused_tcp_port}", max_retries=1))
    await client.start()
    try:
        with pytest.raises(Unreachable) as caught:
            await get_status(client.api(), "1")
    finally:
        await client.close()
    assert caught.value.error.startswith("Cannot connect to 127.0.0.1")
    assert caught.value.http_status is None
