"""`mastod init` end to end: a real subprocess talking stdin/stdout, the sandbox on loopback
as the instance (its approval step done through `/_sandbox/oauth/approve`), then
`check-config` on what it wrote and a daemon started on that config answering a call."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import yaml
from aiohttp import web

from mastod.cli.setup_files import Layout as SetupLayout
from mastod.sandbox import RunningSandbox, Sandbox, start_sandbox
from tests.cli.conftest import BOUND, Home, run, start, user_prefix
from tests.sandbox.openapi_check import check_recorded
from tests.security.proc import Layout, daemon, free_port
from tests.servers import serve


@pytest.fixture
async def instance() -> AsyncIterator[RunningSandbox]:
    """The sandbox; what init (and the daemon) sent it must match Mastodon's schema."""
    sandbox = Sandbox()
    sandbox.record_responses = True
    running = await start_sandbox(sandbox=sandbox, rate_limit=10**9)
    try:
        yield running
    finally:
        await running.close()
    violations = check_recorded(sandbox.recorded)
    assert not violations, "\n".join(map(str, violations))
    used = {(r.method, r.path) for r in sandbox.recorded if not r.path.startswith("/_sandbox/")}
    assert used <= DOCUMENTED, used - DOCUMENTED


# What init may use: Mastodon's documented instance, app and OAuth endpoints (and what the
# daemon started in one test calls).
DOCUMENTED = {
    ("GET", "/api/v2/instance"),
    ("GET", "/api/v1/instance"),
    ("POST", "/api/v1/apps"),
    ("POST", "/oauth/token"),
    ("POST", "/oauth/revoke"),
    ("GET", "/api/v1/accounts/verify_credentials"),
    ("GET", "/api/v1/timelines/home"),
    ("GET", "/api/v1/notifications"),
    ("GET", "/api/v1/streaming"),
}


async def approve(instance: RunningSandbox, url: str, **extra: str) -> str:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{instance.url}/_sandbox/oauth/approve", json={"url": url, **extra}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["code"])


def last_line(stderr: str) -> str:
    """The error line: the one after the instance's description, with nothing after it."""
    assert "Traceback" not in stderr
    assert stderr.endswith("\n")
    return stderr.splitlines()[-1]


async def init(
    instance: RunningSandbox, home: Home, *args: str, approve_with: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """Run `mastod init URL ARGS`: read the authorization URL it prints, approve it, and
    type the code on its stdin."""
    proc = await start("init", instance.url, *args, env=home.env)
    assert proc.stdout is not None
    assert proc.stdin is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), BOUND)).decode()
    if not first.startswith(f"{instance.url}/oauth/authorize?"):
        out, err = await asyncio.wait_for(proc.communicate(), BOUND)
        return proc.returncode or 0, first + out.decode(), err.decode()
    code = await approve(instance, first.strip(), **(approve_with or {}))
    out, err = await asyncio.wait_for(proc.communicate(f"{code}\n".encode()), BOUND)
    assert proc.returncode is not None
    return proc.returncode, first + out.decode(), err.decode()


async def test_init_check_config_serve_and_call(instance: RunningSandbox, home: Home) -> None:
    code, out, err = await init(instance, home)
    assert code == 0, err
    domain = instance.url.split("://", 1)[1]
    url_line, account_line = out.splitlines()
    assert "redirect_uri=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob" in url_line
    assert "scope=read%20write%20push" in url_line
    assert account_line == f"@alice@{domain}"
    assert "notifications: streaming" in err
    assert f"streaming: ws://{domain}; Web Push key: yes" in err
    assert "--public-url" in err  # what push needs
    assert "Traceback" not in err
    assert "paste the code" not in err  # no prompt: stdin is not a terminal

    config = yaml.safe_load(home.config.read_text())
    token_file = Path(config["mastodon"]["access_token_file"])
    assert config["mastodon"]["base_url"] == instance.url
    assert token_file == home.config.with_name("access-token")
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    granted = instance.sandbox.tokens[token_file.read_text().strip()]
    assert instance.sandbox.accounts[granted.account_id or ""].username == "alice"
    assert granted.scope == "read write push"
    assert config["state_dir"] == str(home.state_dir)
    assert config["rpc"]["unix_socket"] == str(home.socket)
    apps = home.state_dir / "oauth-apps.json"
    assert stat.S_IMODE(apps.stat().st_mode) == 0o600
    assert json.loads(apps.read_text())[instance.url]["client_id"]

    # check-config finds what init wrote with no --config (from a directory with no config/)
    code, out, err = await run("check-config", env=home.env, cwd=home.base)
    assert (code, err) == (0, ""), err
    assert out.strip().endswith(f"{home.config}: ok")

    # a daemon on that config (on free ports: this machine runs other daemons) answers a call
    document = yaml.safe_load(home.config.read_text())
    document["rpc"]["http"] = {"host": "127.0.0.1", "port": free_port()}
    document["webhook"] = {"port": free_port()}
    served = Layout(home.base / "daemon", document)
    served.base.mkdir()
    async with daemon(served):
        code, out, err = await run(
            "call", "get_home_timeline", "limit:=1", "--config", str(home.config), env=home.env
        )
    assert code == 0, err
    assert len(json.loads(out)) == 1  # the home timeline needs alice's token: init's


async def test_second_init_reuses_the_app_and_refuses_to_overwrite(
    instance: RunningSandbox, home: Home
) -> None:
    apps_before = len(instance.sandbox.apps)
    assert (await init(instance, home))[0] == 0
    first_token = home.config.with_name("access-token").read_text()
    code, out, err = await run("init", instance.url, env=home.env)
    assert code == 2
    assert out == ""
    assert err == f"mastod init: {home.config} exists (use --force to replace it)\n"
    code, _, err = await init(instance, home, "--force")
    assert code == 0, err
    assert len(instance.sandbox.apps) == apps_before + 1  # registered once, reused once
    app = next(a for a in instance.sandbox.apps.values() if a.name == "mastod")
    probes = [
        t for t in instance.sandbox.tokens.values() if t.app_id == app.id and not t.account_id
    ]
    assert probes == []  # the check that the instance still knows the app left no token
    assert home.config.with_name("access-token").read_text() != first_token


async def test_an_app_the_instance_forgot_is_registered_again(
    instance: RunningSandbox, home: Home
) -> None:
    assert (await init(instance, home))[0] == 0
    stored = json.loads((home.state_dir / "oauth-apps.json").read_text())[instance.url]
    forgotten = next(
        a for a in instance.sandbox.apps.values() if a.client_id == stored["client_id"]
    )
    del instance.sandbox.apps[forgotten.id]
    code, _, err = await init(instance, home, "--force")
    assert code == 0, err
    again = json.loads((home.state_dir / "oauth-apps.json").read_text())[instance.url]
    assert again["client_id"] != stored["client_id"]


async def test_v1_instance_fallback_and_scopes(instance: RunningSandbox, home: Home) -> None:
    instance.sandbox.faults.add("/api/v2/instance", "status", status=404, body={"error": "nope"})
    code, out, err = await init(instance, home, "--scopes", "read write")
    assert code == 0, err
    assert "scope=read%20write" in out
    assert "Web Push needs the push scope" in err
    assert "Web Push key: not announced" in err  # /api/v1/instance has none


async def test_push_settings_are_written(instance: RunningSandbox, home: Home) -> None:
    proc = await start(
        "init", instance.url, "--ngrok", env={**home.env, "NGROK_AUTHTOKEN": "ngrok-secret-1"}
    )
    assert proc.stdout is not None
    url = (await asyncio.wait_for(proc.stdout.readline(), BOUND)).decode().strip()
    code = await approve(instance, url)
    out, err = await asyncio.wait_for(proc.communicate(f"{code}\n".encode()), BOUND)
    assert proc.returncode == 0, err
    assert "Web Push through an ngrok tunnel" in err.decode()
    config = yaml.safe_load(home.config.read_text())
    ngrok_file = Path(config["ngrok"]["auth_token_file"])
    assert ngrok_file.read_text() == "ngrok-secret-1\n"
    assert stat.S_IMODE(ngrok_file.stat().st_mode) == 0o600
    assert "ngrok-secret-1" not in home.config.read_text() + out.decode() + err.decode()
    code_, _, err_ = await run("check-config", "--config", str(home.config), env=home.env)
    assert (code_, err_) == (0, "")


async def test_a_token_lacking_a_scope_is_refused_and_revoked(
    instance: RunningSandbox, home: Home
) -> None:
    code, _, err = await init(instance, home, approve_with={"scope": "read write"})
    assert code == 1
    assert last_line(err) == (
        "mastod init: the token lacks the scope push (granted: read write); approve every "
        "requested scope, or ask for fewer with --scopes"
    )
    assert not home.config.exists()
    users = [t for t in instance.sandbox.tokens.values() if t.scope == "read write"]
    assert users == []  # revoked


async def test_a_wrong_code(instance: RunningSandbox, home: Home) -> None:
    proc = await start("init", instance.url, env=home.env)
    assert proc.stdout is not None
    await asyncio.wait_for(proc.stdout.readline(), BOUND)
    _, err = await asyncio.wait_for(proc.communicate(b"not-the-code\n"), BOUND)
    assert proc.returncode == 1
    assert last_line(err.decode()) == (
        f"mastod init: {instance.url.split('://')[1]} did not accept that code (wrong, "
        "expired or already used); run mastod init again for a new one"
    )
    assert not home.config.exists()


async def test_one_line_errors(instance: RunningSandbox, home: Home) -> None:
    async def not_mastodon(request: web.Request) -> web.Response:
        return web.Response(text="<html>a blog</html>", content_type="text/html")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", not_mastodon)
    runner, blog, _ = await serve(app)
    try:
        _, _, err = await run("init", blog, env=home.env)
    finally:
        await runner.cleanup()
    host = blog.split("://")[1]
    assert err == (
        f"mastod init: {host} is not a Mastodon API server (no /api/v2/instance or "
        "/api/v1/instance)\n"
    )
    _, _, err = await run("init", "https://mastodon.invalid", env=home.env)
    assert err == "mastod init: cannot resolve mastodon.invalid\n"
    closed = f"http://127.0.0.1:{free_port()}"
    _, _, err = await run("init", closed, env=home.env)
    assert err == f"mastod init: cannot connect to {closed[7:]}: Connection refused\n"

    instance.sandbox.faults.add(
        "/api/v1/apps", "status", status=422, body={"error": "Validation failed: closed"}
    )
    code, out, err = await run("init", instance.url, env=home.env)
    assert code == 1
    assert out == ""
    assert last_line(err) == (
        f"mastod init: {instance.url[7:]} refused to register the app "
        "(HTTP 422: Validation failed: closed)"
    )
    assert not home.config.exists()


def test_root_gets_the_paths_of_the_systemd_units(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    main = SetupLayout.for_user(None, env={})
    assert (main.config, main.token_file, main.state_dir, main.socket) == (
        Path("/etc/mastod/mastod.yaml"),
        Path("/etc/mastod/access-token"),
        Path("/var/lib/mastod"),
        Path("/run/mastod/mastod.sock"),
    )
    # a profile, as the template unit mastod@work expects it
    work = SetupLayout.for_user(Path("/etc/mastod/work.yaml"), env={})
    assert (work.token_file, work.state_dir, work.socket) == (
        Path("/etc/mastod/work.access-token"),
        Path("/var/lib/mastod/work"),
        Path("/run/mastod/work.sock"),
    )
    text = work.config_text("https://m.example", ngrok=True, public_url=None, account="@a@m")
    document = yaml.safe_load(text)
    assert document["mastodon"]["access_token_file"] == "/etc/mastod/work.access-token"
    assert document["ngrok"]["auth_token_file"] == "/etc/mastod/work.ngrok-auth-token"


async def test_prompts_only_at_a_terminal(instance: RunningSandbox, home: Home) -> None:
    """At a terminal, init asks for the instance and the code on stderr; stdout stays the
    URL and the account."""
    controller, terminal = pty.openpty()
    try:
        proc = await asyncio.create_subprocess_exec(
            *user_prefix(), sys.executable, "-m", "mastod", "init",
            stdin=terminal, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env=home.env,
        )  # fmt: skip
        os.close(terminal)
        assert proc.stdout is not None
        assert proc.stderr is not None
        prompt = await asyncio.wait_for(proc.stderr.readuntil(b": "), BOUND)
        assert prompt == b"Instance (e.g. mastodon.social): "
        os.write(controller, instance.url.encode() + b"\n")
        url = (await asyncio.wait_for(proc.stdout.readline(), BOUND)).decode().strip()
        os.write(controller, (await approve(instance, url)).encode() + b"\n")
        out, err = await asyncio.wait_for(proc.communicate(), BOUND)
    finally:
        os.close(controller)
    assert proc.returncode == 0, err
    assert "paste the code shown: " in err.decode()
    assert out.decode().startswith("@alice@")


async def test_a_redirected_instance_url_is_followed(instance: RunningSandbox, home: Home) -> None:
    """`http://` moved to `https://` (here: one loopback port moved to another): everything
    after the instance check goes where the answer came from, and the config says so."""

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPMovedPermanently(f"{instance.url}{request.path_qs}")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", moved)
    runner, old_url, _ = await serve(app)
    try:
        proc = await start("init", old_url, env=home.env)
        assert proc.stdout is not None
        url = (await asyncio.wait_for(proc.stdout.readline(), BOUND)).decode().strip()
        assert url.startswith(f"{instance.url}/oauth/authorize?")
        code = await approve(instance, url)
        _, err = await asyncio.wait_for(proc.communicate(f"{code}\n".encode()), BOUND)
    finally:
        await runner.cleanup()
    assert proc.returncode == 0, err
    assert yaml.safe_load(home.config.read_text())["mastodon"]["base_url"] == instance.url
