"""`mastod call` never prints a token: not the daemon's Mastodon token, not the RPC token,
not a per-call `access_token` it was given, whether the call succeeds, fails upstream (401),
fails in the daemon, or cannot reach the daemon."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.security.proc import Proc, daemon, layout, run_cli, sandbox_with_token

BAD = "bad-" + secrets.token_urlsafe(18)


@dataclass
class Cli:
    running: Proc
    token: str  # the daemon's Mastodon token
    other: str  # another valid token of alice's, passed per call

    @property
    def socket(self) -> str:
        return str(self.running.layout.socket_path)

    def secrets(self) -> list[str]:
        return [self.token, self.other, BAD, self.running.rpc_token]


@pytest.fixture
async def cli(tmp_path: Path) -> AsyncIterator[Cli]:
    async with sandbox_with_token() as (upstream, token):
        other = "tok-" + secrets.token_urlsafe(18)
        owner = upstream.sandbox.tokens[token]
        upstream.sandbox.add_token(other, owner.account_id, "read write", owner.app_id)
        async with daemon(layout(tmp_path, upstream.url, token)) as running:
            yield Cli(running, token, other)


def invocations(cli: Cli) -> list[list[str]]:
    sock = ["--socket", cli.socket]
    return [
        ["call", "status", *sock],
        ["call", "get_home_timeline", "limit:=1", *sock],
        ["call", "get_home_timeline", f"access_token={cli.other}", "limit:=1", *sock],
        ["call", "get_home_timeline", f"access_token={BAD}", *sock],
        ["call", "get_home_timeline", "--json", f'{{"access_token": "{BAD}"}}', *sock],
        ["call", "get_home_timeline", "--json", f'{{"access_token": "{BAD}"', *sock],
        ["call", "publish_status", "status=hi", f"access_token={BAD}", *sock],
        ["call", "get_status", "status_id=1", f"access_token={BAD}", "base_url=nope", *sock],
        ["call", "upload_media", "file=~nobody-here/x", f"access_token={BAD}", *sock],
        ["call", "no_such_method", f"access_token={BAD}", *sock],
        ["call", "status", "--socket", cli.socket + ".missing"],
        ["call", "subscribe", *sock],
    ]


async def test_call_never_prints_a_token(cli: Cli) -> None:
    outcomes = []
    for args in invocations(cli):
        code, out, err = await run_cli(*args)
        outcomes.append(code)
        for secret in cli.secrets():
            assert secret not in out, f"{args}: a token on stdout"
            assert secret not in err, f"{args}: a token on stderr: {err}"
    assert {0, 1, 2} <= set(outcomes)  # successes, failed calls, a usage error


async def test_call_with_a_config_holding_the_token_never_prints_it(
    cli: Cli, tmp_path: Path
) -> None:
    """`--config` is read for the socket path only; a token inline in it stays there."""
    config = tmp_path / "with-token.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "mastodon": {"base_url": "https://m.example", "access_token": cli.token},
                "rpc": {"unix_socket": cli.socket},
            }
        )
    )
    for method in ("status", "get_home_timeline", "nope"):
        code, out, err = await run_cli("call", method, "--config", str(config))
        assert code in (0, 1)
        assert cli.token not in out + err


async def test_call_usage_error_never_prints_the_value(cli: Cli) -> None:
    code, out, err = await run_cli(
        "call", "get_home_timeline", f"access_token:={BAD}", "--socket", cli.socket
    )
    assert code == 2
    assert BAD not in out + err
