"""Fuzzing JSON-RPC over the Unix socket, HTTP (`POST /rpc`) and WebSocket (`GET /rpc`),
served by the real daemon app in-process with the sandbox as its Mastodon.

Inputs: malformed JSON, wrong types in every field, huge and deeply nested values, invalid
UTF-8, partial frames (split across writes, cut off by EOF), batches of garbage, mixed
valid/invalid batches, unknown and real method names (from `rpc.discover`) with valid-shaped
and invalid params, ids of every JSON type. Per surface: >= 20,000 seeded frames plus the
hypothesis examples (`MASTOD_FUZZ_LONG=1` for the long run, see `support`).

Properties: every frame gets exactly the JSON-RPC 2.0 answer the specification asks for (a
response object or array, strictly checked, id echoed; nothing for a notification or a blank
line), each within `HANG_BOUND` (a hang detector); an internal error says only "Internal
error"; a `status` call after every batch, notification and example succeeds; the daemon
logs no failed task and serves a new connection at the end.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.clients import LineClient
from tests.fuzz.garbage import MAX_FRAME, Garbage, MethodSpec
from tests.fuzz.oracle import (
    INVALID_REQUEST,
    NOTHING,
    BadReply,
    Expect,
    Reply,
    check,
    check_object,
    expect,
    internal_errors,
    parse,
)
from tests.fuzz.rig import Rig, discover_methods, request, running_daemon
from tests.fuzz.strategies import frames
from tests.fuzz.support import (
    CI_INPUTS,
    SEED,
    LogWatch,
    profile,
    scaled,
    stdlib_errors,
    timeout_mark,
    watch_logs,
)
from tests.fuzz.transports import Transport, open_transport

TRANSPORTS = ["unix", "http", "websocket"]
PROBE_EVERY = 50


@dataclass
class Fuzz:
    rig: Rig
    watch: LogWatch
    specs: list[MethodSpec]
    known: frozenset[str]
    sent: int = 0
    skipped: collections.Counter[str] = field(default_factory=collections.Counter)
    internal: list[bytes] = field(default_factory=list)  # frames answered with -32603
    transports: dict[str, Transport] = field(default_factory=dict)

    async def transport(self, name: str) -> Transport:
        """The test's connection on `name` (kept across hypothesis examples)."""
        if name not in self.transports:
            self.transports[name] = await open_transport(name, self.rig)
        return self.transports[name]

    def report(self, surface: str) -> str:
        return (
            f"{surface}: {self.sent} frames, skipped (ambiguous) {dict(self.skipped)}, "
            f"internal errors {len(self.internal)}"
        )


@pytest.fixture
async def fuzz(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Fuzz]:
    """The daemon, its method table, and at the end the checks that nothing broke behind the
    answers: each connection used still works, a new one too, no failed task was logged.
    The daemon runs as at `log.level: warning` (the volume would otherwise go into building
    per-call info events); errors, tracebacks and failed tasks are still all seen."""
    with watch_logs(logging.WARNING) as watch:
        async with running_daemon(tmp_path) as rig:
            client = await LineClient.connect(rig.socket_path)
            await client.send(request("rpc.discover") + b"\n")
            document = (await client.recv("rpc.discover"))["result"]
            client.close()
            methods = discover_methods(document)
            specs = [MethodSpec.from_discover(m) for m in methods]
            state = Fuzz(rig, watch, specs, frozenset(m["name"] for m in methods))
            yield state
            for name, transport in state.transports.items():
                await transport.probe()
                await transport.close()
                fresh = await open_transport(name, rig)
                await fresh.probe()
                await fresh.close()
            print(state.report(", ".join(state.transports) or "-"))
            if state.internal:
                print("frames answered -32603:", *(f[:200] for f in state.internal[:20]))
    assert watch.failures() == []
    assert stdlib_errors(caplog.records) == []


async def feed(transport: Transport, fuzz: Fuzz, raw: bytes) -> None:
    """One frame through `transport`, its answer checked against the oracle."""
    frame = transport.prepare(raw)
    doc = parse(frame)
    want = NOTHING if transport.blank_ignored and not frame.strip() else expect(doc, fuzz.known)
    if want.ambiguous:  # a notification with a number out of range: answered or not
        fuzz.skipped["out-of-range number in a notification"] += 1
        return
    answer = await transport.exchange(frame, want)
    fuzz.sent += 1
    if want.answered:
        try:
            check(answer, want)
        except BadReply as exc:
            raise AssertionError(f"{transport.name}: {exc}\nframe: {frame[:600]!r}") from None
        if internal_errors(answer):
            fuzz.internal.append(frame)
    if want.batch or not want.answered or fuzz.sent % PROBE_EVERY == 0:
        await transport.probe()


@pytest.mark.slow
@timeout_mark(240)
@pytest.mark.parametrize("transport_name", TRANSPORTS)
async def test_seeded_garbage_gets_a_valid_answer_for_every_frame(
    fuzz: Fuzz, transport_name: str
) -> None:
    garbage = Garbage(SEED + TRANSPORTS.index(transport_name), fuzz.specs, fuzz.rig.upstream.url)
    transport = await fuzz.transport(transport_name)
    while fuzz.sent < scaled(CI_INPUTS):
        await feed(transport, fuzz, garbage.frame())


@pytest.mark.slow
@timeout_mark(240)
@pytest.mark.parametrize("transport_name", TRANSPORTS)
@profile(300)
@given(data=st.data())
async def test_hypothesis_frames_get_a_valid_answer(
    fuzz: Fuzz, transport_name: str, data: st.DataObject
) -> None:
    transport = await fuzz.transport(transport_name)
    strategy = st.lists(frames(fuzz.specs, fuzz.rig.upstream.url), min_size=1, max_size=6)
    for raw in data.draw(strategy, label="frames"):
        await feed(transport, fuzz, raw)
    await transport.probe()


# --- the Unix socket as a byte stream: frames split anywhere, cut off by EOF ---------------


def line_expectations(data: bytes, fuzz: Fuzz) -> list[Expect] | None:
    """What each newline-delimited frame of `data` must produce (None: whether a frame is
    answered at all is the daemon's choice, so the stream cannot be checked)."""
    lines = data.split(b"\n")
    wants: list[Expect] = []
    for line in lines:
        if len(line) > MAX_FRAME:
            wants.append(Expect(False, (Reply((None,), frozenset({INVALID_REQUEST})),)))
            continue
        if not line.strip():
            continue
        doc = parse(line)
        want = expect(doc, fuzz.known)
        if want.ambiguous:
            return None
        wants.append(want)
    return wants


def unmatched_answers(answers: list[Any], wants: list[Expect]) -> list[Any]:
    """The answers left over by a maximum matching of answers to the frames they fit
    (Kuhn's augmenting paths: an answer may fit several frames, e.g. two `id: null` errors)."""
    fits = [[j for j, want in enumerate(wants) if _fits(answer, want)] for answer in answers]
    owner: dict[int, int] = {}

    def assign(i: int, seen: set[int]) -> bool:
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if j not in owner or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    matched = {i for i in range(len(answers)) if assign(i, set())}
    return [a for i, a in enumerate(answers) if i not in matched]


def _fits(answer: Any, want: Expect) -> bool:
    try:
        check(answer, want)
    except BadReply:
        return False
    return True


def _key(answer: object) -> str:
    return json.dumps(answer, sort_keys=True)[:2000]


async def stream(fuzz: Fuzz, data: bytes, cuts: list[int]) -> int:
    """Send `data` in pieces (cut at `cuts`), then EOF; check every answer. Frames sent."""
    wants = line_expectations(data, fuzz)
    if wants is None:
        fuzz.skipped["out-of-range number in a notification"] += 1
        return 0
    client = await LineClient.connect(fuzz.rig.socket_path)
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        if cut > start:
            await client.send(data[start:cut])
            await asyncio.sleep(0)  # the daemon reads this piece before the next one comes
            start = cut
    answers = await client.finish()
    due = [w for w in wants if w.answered]
    where = f"stream {data[:400]!r} cut at {sorted(cuts)[:20]}"
    assert len(answers) == len(due), f"{len(answers)} answers for {len(due)} frames: {where}"
    # Answers come as each call completes: match them to frames by shape, in any order.
    unmatched = unmatched_answers(answers, due)
    assert not unmatched, f"answer {_key(unmatched[0])[:300]} fits no frame: {where}"
    frames_sent = sum(1 for line in data.split(b"\n") if line.strip())
    fuzz.sent += frames_sent
    return frames_sent


@pytest.mark.slow
@timeout_mark(240)
async def test_unix_stream_split_and_partial_frames(fuzz: Fuzz) -> None:
    r = random.Random(SEED + 7)
    garbage = Garbage(SEED + 8, fuzz.specs, fuzz.rig.upstream.url)
    target = scaled(CI_INPUTS // 4)
    while fuzz.sent < target:
        lines = [garbage.frame() for _ in range(r.choice([1, 2, 5, 20]))]
        data = b"\n".join(lines)  # newlines inside a frame split it: more frames, fine
        if r.random() < 0.7:
            data += b"\n"  # else the last frame ends at EOF
        if r.random() < 0.05:
            data += b"\n" + b"x" * (MAX_FRAME + r.randrange(1, 3000)) + b"\n"
        if r.random() < 0.1:
            data += b"\r\n\n \n"  # blank lines are ignored
        cut_count = r.choice([0, 1, 3, 10, 50])
        cuts = [r.randrange(len(data) + 1) for _ in range(cut_count)]
        await stream(fuzz, data, cuts)
    await fuzz.transport("unix")  # the fixture's final checks use it


@pytest.mark.slow
@timeout_mark(120)
@profile(200)
@given(data=st.data())
async def test_unix_stream_hypothesis(fuzz: Fuzz, data: st.DataObject) -> None:
    lines = data.draw(
        st.lists(frames(fuzz.specs, fuzz.rig.upstream.url), min_size=1, max_size=5), label="lines"
    )
    payload = b"\n".join(lines) + (b"\n" if data.draw(st.booleans(), label="newline") else b"")
    cuts = data.draw(st.lists(st.integers(0, len(payload)), max_size=8), label="cuts")
    await stream(fuzz, payload, cuts)
    await fuzz.transport("unix")


# --- what a WebSocket cannot carry as a JSON-RPC frame ------------------------------------


@timeout_mark(120)
async def test_websocket_protocol_garbage_closes_only_that_connection(fuzz: Fuzz) -> None:
    """Invalid UTF-8 in a text message, a bad opcode or a ping storm: the daemon may close
    that connection, but it never crashes and the next connection is served."""

    r = random.Random(SEED + 9)
    for round_ in range(scaled(60)):
        transport = await open_transport("websocket", fuzz.rig)
        ws = transport.ws  # type: ignore[attr-defined]
        writer = ws._writer  # the protocol writer: lets a test send what the client API won't
        kind = round_ % 4
        if kind == 0:
            await writer.send_frame(b"\xff\xfe" + bytes(r.randrange(256) for _ in range(10)), 1)
        elif kind == 1:
            await writer.send_frame(b"x", r.choice([3, 4, 5, 6, 7, 11, 12, 15]))
        elif kind == 2:
            for _ in range(50):
                await ws.ping(b"p" * r.randrange(0, 125))
            await transport.probe()
        else:
            await writer.send_frame(b'{"jsonrpc":"2.0",', 0x1, compress=None)
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT:
                check_object(json.loads(msg.data), Reply((None,), frozenset({-32700})))
        await transport.close()
        fresh = await open_transport("websocket", fuzz.rig)
        await fresh.probe()
        await fresh.close()
        fuzz.sent += 1
