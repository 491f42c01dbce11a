"""Two faults a long-running client must survive, as the sandbox plays them: a token revoked
through `POST /oauth/revoke` (Mastodon drops its push subscription and says so on its next
use), and an instance whose clock is off (`POST /_sandbox/clock`)."""

from __future__ import annotations

import json
import time
from email.utils import parsedate_to_datetime

import aiohttp

from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, RunningSandbox, Sandbox
from tests.sandbox.conftest import act, auth, subscribe
from tests.sandbox.push_receiver import PushReceiver, UserAgent, unb64


async def test_revoking_a_token_drops_its_push_subscription(
    client: aiohttp.ClientSession, running: RunningSandbox, sandbox: Sandbox, receiver: PushReceiver
) -> None:
    revocable = sandbox.add_token("revocable-token", "1", "read write push", "1").token
    ua = UserAgent()
    await subscribe(client, f"{receiver.url}/push/alice", ua, token=revocable)
    await act(client, "mention")
    await receiver.next()
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "token": revocable}
    async with client.post("/oauth/revoke", data=form) as resp:
        assert (resp.status, await resp.json()) == (200, {})
    assert revocable not in sandbox.push_subscriptions
    for path in ("/api/v1/accounts/verify_credentials", "/api/v1/push/subscription"):
        async with client.get(path, headers=auth(revocable)) as resp:
            assert (resp.status, await resp.json()) == (
                401, {"error": "The access token was revoked"}
            )  # fmt: skip
    await act(client, "mention")
    await running.push.settle()
    assert receiver.received.empty()  # nothing pushed for the revoked token


async def test_a_shifted_clock_dates_answers_and_signs_pushes(
    client: aiohttp.ClientSession, running: RunningSandbox, receiver: PushReceiver
) -> None:
    offset = 6 * 60
    async with client.post("/_sandbox/clock", json={"offset": offset}) as resp:
        assert await resp.json() == {"offset": offset}
    async with client.get("/api/v1/accounts/verify_credentials") as resp:
        assert resp.status == 200
        dated = parsedate_to_datetime(resp.headers["Date"]).timestamp()
    assert offset - 5 <= dated - time.time() <= offset + 1
    await subscribe(client, f"{receiver.url}/push/alice", UserAgent())
    await act(client, "mention")
    push = await receiver.next()
    token = push.headers["Authorization"].partition("t=")[2].partition(",")[0]
    exp = json.loads(unb64(token.split(".")[1]))["exp"]
    assert offset - 5 <= exp - 24 * 3600 - time.time() <= offset + 1
    async with client.post("/_sandbox/clock", json={"offset": "soon"}) as resp:
        assert resp.status == 422
