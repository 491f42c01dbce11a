"""One log line per HTTP request, with the path template: never a token or a query."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from mastod.actions.registration import register_account
from mastod.actions.statuses import add_favourite_status, get_status
from mastod.actions.timelines import get_home_timeline
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.errors import NotFound
from tests.mastodon.conftest import TOKEN, FakeUpstream, Reply

SECRET = "client-secret-5566"
OTHER_TOKEN = "override-token-7788"


async def test_log_lines_hold_no_secret(client: MastodonClient, upstream: FakeUpstream) -> None:
    upstream.reply(
        Reply(body=[]),
        Reply(503),
        Reply(body={"id": "1", "account": {}, "content": ""}),
        Reply(404, {"error": f"Record not found for {TOKEN}"}),
        Reply(body={"access_token": "app-token-1"}),
        Reply(body={"access_token": "user-token-2"}),
    )

    with capture_logs() as logs:
        await get_home_timeline(client.api(), max_id="123", limit=5)
        await get_status(client.api(access_token=OTHER_TOKEN), "1")  # 503, then 200
        with pytest.raises(NotFound):
            await add_favourite_status(client.api(), "1")
        await register_account(
            client.api(), "u", "u@example.org", "pw", client_id="cid", client_secret=SECRET
        )

    requests = [entry for entry in logs if entry["event"] == "mastodon.request"]
    assert [(entry["verb"], entry["path"], entry["status"]) for entry in requests] == [
        ("GET", "/api/v1/timelines/home", 200),
        ("GET", "/api/v1/statuses/{status_id}", 503),
        ("GET", "/api/v1/statuses/{status_id}", 200),
        ("POST", "/api/v1/statuses/{status_id}/favourite", 404),
        ("POST", "/oauth/token", 200),
        ("POST", "/api/v1/accounts", 200),
    ]
    assert all(isinstance(entry["ms"], int) for entry in requests)
    text = repr(logs)
    for secret in (TOKEN, OTHER_TOKEN, SECRET, "app-token-1", "user-token-2", "max_id", "pw"):
        assert secret not in text
    assert upstream.url not in text


async def test_register_account_gets_an_app_token_first(
    client: MastodonClient, upstream: FakeUpstream
) -> None:
    upstream.reply(Reply(body={"access_token": "app-token-1"}), Reply(body={"access_token": "u"}))

    await register_account(
        client.api(), "u", "u@example.org", "pw", client_id="cid", client_secret=SECRET
    )

    grant, registration = upstream.seen
    assert grant.path == "/oauth/token"
    assert "Authorization" not in grant.headers
    assert grant.form == [
        ("grant_type", "client_credentials"),
        ("client_id", "cid"),
        ("client_secret", SECRET),
        ("scope", "write:accounts"),
    ]
    assert registration.headers["Authorization"] == "Bearer app-token-1"
    assert all(SECRET not in value for _, value in registration.form)
