"""Upstream faults, through the real RPC stack (the daemon's app on its Unix socket, the
request core, the sandbox with fault injection): 429 storms, 5xx bursts, timeouts,
connection resets, truncated JSON, slow answers, HTML and plain-text bodies, and a server
that closes the connection after every response.

What each test proves, from the caller's side:
- reads are retried and succeed once the fault clears (counting the GETs the sandbox saw);
- a write without an Idempotency-Key is sent once, whatever happens to its answer (counting
  the POSTs and what they created);
- `publish_status` under a random mix of faults publishes every post exactly once;
- every failure is the documented JSON-RPC error (README's table) with `data.http_status`
  and `data.error`, no URL and no token, and arrives within a bound (a hang detector).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mastod.sandbox import OWNER_TOKEN, RunningSandbox
from mastod.sandbox.faults import Fault, FaultKind
from mastod.sandbox.recorded import RecordedRequest
from tests.reliability.harness import InProcess, alice_id, in_process_daemon

# The request core's knobs here: a 1 s request timeout (a 1.5 s latency fault is a timeout),
# two retries, and 429 resets waited out when at most 2 s away.
TIMEOUT = 1.0
MAX_RETRIES = 2
RATE_LIMIT_MAX_WAIT = 2.0
# README's error table: the codes a Mastodon failure may reach a caller as.
MASTODON_ERRORS = {-32000, -32001, -32003, -32004, -32005, -32022, -32029, -32050, -32051, -32052}
ANSWER_BOUND = 30.0  # seconds: an answer later than this is a hang, not a slow call
HTML_PAGE = "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>"


@pytest.fixture
async def daemon(workdir: Path, upstream: RunningSandbox) -> AsyncIterator[InProcess]:
    """The daemon's app in this process, on its Unix socket, with those knobs."""
    mastodon = {
        "timeout": TIMEOUT,
        "connect_timeout": TIMEOUT,
        "max_retries": MAX_RETRIES,
        "rate_limit_max_wait": RATE_LIMIT_MAX_WAIT,
    }
    async with in_process_daemon(workdir, upstream.url, {"mastodon": mastodon}) as running:
        yield running


def alice_status(upstream: RunningSandbox) -> str:
    me = alice_id(upstream)
    return next(s.id for s in upstream.sandbox.statuses.values() if s.account_id == me)


def requests(
    upstream: RunningSandbox, since: int, method: str, prefix: str
) -> list[RecordedRequest]:
    return [
        r
        for r in upstream.sandbox.recorded[since:]
        if r.method == method and r.path.startswith(prefix)
    ]


async def timed(daemon: InProcess, method: str, params: Any = None) -> dict[str, Any]:
    """Call and check the answer came within ANSWER_BOUND (the call is cancelled otherwise)."""
    started = time.monotonic()
    answer = await asyncio.wait_for(daemon.call(method, params), ANSWER_BOUND)
    assert time.monotonic() - started < ANSWER_BOUND
    return answer


def documented(answer: dict[str, Any], code: int, http_status: int | None = None) -> dict[str, Any]:
    """`answer` is the documented error `code`; returns its `data`."""
    assert "error" in answer, answer
    error = answer["error"]
    assert error["code"] == code, error
    assert error["code"] in MASTODON_ERRORS
    data: dict[str, Any] = error["data"]
    assert set(data) >= {"http_status", "error"}, data
    assert data["http_status"] == http_status, data
    text = f"{error['message']} {data['error']}"
    for leak in ("http://", OWNER_TOKEN, "<"):
        assert leak not in text, text
    return data


def ok(answer: dict[str, Any]) -> Any:
    assert "result" in answer, answer
    return answer["result"]


# -- 429 ------------------------------------------------------------------------------------------


async def test_rate_limit_storm_short_resets_are_waited_out(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    status_id = alice_status(upstream)
    callers = 20
    # every caller meets two 429s in a row (its first two attempts), each reset 0.3 s away
    storm = upstream.sandbox.faults.add(
        "/api/v1/statuses/", "rate_limit", reset_in=0.3, count=2 * callers, method="GET"
    )
    before = len(upstream.sandbox.recorded)
    answers = await asyncio.gather(
        *(timed(daemon, "get_status", [status_id]) for _ in range(callers))
    )
    assert [ok(a)["id"] for a in answers] == [status_id] * callers
    assert storm.hits == 2 * callers
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == 3 * callers
    # 429 means "not processed", so a write is sent again after the wait, and takes effect once
    upstream.sandbox.faults.add("/api/v1/lists", "rate_limit", reset_in=0.3, method="POST")
    before = len(upstream.sandbox.recorded)
    ok(await timed(daemon, "create_list", {"title": "after a 429"}))
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 2
    assert [li.title for li in upstream.sandbox.lists.values()].count("after a 429") == 1


async def test_rate_limit_far_reset_fails_fast_with_the_reset(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    status_id = alice_status(upstream)
    upstream.sandbox.faults.add("/api/v1/statuses/", "rate_limit", reset_in=600, count=None)
    before = len(upstream.sandbox.recorded)
    started = time.monotonic()
    answers = await asyncio.gather(*(timed(daemon, "get_status", [status_id]) for _ in range(10)))
    # not waited for: one request each, answered sooner than the longest wait allowed
    assert time.monotonic() - started < RATE_LIMIT_MAX_WAIT
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == 10
    for answer in answers:
        data = documented(answer, -32029, 429)
        reset = datetime.fromisoformat(data["rate_limit_reset"])
        assert 590 < (reset - datetime.now(UTC)).total_seconds() <= 601
    upstream.sandbox.faults.clear()
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id


async def test_rate_limit_storm_that_never_ends_is_given_up_on(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    status_id = alice_status(upstream)
    upstream.sandbox.faults.add("/api/v1/statuses/", "rate_limit", reset_in=0.2, count=None)
    answers = await asyncio.gather(*(timed(daemon, "get_status", [status_id]) for _ in range(5)))
    for answer in answers:
        assert documented(answer, -32029, 429)["rate_limit_reset"]
    upstream.sandbox.faults.clear()
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id


# -- 5xx, HTML and non-JSON bodies ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type"),
    [
        (502, None, "application/json"),
        (503, "Service Unavailable", "text/plain"),
        (504, HTML_PAGE, "text/html"),
    ],
    ids=["502-json", "503-text", "504-html"],
)
async def test_5xx_burst_reads_retried_writes_not(
    daemon: InProcess, upstream: RunningSandbox, status: int, body: str | None, content_type: str
) -> None:
    sb = upstream.sandbox
    status_id = alice_status(upstream)

    def burst(path: str, method: str, count: int | None) -> Fault:
        return sb.faults.add(
            path,
            "status",
            count=count,
            method=method,
            status=status,
            body=body,
            content_type=content_type,
        )

    # a burst shorter than the retries: the read succeeds
    burst("/api/v1/statuses/", "GET", MAX_RETRIES)
    before = len(sb.recorded)
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == MAX_RETRIES + 1
    # a burst that outlasts them: the documented error after 1 + max_retries attempts
    endless = burst("/api/v1/statuses/", "GET", None)
    documented(await timed(daemon, "get_status", [status_id]), -32050, status)
    assert endless.hits == MAX_RETRIES + 1
    # a write is sent once
    burst("/api/v1/lists", "POST", None)
    before = len(sb.recorded)
    documented(await timed(daemon, "create_list", {"title": "5xx"}), -32050, status)
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 1
    # and everything works again once the fault clears
    sb.faults.clear()
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id
    ok(await timed(daemon, "create_list", {"title": "after 5xx"}))
    assert [li.title for li in sb.lists.values()].count("after 5xx") == 1


@pytest.mark.parametrize(
    ("status", "body", "content_type", "code"),
    [
        (500, HTML_PAGE, "text/html", -32050),
        (200, HTML_PAGE, "text/html", -32051),
        (200, "OK", "text/plain", -32051),
        (200, '{"id": "1", "content": "<p>cut', "application/json", -32051),
        (404, "Not Found", "text/plain", -32004),
        (400, "Bad Request", "text/plain", -32005),
        (403, HTML_PAGE, "text/html", -32003),
        (418, "", "text/plain", -32005),
    ],
    ids=["500-html", "200-html", "200-text", "200-cut-json", "404", "400", "403-html", "418"],
)
async def test_odd_bodies_are_documented_errors_not_retried(
    daemon: InProcess,
    upstream: RunningSandbox,
    status: int,
    body: str,
    content_type: str,
    code: int,
) -> None:
    status_id = alice_status(upstream)
    upstream.sandbox.faults.add(
        "/api/v1/statuses/", "status", status=status, body=body, content_type=content_type
    )
    before = len(upstream.sandbox.recorded)
    data = documented(await timed(daemon, "get_status", [status_id]), code, status)
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == 1
    if content_type == "text/html":
        assert "HTML" in data["error"]
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id


# -- timeouts, resets, truncation, slowness -------------------------------------------------------


async def test_timeouts_reads_retried_writes_not(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    status_id = alice_status(upstream)
    late = TIMEOUT + 0.5
    sb.faults.add("/api/v1/statuses/", "latency", seconds=late, method="GET")
    before = len(sb.recorded)
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == 2
    sb.faults.add("/api/v1/statuses/", "latency", seconds=late, method="GET", count=None)
    documented(await timed(daemon, "get_status", [status_id]), -32052)
    sb.faults.clear()
    # a write that times out is not sent again, although the server went on to process it
    sb.faults.add("/api/v1/lists", "latency", seconds=late, method="POST")
    before = len(sb.recorded)
    documented(await timed(daemon, "create_list", {"title": "slow write"}), -32052)
    await asyncio.sleep(late)  # the sandbox finishes the request the daemon gave up on
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 1
    assert [li.title for li in sb.lists.values()].count("slow write") == 1
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id


async def test_slow_answers_within_the_timeout_succeed(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    status_id = alice_status(upstream)
    upstream.sandbox.faults.add("/api/v1/", "latency", seconds=TIMEOUT / 2, count=None)
    answers = await asyncio.gather(
        *(timed(daemon, "get_status", [status_id]) for _ in range(10)),
        *(timed(daemon, "get_home_timeline", {"limit": 5}) for _ in range(10)),
        timed(daemon, "create_list", {"title": "slow but fine"}),
    )
    assert all("result" in a for a in answers), answers
    assert [li.title for li in upstream.sandbox.lists.values()].count("slow but fine") == 1


async def test_connection_resets_reads_retried(daemon: InProcess, upstream: RunningSandbox) -> None:
    sb = upstream.sandbox
    status_id = alice_status(upstream)
    sb.faults.add("/api/v1/statuses/", "drop", count=MAX_RETRIES, method="GET")
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id
    sb.faults.add("/api/v1/statuses/", "drop", count=None, method="GET")
    documented(await timed(daemon, "get_status", [status_id]), -32052)
    sb.faults.clear()
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id


async def test_reset_on_a_fresh_connection_write_not_resent(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    sb.faults.close_connections = True  # no pooled connection: the POST goes on a new one
    ok(await timed(daemon, "get_lists"))
    sb.faults.close_connections = False
    sb.faults.add("/api/v1/lists", "drop", method="POST", after=True)
    before = len(sb.recorded)
    documented(await timed(daemon, "create_list", {"title": "reset"}), -32052)
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 1
    assert [li.title for li in sb.lists.values()].count("reset") == 1


async def test_lost_answer_on_a_reused_connection_write_not_resent(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    ok(await timed(daemon, "get_lists"))  # leaves a keep-alive connection in the pool
    sb.faults.add("/api/v1/lists", "drop", method="POST", after=True)
    before = len(sb.recorded)
    await timed(daemon, "create_list", {"title": "processed, answer lost"})
    titles = [li.title for li in sb.lists.values()]
    assert titles.count("processed, answer lost") == 1
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 1


async def test_truncated_json(daemon: InProcess, upstream: RunningSandbox) -> None:
    sb = upstream.sandbox
    status_id = alice_status(upstream)
    # a complete answer whose JSON is cut: the server answered, so it is not asked again
    sb.faults.add("/api/v1/statuses/", "truncate", cut_connection=False)
    before = len(sb.recorded)
    data = documented(await timed(daemon, "get_status", [status_id]), -32051, 200)
    assert "JSON" in data["error"]
    assert len(requests(upstream, before, "GET", "/api/v1/statuses/")) == 1
    # the connection cut mid-body: a read is retried and succeeds
    sb.faults.add("/api/v1/statuses/", "truncate", count=MAX_RETRIES)
    assert ok(await timed(daemon, "get_status", [status_id]))["id"] == status_id
    # a write cut mid-answer took effect; it is not sent again
    sb.faults.add("/api/v1/lists", "truncate", method="POST", keep_bytes=5)
    before = len(sb.recorded)
    documented(await timed(daemon, "create_list", {"title": "cut"}), -32052)
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 1
    assert [li.title for li in sb.lists.values()].count("cut") == 1


async def test_server_closing_every_connection(daemon: InProcess, upstream: RunningSandbox) -> None:
    """GoToSocial-, Akkoma-style `Connection: close` on every answer: every call works, and
    every write is sent exactly once."""
    sb = upstream.sandbox
    sb.faults.close_connections = True
    status_id = alice_status(upstream)
    before = len(sb.recorded)
    sequential = [await timed(daemon, "get_status", [status_id]) for _ in range(10)]
    concurrent = await asyncio.gather(
        *(timed(daemon, "get_home_timeline", {"limit": 3}) for _ in range(10)),
        *(timed(daemon, "create_list", {"title": f"closing {i}"}) for i in range(10)),
        *(timed(daemon, "publish_status", {"status": f"closing {i}"}) for i in range(10)),
    )
    assert all("result" in a for a in [*sequential, *concurrent])
    assert len(requests(upstream, before, "POST", "/api/v1/lists")) == 10
    assert len(requests(upstream, before, "POST", "/api/v1/statuses")) == 10
    titles = [li.title for li in sb.lists.values()]
    texts = [s.text for s in sb.statuses.values()]
    for i in range(10):
        assert titles.count(f"closing {i}") == 1
        assert texts.count(f"closing {i}") == 1


# -- publish_status exactly once ------------------------------------------------------------------


# Faults for POST /api/v1/statuses: (kind, options). "after" ones let the post take effect.
PUBLISH_FAULTS: dict[str, tuple[FaultKind, dict[str, Any]]] = {
    "drop after processing": ("drop", {"after": True}),
    "reset": ("drop", {}),
    "502 after processing": ("status", {"status": 502, "after": True}),
    "502": ("status", {"status": 502}),
    "503": ("status", {"status": 503}),
    "cut mid-answer": ("truncate", {}),
    "cut JSON": ("truncate", {"cut_connection": False}),
    "timeout": ("latency", {"seconds": TIMEOUT + 0.5}),
    "429": ("rate_limit", {"reset_in": 0.2}),
}


def _program_faults(upstream: RunningSandbox, rng: random.Random, count: int) -> list[str]:
    """`count` one-shot faults on POST /api/v1/statuses, in random order; their names."""
    chosen = [rng.choice(sorted(PUBLISH_FAULTS)) for _ in range(count)]
    for name in chosen:
        kind, options = PUBLISH_FAULTS[name]
        upstream.sandbox.faults.add("/api/v1/statuses", kind, method="POST", **options)
    return chosen


async def test_publish_status_exactly_once_under_faults(
    daemon: InProcess, upstream: RunningSandbox
) -> None:
    """50 posts, 10 at a time, through 60 random faults (drop after processing, reset, 502
    before and after processing, 503, cut mid-answer, cut JSON, timeout, 429). A post whose
    retries run out reaches its caller as a documented error; the caller calls again with the
    same `idempotency_key`. Every text ends up published exactly once, as the id returned."""
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    programmed = _program_faults(upstream, rng, 60)
    posts = 50
    published: dict[str, str] = {}
    errors: list[int] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(posts):
        queue.put_nowait(i)

    async def worker() -> None:
        while not queue.empty():
            i = queue.get_nowait()
            params = {"status": f"exactly once {seed} #{i}", "idempotency_key": f"k-{seed}-{i}"}
            # Every failed call used up at least one one-shot fault, so no post can fail more
            # often than there are faults (a fixed small budget made the test flaky).
            for _attempt in range(len(programmed) + 1):
                answer = await timed(daemon, "publish_status", params)
                if "result" in answer:
                    published[params["status"]] = answer["result"]["id"]
                    break
                assert answer["error"]["code"] in {-32050, -32051, -32052, -32029}, answer
                documented(answer, answer["error"]["code"], answer["error"]["data"]["http_status"])
                errors.append(answer["error"]["code"])
            else:
                raise AssertionError(f"post {i} never published (seed {seed})")

    await asyncio.gather(*(worker() for _ in range(10)))
    await asyncio.sleep(TIMEOUT + 0.6)  # requests the daemon gave up on finish in the sandbox
    texts = [s.text for s in upstream.sandbox.statuses.values()]
    for text, status_id in published.items():
        assert texts.count(text) == 1, (text, seed, programmed)
        assert upstream.sandbox.statuses[status_id].text == text
    assert len(published) == posts
    fired = sum(f.hits for f in upstream.sandbox.faults.active)
    assert fired >= 50, (fired, seed)  # the mix really hit the posts
