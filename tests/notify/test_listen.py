"""`mastod listen` (a real subprocess) against a real Unix-socket server with the hub."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from tests.notify.conftest import READ_TIMEOUT, Rpc, note, until

Start = Callable[..., Awaitable[asyncio.subprocess.Process]]


@pytest.fixture
async def start_listen(rpc: Rpc) -> AsyncIterator[Start]:
    started: list[asyncio.subprocess.Process] = []

    async def start(*args: str, ignore_sigint: bool = False) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "mastod", "listen", "--socket", str(rpc.socket_path)),
            *args,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # as a background job of a non-interactive shell starts (`./test > log &`)
            preexec_fn=_ignore_sigint if ignore_sigint else None,
        )
        started.append(proc)
        await until(lambda: rpc.hub.subscriber_count == 1)
        return proc

    yield start
    for proc in started:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


async def printed(proc: asyncio.subprocess.Process, count: int) -> list[dict[str, object]]:
    assert proc.stdout is not None
    lines = [await asyncio.wait_for(proc.stdout.readline(), READ_TIMEOUT) for _ in range(count)]
    return [json.loads(line) for line in lines]


@pytest.mark.parametrize("queue_size", [5])
async def test_prints_json_lines_and_resumes_after_dropped(rpc: Rpc, start_listen: Start) -> None:
    await rpc.ingest(note(10))
    listen = await start_listen()
    # Stopped, it reads nothing: the socket fills, the hub waits on it, its queue overflows
    # and the hub drops it (the subscription is gone at once; `dropped` waits in the socket).
    listen.send_signal(signal.SIGSTOP)
    last = 10
    try:
        while rpc.hub.subscriber_count and last < 20_000:
            last += 1
            assert await rpc.intake.ingest(note(last))
            await asyncio.sleep(0)
    finally:
        listen.send_signal(signal.SIGCONT)
    assert rpc.hub.subscriber_count == 0, "never dropped"
    everything = await printed(listen, last - 10)  # what it had, then the replay after dropped
    assert [n["id"] for n in everything] == [str(i) for i in range(11, last + 1)]
    assert everything[0]["status"]["attachments"] == [{"id": "3", "type": "image"}]  # type: ignore[index]
    await until(lambda: rpc.hub.subscriber_count == 1)  # resubscribed: live again
    for nid in (last + 1, last + 2):
        await rpc.ingest(note(nid))
        await asyncio.sleep(0)
    assert [n["id"] for n in await printed(listen, 2)] == [str(last + 1), str(last + 2)]

    listen.send_signal(signal.SIGINT)
    _, stderr = await asyncio.wait_for(listen.communicate(), READ_TIMEOUT)
    assert listen.returncode == 130
    assert "resubscribing after '" in stderr.decode()
    assert "Traceback" not in stderr.decode()
    await until(lambda: rpc.hub.subscriber_count == 0)


async def test_types_and_since(rpc: Rpc, start_listen: Start) -> None:
    await rpc.ingest(*(note(i, "follow" if i % 2 else "mention") for i in range(1, 6)))
    listen = await start_listen("--types", "follow,poll", "--since", "1")
    await rpc.ingest(note(6, "poll"), note(7, "mention"), note(8, "follow"))
    assert [n["id"] for n in await printed(listen, 4)] == ["3", "5", "6", "8"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_exits_on_a_signal_even_when_started_with_sigint_ignored(
    rpc: Rpc, start_listen: Start, sig: signal.Signals
) -> None:
    listen = await start_listen(ignore_sigint=True)
    await rpc.ingest(note(1))
    assert [n["id"] for n in await printed(listen, 1)] == ["1"]
    listen.send_signal(sig)
    _, stderr = await asyncio.wait_for(listen.communicate(), READ_TIMEOUT)
    assert listen.returncode == 128 + sig
    assert stderr == b""
    await until(lambda: rpc.hub.subscriber_count == 0)


@pytest.mark.parametrize("since", ["", "0"])
async def test_since_empty_and_zero_replay_everything_stored(
    rpc: Rpc, start_listen: Start, since: str
) -> None:
    await rpc.ingest(note(1), note(2), note(3, "follow"))
    listen = await start_listen("--since", since)
    assert [n["id"] for n in await printed(listen, 3)] == ["1", "2", "3"]


async def test_unknown_type_is_refused_before_connecting(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "mastod", "listen", "--types", "mention,mentions"),
        *("--socket", str(tmp_path / "no-daemon.sock")),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), READ_TIMEOUT)
    assert proc.returncode == 2
    assert out == b""
    lines = err.decode().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("mastod listen: --types: unknown type 'mentions' (valid: ")
    assert "favourite, follow, follow_request" in lines[0]
