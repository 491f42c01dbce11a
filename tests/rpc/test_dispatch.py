"""The one dispatch: every JSON-RPC error code, batches, notifications, and no leaks."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from structlog.testing import capture_logs

from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.errors import STOPPED_TEXT
from tests.rpc.conftest import Calls


class Peer:
    transport = "test"


async def ask(dispatcher: Dispatcher, frame: Any) -> Any:
    raw = frame if isinstance(frame, bytes | str) else json.dumps(frame)
    answer = await dispatcher.handle(raw, Peer())
    return None if answer is None else json.loads(answer)


def req(method: str, params: Any = None, id_: Any = 1) -> dict[str, Any]:
    frame: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": id_}
    if params is not None:
        frame["params"] = params
    return frame


async def test_success_by_name_and_by_position(dispatcher: Dispatcher) -> None:
    assert await ask(dispatcher, req("add", {"a": 2, "b": 3})) == {
        "jsonrpc": "2.0",
        "result": 5,
        "id": 1,
    }
    assert (await ask(dispatcher, req("add", [2, 3], "x")))["result"] == 5
    assert (await ask(dispatcher, req("add", [2], None)))["result"] == 2


@pytest.mark.parametrize(
    "frame",
    [
        b"{",
        b"not json",
        b"\xff\xfe{}",
        b'{"jsonrpc": "2.0", "method": "add", "id": NaN}',
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
async def test_parse_error(dispatcher: Dispatcher, frame: bytes) -> None:
    answer = await ask(dispatcher, frame)
    assert answer["error"]["code"] == -32700
    assert answer["id"] is None


@pytest.mark.parametrize(
    ("frame", "reason"),
    [
        ({"method": "add", "id": 1}, '"jsonrpc" must be "2.0"'),
        ({"jsonrpc": "1.0", "method": "add", "id": 1}, '"jsonrpc" must be "2.0"'),
        ({"jsonrpc": "2.0", "id": 1}, '"method" must be a string'),
        ({"jsonrpc": "2.0", "method": 5, "id": 1}, '"method" must be a string'),
        ({"jsonrpc": "2.0", "method": "add", "params": 3, "id": 1}, '"params" must be'),
        ({"jsonrpc": "2.0", "method": "add", "id": {"a": 1}}, '"id" must be'),
        ({"jsonrpc": "2.0", "method": "add", "id": 1, "extra": 1}, "unexpected member 'extra'"),
        ('"a string"', "expected an object"),
        ([], "empty batch"),
    ],
)
async def test_invalid_request(dispatcher: Dispatcher, frame: Any, reason: str) -> None:
    answer = await ask(dispatcher, frame)
    assert answer["error"]["code"] == -32600
    assert reason in answer["error"]["message"]


async def test_unknown_method(dispatcher: Dispatcher) -> None:
    answer = await ask(dispatcher, req("nope"))
    assert answer["error"] == {"code": -32601, "message": "Method not found: nope"}
    assert answer["id"] == 1


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({}, "missing a required argument: 'a'"),
        ({"a": 1, "c": 2}, "unexpected keyword argument 'c'"),
        ([1, 2, 3], "too many positional arguments"),
        ({"a": "1"}, "a: must be an integer, got '1'"),
        ({"a": True}, "a: must be an integer, got true"),
        ({"a": 1, "b": 1.5}, "b: must be an integer, got 1.5"),
    ],
)
async def test_invalid_params_name_the_parameter(
    dispatcher: Dispatcher, params: Any, named: str
) -> None:
    answer = await ask(dispatcher, req("add", params))
    assert answer["error"]["code"] == -32602
    assert named in answer["error"]["message"]


async def test_near_misses_get_a_suggestion(dispatcher: Dispatcher) -> None:
    answer = await ask(dispatcher, req("slwo", {"seconds": 0}))
    assert answer["error"] == {
        "code": -32601,
        "message": "Method not found: slwo (did you mean 'slow'?)",
    }
    answer = await ask(dispatcher, req("slow", {"secnods": 0}))
    assert answer["error"] == {
        "code": -32602,
        "message": "Invalid params: got an unexpected keyword argument 'secnods' "
        "(did you mean 'seconds'?)",
    }
    far = await ask(dispatcher, req("add", {"a": 1, "zzz": 2}))
    assert far["error"]["message"] == "Invalid params: got an unexpected keyword argument 'zzz'"


async def test_literal_choices_are_enforced(dispatcher: Dispatcher) -> None:
    answer = await ask(dispatcher, req("pick", {"visibility": "secret"}))
    assert answer["error"]["code"] == -32602
    assert "visibility: must be one of 'public', 'private'" in answer["error"]["message"]
    assert (await ask(dispatcher, req("pick", {"visibility": "private"})))["result"] == "private"


async def test_internal_error_is_fixed_text_and_logged(dispatcher: Dispatcher) -> None:
    with capture_logs() as logs:
        answer = await ask(dispatcher, req("boom"))
    assert answer["error"] == {"code": -32603, "message": "Internal error"}
    assert "SECRET123" not in json.dumps(answer)
    assert any(entry["event"] == "rpc.internal_error" for entry in logs)


async def test_unserialisable_result_is_an_internal_error(dispatcher: Dispatcher) -> None:
    answer = await ask(dispatcher, req("unserialisable"))
    assert answer["error"] == {"code": -32603, "message": "Internal error"}


async def test_mastodon_errors_carry_status_and_message(dispatcher: Dispatcher) -> None:
    answer = await ask(dispatcher, req("missing", {"status_id": "1"}))
    assert answer["error"] == {
        "code": -32004,
        "message": "Not found on Mastodon",
        "data": {"http_status": 404, "error": "Record not found"},
    }
    answer = await ask(dispatcher, req("limited"))
    assert answer["error"]["code"] == -32029
    assert answer["error"]["data"]["rate_limit_reset"] == "2026-11-27T17:00:00.000000Z"


async def test_notification_gets_no_reply_but_runs(dispatcher: Dispatcher, calls: Calls) -> None:
    frame = {"jsonrpc": "2.0", "method": "count"}
    assert await dispatcher.handle(json.dumps(frame), Peer()) is None
    assert calls.count == 1


async def test_batch_mixing_good_and_bad(dispatcher: Dispatcher, calls: Calls) -> None:
    batch = [
        req("add", {"a": 1, "b": 1}, 1),
        req("nope", None, 2),
        {"jsonrpc": "2.0", "method": "count"},  # notification: runs, no answer
        req("add", {"a": "x"}, 3),
        {"foo": "bar"},
        req("boom", None, 4),
        req("echo", ["hi"], 5),
    ]
    answers = await ask(dispatcher, batch)
    by_id = {a["id"]: a for a in answers if a["id"] is not None}
    assert len(answers) == 6
    assert by_id[1]["result"] == 2
    assert by_id[2]["error"]["code"] == -32601
    assert by_id[3]["error"]["code"] == -32602
    assert by_id[4]["error"]["code"] == -32603
    assert by_id[5]["result"] == "hi"
    assert [a["error"]["code"] for a in answers if a["id"] is None] == [-32600]
    assert calls.count == 1


async def test_batch_of_notifications_gets_no_reply(dispatcher: Dispatcher, calls: Calls) -> None:
    batch = [{"jsonrpc": "2.0", "method": "count"}] * 3
    assert await dispatcher.handle(json.dumps(batch), Peer()) is None
    assert calls.count == 3


async def test_one_log_line_per_call(dispatcher: Dispatcher) -> None:
    with capture_logs() as logs:
        await ask(dispatcher, req("add", {"a": 1}))
        await ask(dispatcher, req("nope"))
    lines = [entry for entry in logs if entry["event"] == "rpc.call"]
    assert [(x["method"], x["outcome"], x["transport"]) for x in lines] == [
        ("add", "ok", "test"),
        ("nope", -32601, "test"),
    ]
    assert all(isinstance(x["ms"], float) for x in lines)


async def test_batch_of_non_objects_answers_each(dispatcher: Dispatcher) -> None:
    answers = await ask(dispatcher, "[1, 2]")
    assert [a["error"]["code"] for a in answers] == [-32600, -32600]


async def test_no_call_line_when_info_is_off(
    dispatcher: Dispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="mastod.rpc.dispatch")
    with capture_logs() as logs:
        assert (await ask(dispatcher, req("add", {"a": 1})))["result"] == 1
    assert [entry for entry in logs if entry["event"] == "rpc.call"] == []


async def test_calls_cut_short_by_the_shutdown_are_answered(dispatcher: Dispatcher) -> None:
    """Past the grace period the daemon cancels what still runs: each call (alone or in a
    batch) is answered "daemon stopped", a notification gets nothing; any other
    cancellation stays one."""
    notification = {"jsonrpc": "2.0", "method": "slow", "params": [60]}
    frames = [
        req("slow", [60], "alone"),
        [req("slow", [60], "a"), req("add", [1, 2], "b"), notification],
    ]
    stray = asyncio.create_task(dispatcher.handle(json.dumps(frames[0]), Peer()))
    await asyncio.sleep(0)
    stray.cancel()
    with pytest.raises(asyncio.CancelledError):
        await stray
    calls = [asyncio.create_task(ask(dispatcher, frame)) for frame in frames]
    await asyncio.sleep(0.05)
    dispatcher.stopping = True
    for call in calls:
        call.cancel()
    alone, batch = [await call for call in calls]
    stopped = {"code": -32603, "message": STOPPED_TEXT}
    assert alone == {"jsonrpc": "2.0", "error": stopped, "id": "alone"}
    assert batch == [
        {"jsonrpc": "2.0", "error": stopped, "id": "a"},
        {"jsonrpc": "2.0", "result": 3, "id": "b"},
    ]
