"""Fuzzing the Web Push webhook listener (the only thing a tunnel exposes): the real webhook
app from `mastod.push` with the real receiver, keys and an instance VAPID key.

Inputs: random methods and paths (near misses of `/push/<secret>`, traversal, encodings,
other listeners' routes), random headers (Content-Encoding values, Authorization / Crypto-Key
/ Encryption garbage, huge headers, the RPC bearer token), random bodies, real pushes with
flipped, cut or extended bodies and with mutated headers, and untouched real pushes among
them. >= 20,000 seeded requests plus hypothesis examples per run (`MASTOD_FUZZ_LONG`).

Properties: never a 5xx; 2xx (201) only for `POST /push/<secret>`, and then always (413 over
the body limit); every other request a 404 (or 400 from the HTTP parser); nothing but the
exact payload of a real push ever reaches `on_push`, and every intact real push does; the
listener serves to the end and no failure is logged.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mastod.push.decrypt import PushPayload
from tests.fuzz.clients import RawHttp
from tests.fuzz.rig import RPC_TOKEN
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
from tests.fuzz.webpush import MAX_BODY, WEBHOOK_SECRET, Hook, Push, b64, running_hook

PATH = f"/push/{WEBHOOK_SECRET}"
METHODS = ["POST"] * 6 + ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "post", "Post"]
ODD_METHODS = ["PRI", "CONNECT", "TRACE", "X" * 300, "PROPFIND", "M-SEARCH", "BREW"]
TARGETS = [
    PATH,
    PATH,
    PATH,
    PATH + "?x=1",
    PATH + "/",
    PATH + "/x",
    PATH + "%00",
    PATH + "..",
    PATH[:-1],
    PATH + "a",
    PATH.upper(),
    "/push/" + WEBHOOK_SECRET.upper(),
    "//push/" + WEBHOOK_SECRET,
    "/push//" + WEBHOOK_SECRET,
    "/push/%2F" + WEBHOOK_SECRET,
    "/push/" + "".join(f"%{b:02X}" for b in WEBHOOK_SECRET.encode()),
    "/push/../push/" + WEBHOOK_SECRET,
    "/push/./" + WEBHOOK_SECRET,
    "/x/../push/" + WEBHOOK_SECRET,
    "/push/%2e%2e/push/" + WEBHOOK_SECRET,
    "/push",
    "/push/",
    "/push/wrong",
    "/push/" + "a" * len(WEBHOOK_SECRET),
    "/rpc",
    "/health",
    "/events",
    "/",
    "/_sandbox/act",
    "/api/v1/statuses",
    "/..%2f..%2fetc/passwd",
    "/%00",
    "*",
    "http://127.0.0.1" + PATH,
    "/" + "p" * 7000,
]
ENCODINGS = ["aes128gcm", "aesgcm", "gzip", "", "AES128GCM", " aesgcm ", "x" * 2000, "br, gzip"]
AUTHS = [
    "",
    "vapid",
    "vapid t=,k=",
    "vapid t=a.b.c,k=" + b64(b"\x04" + b"\x00" * 64),
    "vapid k=x,t=y,t=z",
    "WebPush",
    "WebPush a.b.c",
    "WebPush " + "e" * 9000,
    "Bearer " + RPC_TOKEN,
    "Basic dXNlcjpwYXNz",
    "vapid t=eyJhbGciOiJub25lIn0.eyJhdWQiOiJodHRwczovL2hvb2tzLmV4YW1wbGUifQ.,k=AA",
]
CRYPTO_KEYS = ["", "dh=", "p256ecdsa=", "dh=" + b64(b"\x04" + b"\x01" * 64), ";;;,,,", "dh=!!"]
ENCRYPTIONS = ["", "salt=", "salt=" + b64(b"\x00" * 16), "salt=" + b64(b"x" * 3), "rs=0;salt=a"]
HEADER_NAMES = ["Content-Encoding", "Authorization", "Crypto-Key", "Encryption", "TTL", "X-Y"]


@dataclass
class Request:
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes
    intact: Push | None = None  # an untouched real push

    @property
    def is_push(self) -> bool:
        """Whether this is `POST /push/<secret>` (a query is no part of the path)."""
        target = self.target
        if target.startswith("http://"):
            target = "/" + target.split("/", 3)[3]
        return self.method == "POST" and target.split("?", 1)[0] == PATH


@dataclass
class Fuzz:
    hook: Hook
    watch: LogWatch
    http: RawHttp
    pushes: list[Push]
    sent: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    delivered_due: set[str] = field(default_factory=set)

    async def send(self, req: Request) -> None:
        reply = await self.http.request(req.method, req.target, req.headers, req.body)
        self.sent += 1
        self.statuses[reply.status] = self.statuses.get(reply.status, 0) + 1
        where = f"{req.method} {req.target[:80]} {req.headers!r:.300} body {req.body[:60]!r}"
        assert reply.status < 500, f"HTTP {reply.status} for {where}"
        if _malformed(req):
            # aiohttp itself may answer these (400, or its own 404 page), and a CONNECT
            # leaves the connection unusable for HTTP: start a new one
            self.http.close()
            assert reply.status in (0, 400, 404), f"HTTP {reply.status} for {where}"
            return
        if req.is_push:
            expected = 413 if len(req.body) > MAX_BODY else 201
            assert reply.status == expected, f"HTTP {reply.status}, not {expected}: {where}"
            if req.intact is not None and reply.status == 201:
                self.delivered_due.add(str(req.intact.payload["notification_id"]))
        else:
            assert reply.status == 404, f"HTTP {reply.status}, not 404: {where}"
        assert reply.body == b"", f"a body in the answer: {reply.body[:200]!r}: {where}"

    def check_received(self) -> None:
        """Only exact payloads of real pushes reached on_push, and every intact one did."""
        by_id = {str(p.payload["notification_id"]): p.payload for p in self.pushes}
        got: set[str] = set()
        for payload in self.hook.received:
            original = by_id.get(payload.notification_id)
            assert original is not None, f"a payload no real push carried: {payload!r}"
            assert payload == expected_payload(original), f"garbled: {payload!r}"
            got.add(payload.notification_id)
        assert self.delivered_due <= got, f"intact pushes lost: {self.delivered_due - got}"


def expected_payload(payload: dict[str, object]) -> PushPayload:
    return PushPayload(
        notification_id=str(payload["notification_id"]),
        notification_type=str(payload["notification_type"]),
        title=str(payload["title"]),
        body=str(payload["body"]),
        icon=str(payload["icon"]),
        preferred_locale=str(payload["preferred_locale"]),
    )


STANDARD_METHODS = frozenset({"POST", "GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})


def _malformed(req: Request) -> bool:
    """What aiohttp's HTTP parser may refuse with 400: an unusual or lower-case method, a
    request line or header over its 8190-byte limits, `*` as a target."""
    return (
        req.method not in STANDARD_METHODS
        or len(req.target) > 4000
        or req.target == "*"
        or any(len(value) > 4000 for _, value in req.headers)
    )


@pytest.fixture
async def fuzz(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Fuzz]:
    with watch_logs(logging.WARNING) as watch:
        async with running_hook() as hook:
            pushes = [
                hook.instance.push(hook.keys, 1000 + i, "aes128gcm" if i % 2 else "aesgcm")
                for i in range(24)
            ]
            state = Fuzz(hook, watch, RawHttp("127.0.0.1", hook.port), pushes)
            yield state
            # still serving: a real push goes through, end to end
            last = hook.instance.push(hook.keys, 99_999)
            state.pushes.append(last)
            await state.send(Request("POST", PATH, list(last.headers.items()), last.body, last))
            await hook.settle()
            state.check_received()
            state.http.close()
            print(f"webhook: {state.sent} requests, statuses {sorted(state.statuses.items())}")
    assert watch.failures() == []
    assert stdlib_errors(caplog.records) == []


class Requests:
    """Seeded webhook requests."""

    def __init__(self, seed: int, pushes: list[Push]) -> None:
        self.r = random.Random(seed)
        self.pushes = pushes
        self.big = b"\x00" * (MAX_BODY + 1)

    def make(self) -> Request:
        r = self.r
        method = r.choice(METHODS) if r.random() < 0.97 else r.choice(ODD_METHODS)
        target = r.choice(TARGETS)
        roll = r.random()
        push = r.choice(self.pushes)
        if roll < 0.12:  # an untouched real push
            return Request(method, target, list(push.headers.items()), push.body, push)
        if roll < 0.35:  # a real push, body mutated
            return Request(method, target, list(push.headers.items()), self.mutate(push.body))
        if roll < 0.5:  # a real push, headers mutated
            mutated = dict(push.headers)
            name = r.choice(HEADER_NAMES)
            mutated[name] = self.header_value(name)
            if r.random() < 0.3:
                mutated.pop(r.choice(list(mutated)))
            return Request(method, target, list(mutated.items()), push.body)
        headers = [(n, self.header_value(n)) for n in r.sample(HEADER_NAMES, r.randrange(0, 5))]
        if roll < 0.53:
            body = self.big + bytes(r.randrange(0, 3000))
        elif roll < 0.6:
            body = b""
        else:
            body = bytes(r.randrange(256) for _ in range(r.choice([1, 16, 86, 200, 3000])))
        return Request(method, target, headers, body)

    def header_value(self, name: str) -> str:
        r = self.r
        pool = {
            "Content-Encoding": ENCODINGS,
            "Authorization": AUTHS,
            "Crypto-Key": CRYPTO_KEYS,
            "Encryption": ENCRYPTIONS,
        }.get(name, ["0", "-1", "x" * 100])
        value = r.choice(pool)
        if r.random() < 0.2:
            value += "".join(chr(r.randrange(0x21, 0x7F)) for _ in range(r.randrange(1, 40)))
        return value

    def mutate(self, body: bytes) -> bytes:
        r = self.r
        data = bytearray(body)
        roll = r.randrange(5)
        if roll == 0:
            for _ in range(r.randrange(1, 4)):
                data[r.randrange(len(data))] ^= 1 << r.randrange(8)
        elif roll == 1:
            del data[r.randrange(len(data)) :]
        elif roll == 2:
            data += bytes(r.randrange(256) for _ in range(r.randrange(1, 64)))
        elif roll == 3:  # the aes128gcm header: salt (16), rs (4), idlen (1), keyid
            data[r.randrange(min(len(data), 86))] = r.randrange(256)
        else:
            data = data[r.randrange(len(data)) :]
        return bytes(data)


@pytest.mark.slow
@timeout_mark(180)
async def test_seeded_requests(fuzz: Fuzz) -> None:
    requests = Requests(SEED, fuzz.pushes)
    while fuzz.sent < scaled(CI_INPUTS):
        await fuzz.send(requests.make())
        if fuzz.sent % 1000 == 0:
            await fuzz.hook.settle()  # keeps the receiver's backlog (and memory) bounded


HEADER_VALUES = st.one_of(
    st.sampled_from(ENCODINGS + AUTHS + CRYPTO_KEYS + ENCRYPTIONS),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
)


@pytest.mark.slow
@timeout_mark(120)
@profile(800)
@given(
    method=st.sampled_from(METHODS),
    target=st.one_of(
        st.sampled_from(TARGETS),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40).map(
            lambda t: "/" + t.replace("#", "")
        ),
    ),
    headers=st.lists(st.tuples(st.sampled_from(HEADER_NAMES), HEADER_VALUES), max_size=5),
    body=st.one_of(st.binary(max_size=300), st.integers(0, 23)),
)
async def test_hypothesis_requests(
    fuzz: Fuzz, method: str, target: str, headers: list[tuple[str, str]], body: bytes | int
) -> None:
    # an int: a real push's body, under the generated headers
    raw = fuzz.pushes[body].body if isinstance(body, int) else body
    await fuzz.send(Request(method, target, headers, raw))
