"""Issue 11 behaviour through the real RPC stack against the sandbox: calls change only what
the caller asked, the endorse/pin fallback of older servers, and the new parameters' checks."""

from __future__ import annotations

import re

import pytest

from mastod.sandbox import CLIENT_ID, CLIENT_SECRET, RunningSandbox
from mastod.sandbox.ops.relations import follow
from tests.integration.conftest import Rpc, RpcFailed, sent


async def test_bare_follow_keeps_the_bell_and_reblog_settings(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    alice, carol = (sb.account_by_username(n).id for n in ("alice", "carol"))
    first = await rpc.call(
        "follow_account", {"account_id": carol, "notify": True, "reblogs": False}
    )
    assert (first["notifying"], first["showing_reblogs"]) == (True, False)
    again = await rpc.call("follow_account", {"account_id": carol})
    assert (again["notifying"], again["showing_reblogs"]) == (True, False)
    assert sb.follows[(alice, carol)].notify is True


def _verbs(upstream: RunningSandbox, since: int) -> list[str]:
    return [q.path.rsplit("/", 1)[-1] for q in sent(upstream, since)]


async def test_endorse_falls_back_to_pin_on_an_older_server_and_remembers(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    bob = sb.account_by_username("bob").id
    # a server from before 4.4: no /endorse route, so every such request answers 404
    sb.faults.add(
        re.compile(r"/(un)?endorse$"),
        "status",
        status=404,
        body={"error": "Record not found"},
        count=None,
    )
    before = len(sb.recorded)
    pinned = await rpc.call("pin_account", {"account_id": bob})
    assert pinned["endorsed"] is True
    assert _verbs(upstream, before) == ["endorse", "pin"]
    before = len(sb.recorded)
    unpinned = await rpc.call("unpin_account", {"account_id": bob})
    assert unpinned["endorsed"] is False
    assert _verbs(upstream, before) == ["unpin"]  # the instance's answer is remembered


async def test_endorse_on_a_current_server_and_a_missing_account(
    rpc: Rpc, upstream: RunningSandbox
) -> None:
    sb = upstream.sandbox
    bob = sb.account_by_username("bob").id
    before = len(sb.recorded)
    # unknown server: the 404 could be an old server, so /pin is tried before giving up
    with pytest.raises(RpcFailed) as missing:
        await rpc.call("pin_account", {"account_id": "999999"})
    assert missing.value.code == -32004
    assert _verbs(upstream, before) == ["endorse", "pin"]
    before = len(sb.recorded)
    assert (await rpc.call("pin_account", {"account_id": bob}))["endorsed"] is True
    assert (await rpc.call("unpin_account", {"account_id": bob}))["endorsed"] is False
    assert _verbs(upstream, before) == ["endorse", "unendorse"]
    before = len(sb.recorded)
    # now known to route /endorse: a 404 is the account's, and /pin is not tried
    with pytest.raises(RpcFailed) as missing:
        await rpc.call("pin_account", {"account_id": "999999"})
    assert missing.value.code == -32004
    assert _verbs(upstream, before) == ["endorse"]


async def test_registration_with_a_minimum_age(rpc: Rpc, upstream: RunningSandbox) -> None:
    upstream.sandbox.registration_min_age = 16
    params = {
        "username": "gina",
        "email": "gina@sandbox.invalid",
        "password": "correct horse battery",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    with pytest.raises(RpcFailed) as refused:
        await rpc.call("register_account", params)
    assert refused.value.code == -32022
    assert "date_of_birth" in refused.value.data["details"]
    token = await rpc.call("register_account", {**params, "date_of_birth": "2001-02-03"})
    assert token["access_token"]


async def test_scheduled_in_the_past_is_refused_by_mastodon(rpc: Rpc) -> None:
    with pytest.raises(RpcFailed) as refused:
        await rpc.call("publish_status", {"status": "x", "scheduled_at": "2001-01-01T00:00:00Z"})
    assert refused.value.code == -32022
    assert "scheduled date must be in the future" in refused.value.data["error"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"poll": {"options": ["a", "b"]}}, "poll.expires_in: is required"),
        ({"poll": {"options": ["a"], "expires_in": 300, "many": True}}, "unknown key 'many'"),
        ({"poll": {"options": ["a"], "expires_in": 2.5}}, "poll.expires_in: must be an integer"),
        ({"quote_approval_policy": "friends"}, "quote_approval_policy: must be one of"),
    ],
)
async def test_new_parameters_are_checked_before_anything_is_sent(
    rpc: Rpc, upstream: RunningSandbox, params: dict[str, object], message: str
) -> None:
    before = len(upstream.sandbox.recorded)
    with pytest.raises(RpcFailed) as refused:
        await rpc.call("publish_status", {"status": "poll", **params})
    assert refused.value.code == -32602
    assert message in refused.value.error["message"]
    assert sent(upstream, before) == []


@pytest.mark.parametrize("focus", ["0.5", "2,0", "a,b", "nan,0"])
async def test_focus_is_checked(rpc: Rpc, upstream: RunningSandbox, focus: str) -> None:
    sb = upstream.sandbox
    media = next(iter(sb.media))
    with pytest.raises(RpcFailed) as refused:
        await rpc.call("update_media", {"media_id": media, "focus": focus})
    assert refused.value.code == -32602
    assert "focus" in refused.value.error["message"]


async def test_integral_floats_are_integers(rpc: Rpc, upstream: RunningSandbox) -> None:
    sb = upstream.sandbox
    follow(sb, sb.account_by_username("alice").id, sb.account_by_username("carol").id)
    before = len(sb.recorded)
    result = await rpc.call("get_home_timeline", {"limit": 2.0})
    assert len(result) == 2
    assert sent(upstream, before)[-1].query == [("limit", "2")]
    with pytest.raises(RpcFailed) as refused:
        await rpc.call("get_home_timeline", {"limit": 2.5})
    assert refused.value.code == -32602
    assert "limit: must be an integer, got 2.5" in refused.value.error["message"]


@pytest.mark.parametrize(
    ("method", "params", "message"),
    [
        ("get_home_timeline", {"limit": -1}, "limit: must be at least 0, got -1"),
        ("get_followers", {"account_id": "1", "limit": -5.0}, "limit: must be at least 0"),
        (
            "paginate",
            {"method": "get_home_timeline", "pages": 21},
            "pages: must be between 1 and 20, got 21",
        ),
        ("paginate", {"method": "get_status"}, "method: must be one of 'get_blocked_accounts'"),
    ],
)
async def test_bounds_published_in_discover_are_enforced(
    rpc: Rpc, upstream: RunningSandbox, method: str, params: dict[str, object], message: str
) -> None:
    before = len(upstream.sandbox.recorded)
    with pytest.raises(RpcFailed) as refused:
        await rpc.call(method, params)
    assert refused.value.code == -32602
    assert message in refused.value.error["message"]
    assert sent(upstream, before) == []
