"""Daemon bugs the fuzzers found, each pinned by the smallest input that showed it; all
fixed in 9a37956, kept as regression tests (the fuzzers cover these input classes too).

BUG-1 a lone-surrogate escape in a method name or id made the answer unencodable: no answer
      at all on the Unix socket and WebSocket, a plain-text 500 over HTTP.
BUG-2 an id overflowing to infinity (1e400): the same.
BUG-3 an HTTP body arriving in more than one piece was cut short (-32700).
BUG-4 a `~unknownuser` path in a file parameter: -32603 instead of -32602.
BUG-5 CR/LF in a per-call access_token or idempotency_key: -32603 instead of -32602.
BUG-6 an undecodable gzip/deflate/br body at the push path: a traceback logged, 400.
C1-C6 config loader: YAML tags, huge integers, deep nesting, ~unknownuser and NUL in paths,
      line breaks in echoed names: exceptions other than ConfigError, multi-line messages.

A new bug goes here the same way: its smallest input, the correct behaviour asserted, and
`@pytest.mark.xfail(strict=True, reason="<the bug, where, the fix>")` until it is fixed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mastod.config import ConfigError, load_config
from tests.fuzz.clients import LineClient, RawHttp, bounded
from tests.fuzz.oracle import Reply, check_object
from tests.fuzz.rig import Rig, running_daemon
from tests.fuzz.support import HANG_BOUND, stdlib_errors, watch_logs
from tests.fuzz.transports import WsTransport, open_transport
from tests.fuzz.webpush import running_hook


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    with watch_logs():
        async with running_daemon(tmp_path) as running:
            yield running


async def drained(rig: Rig) -> None:
    """Wait until the daemon has finished every call it started (bounded)."""
    async with asyncio.timeout(HANG_BOUND):
        while len(rig.daemon.tasks):
            await asyncio.sleep(0.005)


async def answers_to(rig: Rig, transport: str, frame: bytes) -> list[Any]:
    """Every answer `frame` got, seen without waiting for a missing one: on the Unix socket
    the daemon answers everything before it closes a half-closed connection; on a WebSocket,
    a first marker call (received after the frame, so the frame's task exists), then the
    daemon's tasks drained (the frame's answer, if any, is sent), then a second marker whose
    answer comes after everything sent before it."""
    if transport == "http":
        http = RawHttp("127.0.0.1", rig.port)
        auth = [("Authorization", f"Bearer {rig.token}"), ("Content-Type", "application/json")]
        reply = await http.request("POST", "/rpc", auth, frame)
        http.close()
        assert reply.status == 200, f"HTTP {reply.status}: {reply.body[:200]!r}"
        return [json.loads(reply.body)]
    if transport == "unix":
        client = await LineClient.connect(rig.socket_path)
        await client.send(frame + b"\n")
        return await client.finish()
    ws = await WsTransport.open(rig)
    got: list[Any] = []
    await ws.ws.send_str(frame.decode())
    for marker in ("first", "second"):
        if marker == "second":
            await drained(rig)
        call = {"jsonrpc": "2.0", "id": marker, "method": "status"}
        await ws.ws.send_str(json.dumps(call))
        while True:
            answer = await ws.recv(f"the {marker} marker")
            if isinstance(answer, dict) and answer.get("id") == marker:
                break
            got.append(answer)
    await ws.close()
    return got


TRANSPORTS = ["unix", "http", "websocket"]
SURROGATE_BUGS = {
    "method": b'{"jsonrpc":"2.0","id":1,"method":"\\ud800"}',
    "id": b'{"jsonrpc":"2.0","id":"\\udfff","method":"status"}',
    "id in a batch": b'[{"jsonrpc":"2.0","id":"\\udfff","method":"status"}]',
    "value sent upstream": (
        b'{"jsonrpc":"2.0","id":1,"method":"get_status","params":{"status_id":"\\ud800"}}'
    ),
}
SURROGATE_FINE = {
    "member": b'{"jsonrpc":"2.0","id":1,"method":"status","\\ud800":1}',
    "param name": b'{"jsonrpc":"2.0","id":1,"method":"get_status","params":{"\\ud800":1}}',
    "param value": b'{"jsonrpc":"2.0","id":1,"method":"create_list","params":{"title":"x",'
    b'"replies_policy":"\\ud800"}}',
}


def only_answer(answers: list[Any]) -> Any:
    assert len(answers) == 1, f"{len(answers)} answers"
    return answers[0][0] if isinstance(answers[0], list) else answers[0]


@pytest.mark.parametrize("case", sorted(SURROGATE_BUGS))
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bug1_lone_surrogate_gets_an_answer(rig: Rig, transport: str, case: str) -> None:
    answer = only_answer(await answers_to(rig, transport, SURROGATE_BUGS[case]))
    # rejected at parse time (-32700), or answered with the surrogate escaped (ensure_ascii)
    check_object(answer, Reply((None, 1, "\udfff")))
    assert answer.get("error", {}).get("code") != -32603, answer


@pytest.mark.parametrize("case", sorted(SURROGATE_FINE))
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_lone_surrogate_elsewhere_is_answered(rig: Rig, transport: str, case: str) -> None:
    """Where the daemon shows a value with repr(), a lone surrogate is escaped: answered."""
    answer = only_answer(await answers_to(rig, transport, SURROGATE_FINE[case]))
    check_object(answer, Reply((1,), frozenset({-32600, -32602})))


@pytest.mark.parametrize(
    "frame", [b'{"jsonrpc":"2.0","id":1e400,"method":"status"}', b'[{"id":-1e999}]']
)
@pytest.mark.parametrize("transport", TRANSPORTS)
async def test_bug2_infinite_id_gets_an_answer(rig: Rig, transport: str, frame: bytes) -> None:
    check_object(only_answer(await answers_to(rig, transport, frame)), Reply((None,)))


async def test_bug3_http_body_in_two_pieces_is_read_whole(rig: Rig) -> None:
    body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "status"}).encode()
    reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
    head = (
        f"POST /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {rig.token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        "Expect: 100-continue\r\n\r\n"
    ).encode()
    writer.write(head)
    await writer.drain()
    # "100 Continue" comes right before the handler runs; it then waits for the body
    assert (await bounded("100 Continue", reader.readline())).startswith(b"HTTP/1.1 100")
    assert await bounded("100 Continue", reader.readline()) == b"\r\n"
    writer.write(body[:10])
    await writer.drain()
    for _ in range(50):  # let the loop deliver the first piece before the second is sent
        await asyncio.sleep(0)
    writer.write(body[10:])
    await writer.drain()
    status_line = await bounded("the answer", reader.readline())
    head_and_body = await bounded("the answer", reader.readuntil(b"\r\n\r\n"))
    length = int(next(
        line.split(b":")[1] for line in head_and_body.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    ))  # fmt: skip
    answer = json.loads(await bounded("the answer", reader.readexactly(length)))
    writer.close()
    assert status_line.startswith(b"HTTP/1.1 200")
    assert answer.get("id") == 7, answer
    assert "result" in answer, answer


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("upload_media", {"file": "~nobody-here/x.png"}),
        ("update_media", {"media_id": "1", "thumbnail": "~nobody-here/x.png"}),
        ("update_account", {"avatar": "~nobody-here/x.png"}),
    ],
)
async def test_bug4_unknown_user_home_in_a_file_param_is_invalid_params(
    rig: Rig, method: str, params: dict[str, Any]
) -> None:
    frame = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    (answer,) = await answers_to(rig, "unix", frame.encode())
    assert answer["error"]["code"] == -32602, answer


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("get_status", {"status_id": "1", "access_token": "tok\r\nX-Evil: 1"}),
        ("get_home_timeline", {"access_token": "tok\x00"}),
        ("publish_status", {"status": "hi", "idempotency_key": "key\r\nX-Evil: 1"}),
    ],
)
async def test_bug5_control_characters_in_a_header_param_are_invalid_params(
    rig: Rig, method: str, params: dict[str, Any]
) -> None:
    frame = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
    (answer,) = await answers_to(rig, "unix", frame.encode())
    assert answer["error"]["code"] == -32602, answer


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
async def test_bug6_undecodable_compressed_push_is_handled(
    encoding: str, caplog: pytest.LogCaptureFixture
) -> None:
    with watch_logs(), caplog.at_level(logging.ERROR):
        async with running_hook() as hook:
            http = RawHttp("127.0.0.1", hook.port)
            reply = await http.request(
                "POST", hook.path, [("Content-Encoding", encoding)], b"not compressed at all"
            )
            http.close()
    assert reply.status in (201, 400)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


# --- the config loader ---------------------------------------------------------------------

C1, C2, C3, C4, C5, C6 = (
    "C1 tag", "C2 depth", "C3 ~user", "C4 NUL", "C5 huge number", "C6 line break"
)  # fmt: skip
CONFIG_CASES = [
    ("!!int tag quoting a token", C1, "mastodon: {base_url: 'https://m.example', "
     "access_token: !!int SECRET-token-1}\n"),
    ("!!float tag", C1, "mastodon: {base_url: 'https://m.example', timeout: !!float abc}\n"),
    ("!!bool tag", C1, "mastodon: {base_url: 'https://m.example', timeout: !!bool maybe}\n"),
    ("!!timestamp tag", C1, "mastodon: {base_url: !!timestamp 'https://m.example'}\n"),
    ("integer over 4300 digits", C1, "mastodon: {base_url: 'https://m.example'}\n"
     "rpc: {http: {port: " + "9" * 5000 + "}}\n"),
    ("deep nesting", C2, "mastodon: {base_url: 'https://m.example'}\nx: "
     + "[" * 1100 + "]" * 1100),
    ("~unknownuser state_dir", C3, "mastodon: {base_url: 'https://m.example'}\n"
     "state_dir: ~nobody-here/x\n"),
    ("~unknownuser token file", C3, "mastodon: {base_url: 'https://m.example', "
     "access_token_file: ~nobody-here/t}\n"),
    ("NUL in the token file path", C4, 'mastodon: {base_url: "https://m.example", '
     'access_token_file: "/tmp/a\\0b"}\n'),
    ("huge integer for a float", C5, "mastodon: {base_url: 'https://m.example', timeout: "
     + "9" * 400 + "}\n"),
    ("line break in an unknown key", C6, 'mastodon: {base_url: "https://m.example", '
     '"a\\nb": 1}\n'),
    ("U+2028 in an unknown key", C6, 'mastodon: {base_url: "https://m.example", '
     '"a\\u2028b": 1}\n'),
    ("line break in a path", C6, 'mastodon: {base_url: "https://m.example", '
     'access_token_file: "/nonexistent/a\\nb"}\n'),
]  # fmt: skip


@pytest.mark.parametrize(
    "text", [pytest.param(text, id=f"{bug}: {name}") for name, bug, text in CONFIG_CASES]
)
def test_config_bugs_give_a_one_line_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "mastod.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_config(path, env={})
    message = str(raised.value)
    assert len(message.splitlines()) == 1, message
    assert "SECRET-token-1" not in message


def test_stdlib_errors_ignores_parser_notes() -> None:
    """The helper the fuzzers use to spot failures behind the answers: a handler's error
    counts, aiohttp's note of a request it could not parse does not."""
    from aiohttp.http_exceptions import BadHttpMessage

    def record(exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord(
            "aiohttp.server", logging.ERROR, __file__, 1, "Error handling request", None,
            (type(exc), exc, None),
        )  # fmt: skip

    assert stdlib_errors([record(BadHttpMessage("bad"))]) == []
    assert len(stdlib_errors([record(UnicodeEncodeError("utf-8", "", 0, 1, "x"))])) == 1


async def test_answers_to_sees_every_answer(rig: Rig) -> None:
    """The helper these tests use: a normal frame gets its one answer on each transport."""
    for transport in TRANSPORTS:
        answers = await answers_to(rig, transport, b'{"jsonrpc":"2.0","id":1,"method":"x"}')
        assert len(answers) == 1
        check_object(answers[0], Reply((1,), frozenset({-32601})))
    transport_ = await open_transport("unix", rig)
    await transport_.probe()
    await transport_.close()
