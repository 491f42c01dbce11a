"""The tunnel at pyngrok's boundary: `pyngrok.ngrok` functions replaced by a recording fake_ngrok.

ngrok itself is never started (pyngrok would download its binary).
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import structlog
import yaml
from pyngrok import conf
from pyngrok.exception import PyngrokNgrokError

from mastod.config import NgrokConfig, WebhookConfig
from mastod.redaction import REDACTED, redact_text
from mastod.tasks import TaskSet
from mastod.tunnel import TUNNEL_NAME, Tunnel, local_address
from tests.push.fakes import FakeNgrok, FakeTunnel

NGROK_TOKEN = "ngrok-auth-token-2abcDEFghiJKLmno"


@pytest.fixture
def changes() -> list[str]:
    return []


def tunnel(
    tmp_path: Path, tasks: TaskSet, changes: list[str], public_url: str | None = None
) -> Tunnel:
    async def on_change(url: str) -> None:
        changes.append(url)

    return Tunnel(
        WebhookConfig(host="127.0.0.1", port=8766, public_url=public_url),
        NgrokConfig(auth_token=NGROK_TOKEN, region="eu"),
        tmp_path,
        tasks=tasks,
        check_interval=0.05,
        retry_max=0.1,
        on_url_change=on_change,
    )


async def test_connects_with_config_in_a_thread(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    made = tunnel(tmp_path, tasks, changes)
    assert await made.start() == "https://a1b2.ngrok-free.app"
    [(args, kwargs)] = fake_ngrok.named("connect")
    assert args == ("http://127.0.0.1:8766", "http")
    assert kwargs["name"] == TUNNEL_NAME
    config = kwargs["pyngrok_config"]
    assert isinstance(config, conf.PyngrokConfig)
    assert (config.auth_token, config.region) == (NGROK_TOKEN, "eu")
    # binary and config under state_dir: the unit's ProtectSystem=strict leaves only that
    assert config.ngrok_path == str(tmp_path / "ngrok" / "ngrok")
    assert config.config_path == str(tmp_path / "ngrok" / "ngrok.yml")
    assert all(thread is not threading.main_thread() for thread in fake_ngrok.threads)
    assert made.public_url == "https://a1b2.ngrok-free.app"
    assert made.state == "connected"
    assert changes == ["https://a1b2.ngrok-free.app"]
    assert redact_text(NGROK_TOKEN) == REDACTED
    await made.close()


async def test_a_preinstalled_agent_is_used_from_pyngrok_ngrok_path(
    fake_ngrok: FakeNgrok,
    tmp_path: Path,
    tasks: TaskSet,
    changes: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Machines with no outbound access name an installed agent (README, the unit file)."""
    monkeypatch.setenv("PYNGROK_NGROK_PATH", "/usr/local/bin/ngrok")
    made = tunnel(tmp_path, tasks, changes)
    await made.start()
    [(_, kwargs)] = fake_ngrok.named("connect")
    assert kwargs["pyngrok_config"].ngrok_path == "/usr/local/bin/ngrok"
    assert kwargs["pyngrok_config"].config_path == str(tmp_path / "ngrok" / "ngrok.yml")
    await made.close()


async def test_an_http_url_is_given_as_https(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    fake_ngrok.urls = ["http://c3d4.ngrok.io"]
    made = tunnel(tmp_path, tasks, changes)
    assert await made.start() == "https://c3d4.ngrok.io"
    await made.close()
    assert fake_ngrok.named("disconnect")[0][0][0] == "http://c3d4.ngrok.io"  # as ngrok knows it


async def test_failure_is_state_not_a_crash_and_is_retried(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    fake_ngrok.connect_error = PyngrokNgrokError(
        f"The ngrok process errored on start: authentication failed: token {NGROK_TOKEN}."
    )
    made = tunnel(tmp_path, tasks, changes)
    with structlog.testing.capture_logs() as logs:
        assert await made.start() is None
    assert made.state.startswith("error: The ngrok process errored on start")
    assert NGROK_TOKEN not in made.state
    assert [e["event"] for e in logs] == ["tunnel.failed"]
    assert made.public_url is None
    assert changes == []

    fake_ngrok.connect_error = None  # the watch loop tries again, with backoff
    async with asyncio.timeout(5):
        while made.state != "connected":
            await asyncio.sleep(0.01)
    assert changes == ["https://a1b2.ngrok-free.app"]
    assert len(fake_ngrok.named("connect")) >= 2
    await made.close()


async def test_a_changed_url_is_announced(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    made = tunnel(tmp_path, tasks, changes)
    await made.start()
    fake_ngrok.tunnels = [FakeTunnel("https://e5f6.ngrok-free.app")]  # the agent reconnected
    async with asyncio.timeout(5):
        while len(changes) < 2:
            await asyncio.sleep(0.01)
    assert changes == ["https://a1b2.ngrok-free.app", "https://e5f6.ngrok-free.app"]
    assert made.public_url == "https://e5f6.ngrok-free.app"
    assert len(fake_ngrok.named("connect")) == 1
    await made.close()


async def test_a_vanished_tunnel_is_reopened(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    fake_ngrok.urls.append("https://0a0b.ngrok-free.app")
    made = tunnel(tmp_path, tasks, changes)
    await made.start()
    fake_ngrok.tunnels = []  # the agent restarted without it
    assert await made.check()
    assert changes == ["https://a1b2.ngrok-free.app", "https://0a0b.ngrok-free.app"]
    assert len(fake_ngrok.named("connect")) == 2
    await made.close()


async def test_an_unchanged_url_is_not_announced_again(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    made = tunnel(tmp_path, tasks, changes)
    await made.start()
    assert await made.check()
    assert await made.check()
    assert changes == ["https://a1b2.ngrok-free.app"]
    assert len(fake_ngrok.named("get_tunnels")) >= 2
    assert len(fake_ngrok.named("connect")) == 1
    await made.close()


async def test_public_url_bypasses_ngrok(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    made = tunnel(tmp_path, tasks, changes, public_url="https://hooks.example")
    assert not made.uses_ngrok
    assert await made.start() == "https://hooks.example"
    assert made.state == "static"
    assert await made.check()
    await made.close()
    assert fake_ngrok.calls == []
    assert changes == []
    assert not (tmp_path / "ngrok").exists()


async def test_close_disconnects_and_stops_the_agent_in_a_thread(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    made = tunnel(tmp_path, tasks, changes)
    await made.start()
    await made.close()
    [(args, _)] = fake_ngrok.named("disconnect")
    assert args[0] == "https://a1b2.ngrok-free.app"
    assert isinstance(args[1], conf.PyngrokConfig)
    assert len(fake_ngrok.named("kill")) == 1
    assert fake_ngrok.threads[-1] is not threading.main_thread()
    assert made.state == "closed"
    assert len(tasks) == 0


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", "http://127.0.0.1:8766"),
        ("0.0.0.0", "http://127.0.0.1:8766"),
        ("::", "http://[::1]:8766"),
        ("::1", "http://[::1]:8766"),
        ("localhost", "http://localhost:8766"),
    ],
)
def test_local_address(host: str, expected: str) -> None:
    assert local_address(host, 8766) == expected


async def test_the_agent_keeps_its_api_private_and_inspects_nothing(
    fake_ngrok: FakeNgrok, tmp_path: Path, tasks: TaskSet, changes: list[str]
) -> None:
    """The config pyngrok starts the agent with: its API on a loopback port of the kernel's
    choosing, not the well-known 4040 any local user would try, and no request inspection
    (captured pushes would show the webhook's secret path); the tunnel asks for none too."""
    for _ in range(2):
        made = tunnel(tmp_path, tasks, changes)
        await made.start()
        config = yaml.safe_load((tmp_path / "ngrok" / "ngrok.yml").read_text())
        agent = config["agent"]
        host, port = agent["web_addr"].rsplit(":", 1)
        assert host == "127.0.0.1"
        assert port != "4040"
        assert agent["inspect_db_size"] == -1
        assert str(config["version"]) == "3"
        await made.close()
    for _, kwargs in fake_ngrok.named("connect"):
        assert kwargs["inspect"] is False
