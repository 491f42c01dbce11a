"""No token, push secret, webhook path secret or push `access_token` in any log line or error.

Two runs, each searched for every secret it knows:

- the daemon as a subprocess, JSON logs at debug level, push notifications on, against the
  sandbox with a fresh random token: pushes arrive (their payload carries that token), calls
  succeed and fail in every way that carries a token (bad per-call token and upstream 401,
  another valid per-call token, a header-breaking token, a password and client secret, wrong
  RPC bearer token, wrong and right webhook paths), then SIGTERM; stderr and stdout, every RPC
  answer and HTTP body are searched;
- the daemon app in-process under `structlog.testing.capture_logs()`, events rendered as its
  log pipeline does (tracebacks formatted, then redacted), with an injected bug whose
  exception text names tokens;
- and the config errors that carry a token: the one-line message of `mastod serve`.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

import mastod.mastodon.client as client
import mastod.mastodon.encoding
import mastod.redaction as redaction
from mastod.sandbox import OWNER_TOKEN
from tests.fuzz.clients import LineClient, RawHttp, bounded
from tests.fuzz.rig import RPC_TOKEN, running_daemon
from tests.security.proc import BOUND, Proc, daemon, free_port, layout, sandbox_with_token, spawn

BAD = "bad-" + secrets.token_urlsafe(18)


@dataclass
class Seen:
    """Everything that came back to a client during the run."""

    texts: list[str] = field(default_factory=list)

    def add(self, value: Any) -> Any:
        self.texts.append(value if isinstance(value, str) else json.dumps(value))
        return value


def push_secrets(state_dir: Path) -> list[str]:
    """The webhook path secret, the auth secret and the private key's base64 lines."""
    keys = json.loads((state_dir / "push-keys.json").read_text())
    pem_lines = [line for line in keys["private_key"].splitlines() if len(line) > 20]
    return [keys["webhook_secret"], keys["auth"], *pem_lines]


async def call(sock: Path, method: str, params: Any = None) -> dict[str, Any]:
    client = await LineClient.connect(sock)
    frame: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        frame["params"] = params
    await client.send(json.dumps(frame).encode() + b"\n")
    answer: dict[str, Any] = await client.recv(method)
    client.close()
    return answer


CALLS_CARRYING_TOKENS: list[tuple[str, dict[str, Any]]] = [
    ("get_home_timeline", {"limit": 2}),
    ("publish_status", {"status": "a post"}),
    ("get_status", {"status_id": "404404"}),
    ("get_home_timeline", {"access_token": BAD}),  # upstream 401
    ("publish_status", {"status": "x", "access_token": BAD}),
    ("get_home_timeline", {"access_token": BAD + "\r\nX-A: b"}),  # a header it must refuse
    ("upload_media", {"file": "~nobody-here/x", "access_token": BAD}),  # no such user
    ("get_status", {"status_id": "1", "base_url": "http://127.0.0.1:9", "access_token": BAD}),
    ("register_account", {"username": "u", "email": "e@x", "password": BAD}),
    ("register_account", {"username": "u", "email": "e@x", "password": "p",
                          "client_id": "id", "client_secret": BAD}),
    ("paginate", {"method": "get_home_timeline", "access_token": BAD}),
]  # fmt: skip


async def wait_registered(running: Proc) -> None:
    async with asyncio.timeout(BOUND):
        while True:
            status = await call(running.layout.socket_path, "status")
            if status["result"]["notifications"].get("subscription") == "registered":
                return
            await asyncio.sleep(0.05)


async def test_subprocess_run_logs_no_secret(tmp_path: Path) -> None:
    seen = Seen()
    async with sandbox_with_token() as (upstream, token):
        other = "tok-" + secrets.token_urlsafe(18)
        owner = upstream.sandbox.tokens[token]
        upstream.sandbox.add_token(other, owner.account_id, "read write", owner.app_id)
        port = free_port()
        lay = layout(
            tmp_path,
            upstream.url,
            token,
            notifications={"source": "push"},
            webhook={"host": "127.0.0.1", "port": port, "public_url": f"http://127.0.0.1:{port}"},
        )
        async with daemon(lay) as running:
            sock = lay.socket_path
            rpc_token = running.rpc_token
            hidden = push_secrets(lay.state_dir)
            await wait_registered(running)

            # pushes: their payload carries `token`; wait until both are delivered to us
            listener = await LineClient.connect(sock)
            subscribe = {"jsonrpc": "2.0", "id": "s", "method": "subscribe", "params": {}}
            await listener.send(json.dumps(subscribe).encode() + b"\n")
            seen.add(await listener.recv("subscribe"))
            async with aiohttp.ClientSession() as session:
                for _ in range(2):
                    act = {"actor": "bob", "action": "mention", "text": "hi @alice"}
                    async with session.post(f"{upstream.url}/_sandbox/act", json=act) as r:
                        assert r.status == 200
            delivered = 0
            while delivered < 2:
                line = await bounded("a notification", listener.reader.readline())
                message = seen.add(json.loads(line))
                delivered += message.get("method") == "notification"
            listener.close()
            status = seen.add(await call(sock, "status"))
            assert status["result"]["notifications"]["pushes"]["accepted"] >= 2, status

            for method, params in [*CALLS_CARRYING_TOKENS, ("get_home_timeline", {
                "access_token": other})]:  # fmt: skip
                seen.add(await call(sock, method, params))

            http = RawHttp("127.0.0.1", lay.config["rpc"]["http"]["port"])
            body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "get_home_timeline"})
            for bearer in (f"Bearer {rpc_token}", "Bearer wrong", f"Bearer {token}"):
                auth = [("Authorization", bearer), ("Content-Type", "application/json")]
                reply = await http.request("POST", "/rpc", auth, body.encode())
                seen.add(reply.body.decode("utf-8", "replace"))
            http.close()
            hook = RawHttp("127.0.0.1", port)
            for path in (f"/push/{hidden[0]}", f"/push/{hidden[0]}x", "/rpc"):
                for method in ("POST", "GET"):
                    vapid = [("Authorization", f"vapid t={BAD}")]
                    reply = await hook.request(method, path, vapid, b"x")
                    seen.add(reply.body.decode("utf-8", "replace"))
            hook.close()
        assert running.proc.returncode == 0

    searched = [token, other, BAD, rpc_token, *hidden]
    log = running.log_text()
    # a real log was searched: every line one JSON object (nothing unredacted slipped out
    # raw), with the calls, the upstream requests they made and the refused HTTP requests
    events = [json.loads(line) for line in running.stderr]
    assert len(events) > 30
    assert sum(bool(e.get("upstream")) for e in events if e["event"] == "rpc.call") >= 5
    assert sum(e["event"] == "http.request" for e in events) >= 2
    for secret in searched:
        assert secret not in log, f"a secret in the daemon's log: ...{secret[:6]}..."
        for text in seen.texts:
            assert secret not in text, f"a secret reached a client: {text[:300]}"


async def test_in_process_events_hold_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The events as the daemon's log pipeline would render them (tracebacks formatted, then
    the redaction step, with the tokens registered as `mastod serve` registers them), for
    every call above and for an injected bug whose exception text names tokens."""
    monkeypatch.setattr(redaction, "_secrets", set(redaction._secrets))  # restored afterwards
    monkeypatch.setattr(redaction, "_masked", redaction._masked)
    for secret in (OWNER_TOKEN, RPC_TOKEN):
        redaction.register_secret(secret)
    fill_path = mastod.mastodon.encoding.fill_path  # what mastod.mastodon.client calls

    def buggy_fill_path(template: str, params: Any) -> Any:
        if params.get("status_id") == "boom":
            raise RuntimeError(
                f"upstream said no to Bearer {BAD} (configured {OWNER_TOKEN}) at "
                f"https://m.example/api/v1/streaming?access_token={BAD}"
            )
        return fill_path(template, params)

    monkeypatch.setattr(client, "fill_path", buggy_fill_path)
    seen = Seen()
    with structlog.testing.capture_logs(
        processors=[structlog.processors.format_exc_info, redaction.redact]
    ) as events:
        async with running_daemon(tmp_path) as rig:
            calls = [*CALLS_CARRYING_TOKENS, ("get_status", {"status_id": "boom"})]
            calls.append(("get_status", {"status_id": "boom", "access_token": BAD}))
            for method, params in calls:
                seen.add(await call(rig.socket_path, method, params))
            async with aiohttp.ClientSession() as session:
                for bearer in ("Bearer wrong", f"Bearer {RPC_TOKEN}"):
                    async with session.post(
                        f"{rig.http_url}/rpc",
                        json={"jsonrpc": "2.0", "id": 1, "method": "status"},
                        headers={"Authorization": bearer},
                    ) as response:
                        seen.add(await response.text())
    rendered = [repr(event) for event in events]
    assert len(rendered) > len(CALLS_CARRYING_TOKENS)
    assert sum("rpc.internal_error" in r and "Traceback" in r for r in rendered) == 2
    for secret in (OWNER_TOKEN, RPC_TOKEN, BAD):
        for line in rendered:
            assert secret not in line, f"a secret in a log event: {line[:400]}"
        for text in seen.texts:
            assert secret not in text, f"a secret reached a client: {text[:300]}"


@pytest.mark.parametrize(
    "mastodon",
    [
        {"base_url": "not a url", "access_token": "SECRET"},
        {"base_url": "https://m.example", "access_token": ["SECRET"]},
        {"base_url": "https://m.example", "access_token": "SECRET", "access_token_file": "/x"},
        {"base_url": "https://m.example", "acess_token": "SECRET"},
        {"base_url": "https://m.example", "access_token": {"SECRET": 1}},
    ],
)
async def test_config_errors_hold_no_secret(tmp_path: Path, mastodon: dict[str, Any]) -> None:
    secret = "tok-" + secrets.token_urlsafe(18)
    doc = json.loads(json.dumps(mastodon).replace("SECRET", secret))
    lay = layout(tmp_path, "https://m.example", "unused")
    lay.config["mastodon"] = doc
    running = await spawn(lay)
    assert await running.exited() == 2
    assert len(running.stderr) == 1, running.stderr
    assert secret not in running.log_text()


async def test_config_error_from_a_yaml_tag_holds_no_secret(tmp_path: Path) -> None:
    """A token under a YAML tag that does not fit it: PyYAML's ValueError quotes the value;
    before 9a37956 it escaped `load_config` and the daemon died printing the token."""
    secret = "tok" + secrets.token_hex(12)
    lay = layout(tmp_path, "https://m.example", "unused")
    lay.write()
    lay.config_path.write_text(
        f"mastodon: {{base_url: 'https://m.example', access_token: !!int {secret}}}\n"
    )
    running = await spawn(lay, "serve", "--config", str(lay.config_path), rewrite=False)
    code = await running.exited()
    assert secret not in running.log_text()
    assert code == 2
