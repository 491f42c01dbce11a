"""PushService end to end on loopback: fake Mastodon, real listener, pywebpush as the sender."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from mastod.config import Config, MastodonConfig, NgrokConfig, WebhookConfig
from mastod.mastodon.client import Api
from mastod.push.decrypt import PushPayload
from mastod.push.errors import PushSetupError
from mastod.push.keys import load_or_create
from mastod.push.service import PushService
from mastod.tasks import TaskSet
from tests.push.conftest import API_TOKEN, PAYLOAD_TOKEN, PUBLIC_URL, Instance, mastodon_payload
from tests.push.fakes import FakeMastodon, FakeNgrok, FakeTunnel


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def config(
    tmp_path: Path, mastodon: FakeMastodon, port: int, public_url: str | None = PUBLIC_URL
) -> Config:
    return Config(
        mastodon=MastodonConfig(base_url=mastodon.url, access_token=API_TOKEN, max_retries=0),
        webhook=WebhookConfig(
            host="127.0.0.1", port=port, public_url=public_url, unsubscribe_on_exit=True
        ),
        ngrok=NgrokConfig(auth_token="ngrok-token-for-the-service-test"),
        state_dir=tmp_path / "state",
    )


async def until(condition: object, limit: float = 5.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.01)


async def test_start_push_close(
    tmp_path: Path, mastodon: FakeMastodon, api: Api, instance: Instance, tasks: TaskSet
) -> None:
    port = free_port()
    received: list[PushPayload] = []

    async def on_push(payload: PushPayload) -> None:
        received.append(payload)

    service = PushService(config(tmp_path, mastodon, port), api, on_push=on_push, tasks=tasks)
    assert service.state()["state"] == "not started"
    await service.start()
    await until(lambda: service.state()["subscription"] == "registered")

    endpoint = service.endpoint(PUBLIC_URL)
    assert mastodon.subscription is not None
    assert mastodon.subscription["endpoint"] == endpoint
    secret = load_or_create(tmp_path / "state").webhook_secret
    assert endpoint == f"{PUBLIC_URL}/push/{secret}"

    # Mastodon would reach us through the reverse proxy; here we go to the listener directly.
    local = endpoint.replace(PUBLIC_URL, f"http://127.0.0.1:{port}")
    keys = load_or_create(tmp_path / "state").keys
    for encoding, notification_id in (("aes128gcm", 10), ("aesgcm", 11)):
        status = await instance.webpush(local, keys, encoding, mastodon_payload(notification_id))
        assert status == 201
    await until(lambda: len(received) == 2)
    assert sorted(p.notification_id for p in received) == ["10", "11"]

    state = service.state()
    assert state == {
        "source": "push",
        "state": "running",
        "listener": f"127.0.0.1:{port}",
        "tunnel": "static",
        "public_url": PUBLIC_URL,
        "subscription": "registered",
        "subscription_id": "1",
        "standard": True,
        "pushes": {"accepted": 2, "rejected": 0, "replayed": 0, "clock_skewed": 0},
        "clock_skew_s": None,
        "connections": {"refused": 0, "timed_out": 0},
    }
    text = json.dumps(state)
    assert secret not in text
    assert PAYLOAD_TOKEN not in text

    await service.close()
    assert mastodon.seen[-1].method == "DELETE"  # webhook.unsubscribe_on_exit
    assert mastodon.subscription is None
    assert service.state()["state"] == "stopped"
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as session, session.post(local, data=b"x"):
            pass


async def test_a_new_tunnel_url_registers_a_new_endpoint(
    tmp_path: Path,
    mastodon: FakeMastodon,
    api: Api,
    tasks: TaskSet,
    fake_ngrok: FakeNgrok,
) -> None:
    async def on_push(payload: PushPayload) -> None:
        raise AssertionError("no push in this test")

    service = PushService(
        config(tmp_path, mastodon, free_port(), public_url=None),
        api,
        on_push=on_push,
        tasks=tasks,
        tunnel_check_interval=60.0,
    )
    await service.start()
    await until(lambda: mastodon.count("POST") == 1)
    assert mastodon.subscription is not None
    first = "https://a1b2.ngrok-free.app"
    assert mastodon.subscription["endpoint"] == service.endpoint(first)
    assert service.state()["public_url"] == first

    fake_ngrok.tunnels = [FakeTunnel("https://f00d.ngrok-free.app")]
    assert await service.tunnel.check()
    await until(lambda: mastodon.count("POST") == 2)
    assert mastodon.subscription["endpoint"] == service.endpoint("https://f00d.ngrok-free.app")
    await service.close()
    assert len(fake_ngrok.named("kill")) == 1


async def test_an_unusable_listener_address_is_a_setup_error(
    tmp_path: Path, mastodon: FakeMastodon, api: Api, tasks: TaskSet
) -> None:
    async def on_push(payload: PushPayload) -> None:
        raise AssertionError("unreachable")

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        service = PushService(config(tmp_path, mastodon, port), api, on_push=on_push, tasks=tasks)
        with pytest.raises(PushSetupError, match=f"webhook cannot listen on 127.0.0.1:{port}"):
            await service.start()
    assert service.state()["state"].startswith("error: webhook cannot listen")
    assert mastodon.seen == []
    await service.close()


async def test_unsafe_keys_are_a_setup_error(
    tmp_path: Path, mastodon: FakeMastodon, api: Api, tasks: TaskSet
) -> None:
    async def on_push(payload: PushPayload) -> None:
        raise AssertionError("unreachable")

    state = tmp_path / "state"
    load_or_create(state)
    (state / "push-keys.json").chmod(0o644)
    service = PushService(
        config(tmp_path, mastodon, free_port()), api, on_push=on_push, tasks=tasks
    )
    with pytest.raises(PushSetupError, match="chmod 600"):
        await service.start()
    assert service.state()["state"].startswith("error: ")


def test_push_cannot_reach_rpc_even_indirectly() -> None:
    """Importing the whole push side (webhook, tunnel, service) loads nothing of mastod.rpc."""
    code = (
        "import sys, mastod.push.service, mastod.tunnel; "
        "print(sorted(m for m in sys.modules if m.startswith('mastod.rpc')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
