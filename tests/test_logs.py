from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestServer

from mastod.logs import Gathering, configure_logging, gather, get_logger
from mastod.redaction import REDACTED, redact, register_secret, secret_registered
from mastod.rpc.actions import register_actions
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.registry import Registry


@pytest.fixture
def secret() -> str:
    value = "sec-" + secrets.token_urlsafe(16)
    register_secret(value)
    return value


@pytest.fixture
def output() -> Iterator[io.StringIO]:
    """A real pipeline (JSON) writing into a StringIO; global logging restored afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    stream = io.StringIO()
    configure_logging("debug", "json", stream)
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.contextvars.clear_contextvars()
    structlog.reset_defaults()  # our lines go to the handler's stream, not through the root
    structlog.reset_defaults()


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


# --- the redaction processor alone, through capture_logs ---------------------------------------


def test_capture_logs_with_redaction(secret: str) -> None:
    with structlog.testing.capture_logs(processors=[redact]) as logs:
        structlog.get_logger().info(
            f"connected with {secret}",
            nested={"list": [f"a{secret}b", 3, None], "deeper": ({"x": secret},)},
            access_token="another-value",
            authorization="Bearer something",
            url="https://m.example/api/v1/streaming?stream=user&access_token=abcdef123&x=1",
            error=ValueError(f"bad {secret}"),
            token_file="/var/lib/mastod/rpc.token",
            count=3,
        )
    assert secret not in repr(logs)
    (entry,) = logs
    assert entry["event"] == f"connected with {REDACTED}"
    assert entry["nested"] == {"list": [f"a{REDACTED}b", 3, None], "deeper": [{"x": REDACTED}]}
    assert entry["access_token"] == REDACTED
    assert entry["authorization"] == REDACTED
    assert entry["url"] == (
        f"https://m.example/api/v1/streaming?stream=user&access_token={REDACTED}&x=1"
    )
    assert entry["error"] == f"ValueError('bad {REDACTED}')"
    assert entry["token_file"] == "/var/lib/mastod/rpc.token"
    assert entry["count"] == 3


def test_secret_keys_are_masked_in_any_case_and_nesting() -> None:
    event = redact(
        None,
        "info",
        {
            "event": "request",
            "headers": {"Authorization": "Bearer abcdefghijk", "Set-Cookie": "s=1", "Accept": "*"},
            "ngrok_auth_token": "xyz",
            "password": "hunter2",
            "webhook_secret": "path-secret",
            "token": None,
        },
    )
    assert event == {
        "event": "request",
        "headers": {"Authorization": REDACTED, "Set-Cookie": REDACTED, "Accept": "*"},
        "ngrok_auth_token": REDACTED,
        "password": REDACTED,
        "webhook_secret": REDACTED,
        "token": None,
    }


def test_bearer_header_in_text_is_masked() -> None:
    event = redact(None, "info", {"event": "sent Authorization: Bearer abcdefgh12345 to host"})
    assert event["event"] == f"sent Authorization: Bearer {REDACTED} to host"


def test_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    short = "s-" + secrets.token_hex(6)
    register_secret(short)
    register_secret(short + "-and-more")
    event = redact(None, "info", {"event": f"<{short}-and-more>"})
    assert event["event"] == f"<{REDACTED}>"


def test_a_text_masked_before_a_secret_was_known_is_masked_after() -> None:
    """Short texts are remembered once masked; a secret registered later still reaches them,
    including through a per-call scope."""
    value = "late-" + secrets.token_hex(8)
    text = f"GET /api/v1/statuses/{value} 200 1ms"
    assert redact(None, "info", {"event": text})["event"] == text  # remembered as it is
    with secret_registered(value):
        assert (
            redact(None, "info", {"event": text})["event"]
            == f"GET /api/v1/statuses/{REDACTED} 200 1ms"
        )
    assert redact(None, "info", {"event": text})["event"] == text  # the call is over
    register_secret(value)
    assert (
        redact(None, "info", {"event": text})["event"] == f"GET /api/v1/statuses/{REDACTED} 200 1ms"
    )


def test_empty_secret_is_ignored() -> None:
    register_secret("")
    register_secret(None)
    assert redact(None, "info", {"event": "plain text"}) == {"event": "plain text"}


# --- the real pipeline --------------------------------------------------------------------------


def test_json_is_one_object_per_line(output: io.StringIO, secret: str) -> None:
    log = get_logger("mastod.test")
    log.info("first\nsecond line", value=1)
    try:
        raise ValueError(f"multi\nline {secret}")
    except ValueError:
        log.exception("failed")
    text = output.getvalue()
    assert len(text.splitlines()) == 2
    first, second = lines(output)
    assert first["event"] == "first\nsecond line"
    assert first["level"] == "info"
    assert first["logger"] == "mastod.test"
    assert first["timestamp"].endswith("Z")
    assert second["level"] == "error"
    assert "Traceback" in second["exception"]
    assert f"line {REDACTED}" in second["exception"]
    assert secret not in text


def test_secret_never_reaches_the_stream(output: io.StringIO, secret: str) -> None:
    log = get_logger("mastod.test")
    log.info(f"token is {secret}", nested={"a": [{"b": f"x{secret}"}]})
    log.warning("url", url=f"https://m.example/api/v1/streaming?access_token={secret}")
    log.error("plain url https://m.example/api/v1/notifications?access_token=zzzzzz&limit=2")
    try:
        raise RuntimeError(f"upstream said {secret}")
    except RuntimeError:
        log.exception("request failed")
    logging.getLogger("aiohttp.server").error("Error handling request %s", secret, exc_info=True)
    logging.getLogger("pyngrok.process").info("t=now msg=started url=%s", f"x{secret}")
    text = output.getvalue()
    assert secret not in text
    assert "zzzzzz" not in text
    assert text.count(REDACTED) >= 7
    assert {entry["logger"] for entry in lines(output)} == {
        "mastod.test",
        "aiohttp.server",
        "pyngrok.process",
    }


def test_stdlib_exception_is_redacted(output: io.StringIO, secret: str) -> None:
    try:
        raise OSError(f"cannot reach {secret}")
    except OSError:
        logging.getLogger("asyncio").exception("Task exception was never retrieved")
    (entry,) = lines(output)
    assert entry["logger"] == "asyncio"
    assert entry["event"] == "Task exception was never retrieved"
    assert f"OSError: cannot reach {REDACTED}" in entry["exception"]
    assert secret not in output.getvalue()


async def test_real_aiohttp_access_log_is_redacted(output: io.StringIO, secret: str) -> None:
    async def push(request: web.Request) -> web.Response:
        return web.Response(status=201)

    app = web.Application()
    app.router.add_post("/push/{secret}", push)
    url = f"/push/{secret}?access_token=abcdefgh"
    async with (
        TestServer(app, host="127.0.0.1") as server,
        aiohttp.ClientSession() as session,
        session.post(server.make_url(url)) as response,
    ):
        assert response.status == 201
    access = [entry for entry in lines(output) if entry["logger"] == "aiohttp.access"]
    assert len(access) == 1
    assert f"/push/{REDACTED}?access_token={REDACTED}" in access[0]["event"]
    assert secret not in output.getvalue()
    assert "abcdefgh" not in output.getvalue()


def test_context_variables_reach_both_kinds_of_record(output: io.StringIO) -> None:
    structlog.contextvars.bind_contextvars(request_id="r-42")
    get_logger("mastod.test").info("ours")
    logging.getLogger("aiohttp.client").info("theirs")
    assert [entry.get("request_id") for entry in lines(output)] == ["r-42", "r-42"]


def test_level_filters_both_kinds_of_record(output: io.StringIO) -> None:
    configure_logging("warning", "json", output)
    get_logger("mastod.test").info("dropped")
    logging.getLogger("aiohttp.client").info("dropped too")
    get_logger("mastod.test").warning("kept")
    assert [entry["event"] for entry in lines(output)] == ["kept"]


def test_configuring_again_replaces_the_handler(output: io.StringIO) -> None:
    second = io.StringIO()
    configure_logging("info", "json", second)
    configure_logging("info", "json", second)
    get_logger("mastod.test").info("once")
    assert output.getvalue() == ""
    assert [entry["event"] for entry in lines(second)] == ["once"]


@pytest.mark.parametrize(
    ("stream", "fmt", "json_expected"),
    [
        (io.StringIO(), "auto", True),
        (Terminal(), "auto", False),
        (io.StringIO(), "console", False),
        (Terminal(), "json", True),
    ],
)
def test_renderer_follows_format_and_tty(
    output: io.StringIO, stream: io.StringIO, fmt: str, json_expected: bool
) -> None:
    configure_logging("info", fmt, stream)
    get_logger("mastod.test").info("hello", key="value")
    text = stream.getvalue()
    assert text.count("\n") == 1
    if json_expected:
        assert json.loads(text)["key"] == "value"
    else:
        plain = re.sub(r"\x1b\[[0-9;]*m", "", text)
        assert re.match(
            r"\d{4}-\d\d-\d\dT[\d:.]+Z \[info +\] hello +\[mastod.test\] key=value$", plain
        )
        assert (plain != text) == isinstance(stream, Terminal)  # colours on a terminal only


@pytest.mark.parametrize(("level", "fmt"), [("verbose", "json"), ("info", "xml")])
def test_bad_arguments(level: str, fmt: str) -> None:
    with pytest.raises(ValueError, match="unknown log"):
        configure_logging(level, fmt, io.StringIO())


def test_capture_logs_sees_a_logger_used_before(output: io.StringIO, secret: str) -> None:
    log = get_logger("mastod.test")
    log.info("before")
    structlog.reset_defaults()  # what another test module may have done in between
    with structlog.testing.capture_logs() as logs:
        log.info("during", token=secret)
    assert [entry["event"] for entry in logs] == ["during"]
    assert [entry["event"] for entry in lines(output)] == ["before"]


async def test_a_per_call_access_token_is_masked_while_its_call_runs(output: io.StringIO) -> None:
    """Through the RPC stack: an action that logs what it was handed (as an error text
    quoting a request might) shows the caller's token masked; once the call is over, the
    token is no longer held (nor masked: it is nobody's secret any more)."""
    token = "per-call-token-" + "Qx7" * 8
    probe = get_logger("mastod.test.probe")

    class Provider:
        def api(self, base_url: str | None = None, access_token: str | None = None) -> Any:
            return access_token

    async def whoami(api: Any) -> str:
        """Log the token the call came with."""
        probe.warning("probe.seen", detail=f"upstream said: bad token {api}")
        return "ok"

    registry = Registry()
    register_actions(registry, [whoami], Provider(), aliases=False)
    dispatcher = Dispatcher(registry)
    frame = {"jsonrpc": "2.0", "id": 1, "method": "whoami", "params": {"access_token": token}}
    answer = await dispatcher.handle(json.dumps(frame), Peer())
    assert answer is not None
    assert '"ok"' in answer
    probe.warning("probe.after", detail=f"later: {token}")
    seen, after = [line for line in lines(output) if line["event"].startswith("probe.")]
    assert token not in json.dumps(seen)
    assert REDACTED in seen["detail"]
    assert token in after["detail"]


class Peer:
    transport = "test"


def test_accept_errors_are_logged_once_a_minute(output: io.StringIO) -> None:
    """asyncio logs every failed accept() when descriptors run out: one line gets through,
    the next says how many were held back, other asyncio errors are untouched."""
    asyncio_log = logging.getLogger("asyncio")
    for _ in range(1000):
        asyncio_log.error("socket.accept() out of system resource\nsocket: <socket>")
    asyncio_log.error("Task exception was never retrieved")
    events = [line["event"] for line in lines(output)]
    assert len([e for e in events if e.startswith("socket.accept()")]) == 1
    assert "Task exception was never retrieved" in events


async def test_gathering_collects_only_while_its_block_runs() -> None:
    """A call's line lists the requests made for it; a task it started that is still running
    after the call (a catch-up, say) logs its own."""
    later = asyncio.Event()

    async def background() -> bool:
        await later.wait()
        return gather("GET /late 200 1ms")

    assert not gather("GET /outside 200 1ms")
    with Gathering() as items:
        assert gather("GET /x 200 1ms")
        task = asyncio.create_task(background())
        with Gathering() as inner:  # a nested block collects for itself
            assert gather("GET /y 200 1ms")
    later.set()
    assert await task is False
    assert items == ["GET /x 200 1ms"]
    assert inner == ["GET /y 200 1ms"]


def test_a_closed_stream_loses_the_line_not_the_daemon(output: io.StringIO) -> None:
    output.close()
    get_logger("mastod.test").info("nobody reads this")
    logging.getLogger("aiohttp.client").warning("nor this")


def test_lines_are_compact_json_with_our_fields_last(output: io.StringIO) -> None:
    get_logger("mastod.test").info("event.name", count=2, ratio=0.5, none=None)
    line = output.getvalue().splitlines()[-1]
    assert line.startswith('{"count":2,"ratio":0.5,"none":null,"event":"event.name","level":"info"')
    assert list(json.loads(line))[-2:] == ["logger", "timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", json.loads(line)["timestamp"])
