"""429 handling: wait for X-RateLimit-Reset when it is close, fail fast with the reset when not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from mastod.actions.statuses import add_favourite_status
from mastod.mastodon.client import Api, MastodonClient
from mastod.mastodon.errors import RateLimited
from mastod.mastodon.ratelimit import rate_limit, retry_after
from tests.mastodon.conftest import STATUS_BODY, FakeClock, FakeUpstream, Reply

NOW = datetime(2026, 8, 1, 13, 50, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def http_date(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


@pytest.mark.parametrize(
    ("headers", "wait", "reset"),
    [
        # Mastodon: ISO 8601 with microseconds, Date from the same clock
        ({"X-RateLimit-Reset": "2026-08-01T13:55:00.006593Z", "Date": http_date(NOW)},
         300.006593, "2026-08-01T13:55:00Z"),
        # GoToSocial: an integer epoch
        ({"X-RateLimit-Reset": str(int((NOW + timedelta(seconds=90)).timestamp()))},
         90.0, "2026-08-01T13:51:30Z"),
        # The server's clock is an hour behind ours: wait by its clock, report by ours
        ({"X-RateLimit-Reset": iso(NOW - timedelta(minutes=59)),
          "Date": http_date(NOW - timedelta(hours=1))},
         60.0, "2026-08-01T13:51:00Z"),
        # A Retry-After (seconds or HTTP date) wins over the reset
        ({"Retry-After": "7", "X-RateLimit-Reset": iso(NOW + timedelta(hours=1))},
         7.0, "2026-08-01T13:50:07Z"),
        ({"Retry-After": http_date(NOW + timedelta(seconds=30))}, 30.0, "2026-08-01T13:50:30Z"),
        # A reset in the past: go again now
        ({"X-RateLimit-Reset": iso(NOW - timedelta(seconds=5))}, 0.0, "2026-08-01T13:50:00Z"),
    ],
)  # fmt: skip
def test_rate_limit_headers(headers: dict[str, str], wait: float, reset: str) -> None:
    limit = rate_limit(headers, now=NOW)

    assert limit is not None
    assert limit.wait == pytest.approx(wait)
    assert limit.reset == reset


def test_no_reset_named() -> None:
    assert rate_limit({"X-RateLimit-Reset": "soon"}, now=NOW) is None
    assert rate_limit({}, now=NOW) is None
    assert retry_after({"Retry-After": "3"}, now=NOW) == 3.0
    assert retry_after({}, now=NOW) is None


def too_many(reset: datetime, **extra: str) -> Reply:
    headers = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": iso(reset),
        **extra,
    }
    return Reply(429, {"error": "Too many requests"}, headers=headers)


@pytest.fixture
def clock(client: MastodonClient) -> FakeClock:
    client.rate_clock = fake = FakeClock(NOW)
    return fake


async def test_waits_for_a_close_reset_then_retries_any_verb(
    api: Api, upstream: FakeUpstream, clock: FakeClock
) -> None:
    upstream.reply(
        too_many(NOW + timedelta(seconds=1), Date=http_date(NOW)), Reply(body=STATUS_BODY)
    )

    result = await add_favourite_status(api, "1")  # a POST: a 429 was never processed

    assert clock.slept == [1.0]
    assert [seen.method for seen in upstream.seen] == ["POST", "POST"]
    assert result is not None
    assert result["id"] == STATUS_BODY["id"]


async def test_waits_by_the_servers_clock(
    api: Api, upstream: FakeUpstream, clock: FakeClock
) -> None:
    server_now = NOW - timedelta(hours=1)
    upstream.reply(
        too_many(server_now + timedelta(seconds=1), Date=http_date(server_now)),
        Reply(body=STATUS_BODY),
    )

    await add_favourite_status(api, "1")  # an hour "in the past", yet 1 s away

    assert clock.slept == [1.0]
    assert len(upstream.seen) == 2


async def test_fails_fast_when_the_reset_is_far(
    api: Api, upstream: FakeUpstream, clock: FakeClock
) -> None:
    reset = NOW + timedelta(minutes=10)
    upstream.default = too_many(reset, Date=http_date(NOW))

    with pytest.raises(RateLimited) as caught:
        await add_favourite_status(api, "1")

    assert clock.slept == []
    assert len(upstream.seen) == 1
    assert caught.value.http_status == 429
    assert caught.value.error == "Too many requests"
    assert caught.value.rate_limit_reset == iso(reset)
