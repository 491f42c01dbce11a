"""Composition and lifecycle of the daemon.

`build` wires config -> request core -> actions -> registry -> dispatcher -> listeners, with
every resource as one aiohttp cleanup context in dependency order (cleanup runs iff startup
ran, in reverse). `serve` runs it until SIGTERM/SIGINT: stop accepting, let in-flight calls
finish (bounded), then clean up, telling systemd each step.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mastod import __version__
from mastod.actions._registry import collect
from mastod.actions.pagination import paginate
from mastod.config import Config
from mastod.logs import get_logger
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.errors import MastodonError
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.sources import Sources
from mastod.notify.store import NotificationStore
from mastod.rpc.actions import register_actions, register_paginate
from mastod.rpc.builtins import register_builtins
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.execute import register_execute
from mastod.rpc.http import create_rpc_app
from mastod.rpc.registry import Registry
from mastod.rpc.subscriptions import events_handler, register_subscriptions
from mastod.rpc.unix import UnixServer
from mastod.systemd import Notifier, listen_fds, watchdog_interval, watchdog_loop
from mastod.tasks import TaskSet

log = get_logger(__name__)


@dataclass
class DaemonState:
    """What `status` and `/health` report. Never holds a secret."""

    config: Config
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    account: dict[str, Any] | None = None
    account_error: str | None = None
    listeners: dict[str, str] = field(default_factory=dict)
    subscribers: Callable[[], int] = lambda: 0
    notifications: Callable[[], dict[str, Any]] | None = None
    mqtt: Callable[[], dict[str, Any]] | None = None  # the MQTT bridge's link, when configured

    def health(self) -> dict[str, Any]:
        return {
            "status": "ok" if self.ready else "starting",
            "version": __version__,
            "uptime_s": round(time.monotonic() - self.started, 1),
        }

    def status(self) -> dict[str, Any]:
        account = None
        notifications = self.notifications() if self.notifications else {"source": "none"}
        if self.account is not None:
            account = {k: self.account.get(k) for k in ("id", "username", "acct", "url")}
        return {
            **self.health(),
            "instance": self.config.mastodon.base_url,
            "account": account,
            "account_error": self.account_error,
            "listeners": dict(self.listeners),
            "notifications": notifications,
            "subscribers": self.subscribers(),
            **({"mqtt": self.mqtt()} if self.mqtt is not None else {}),
        }


@dataclass
class Daemon:
    app: web.Application
    state: DaemonState
    unix: UnixServer | None
    tasks: TaskSet


def build(config: Config, *, rpc_token: str | None) -> Daemon:
    state = DaemonState(config)
    tasks = TaskSet("rpc")
    client = MastodonClient(config.mastodon)
    registry = Registry()
    register_actions(registry, collect(), client)
    register_paginate(registry, paginate, client)
    register_builtins(registry, state)
    store = NotificationStore(config.state_dir)
    hub = Hub(store, queue_size=config.notifications.queue_size)
    intake = Intake(store, hub, types=config.notifications.types)
    sources = Sources(config, client, store, intake)
    register_subscriptions(registry, hub)
    state.subscribers = lambda: hub.subscriber_count
    state.notifications = sources.state
    dispatcher = Dispatcher(registry)
    rpc = config.rpc
    app = create_rpc_app(
        dispatcher,
        token=rpc_token if rpc.require_token else None,
        allowed_hosts=(*rpc.allowed_hosts, *([rpc.http.host] if rpc.http else [])),
        max_frame_bytes=rpc.max_frame_bytes,
        tasks=tasks,
        health=state.health,
        events=events_handler(hub),
    )
    register_execute(
        app,
        dispatcher,
        rpc_token if rpc.require_token else None,
        allowed_hosts=(*rpc.allowed_hosts, *([rpc.http.host] if rpc.http else [])),
    )
    unix = None
    if rpc.unix_socket is not None:
        unix = UnixServer(
            rpc.unix_socket, dispatcher, max_frame_bytes=rpc.max_frame_bytes, tasks=tasks
        )

    async def client_ctx(_: web.Application) -> AsyncIterator[None]:
        await client.start()
        yield
        await client.close()

    async def account_ctx(_: web.Application) -> AsyncIterator[None]:
        # Not fatal: the daemon serves public endpoints and per-call tokens without it.
        if config.mastodon.access_token:
            try:
                state.account = await client.api().get("/api/v1/accounts/verify_credentials")
            except MastodonError as exc:
                state.account_error = exc.error
                log.warning("account.unverified", error=exc.error, http_status=exc.http_status)
            else:
                log.info("account.verified", acct=(state.account or {}).get("acct"))
        yield

    async def unix_ctx(_: web.Application) -> AsyncIterator[None]:
        assert unix is not None
        inherited = _inherited_unix_socket()
        await unix.start(inherited)
        state.listeners["unix"] = str(unix.path)
        if inherited is not None:
            log.info("unix.socket_activated", path=str(unix.path))
        yield
        await unix.close()

    async def notify_ctx(_: web.Application) -> AsyncIterator[None]:
        await store.start()
        await hub.start()
        yield
        await hub.close()
        await store.close()

    async def sources_ctx(_: web.Application) -> AsyncIterator[None]:
        await sources.start()
        yield
        await sources.close()

    async def tasks_ctx(_: web.Application) -> AsyncIterator[None]:
        yield
        await tasks.cancel()

    app.cleanup_ctx.append(client_ctx)
    app.cleanup_ctx.append(account_ctx)
    app.cleanup_ctx.append(notify_ctx)
    app.cleanup_ctx.append(tasks_ctx)
    if unix is not None:
        app.cleanup_ctx.append(unix_ctx)
    app.cleanup_ctx.append(sources_ctx)
    if config.mqtt is not None:
        from mastod.mqtt.bridge import MqttBridge  # aiomqtt/paho load only when configured

        bridge = MqttBridge.for_daemon(
            config, hub, dispatcher, status=state.status, account=lambda: state.account
        )
        state.mqtt = bridge.state
        app.cleanup_ctx.append(bridge.context)  # last: it starts from what the others set up
    return Daemon(app=app, state=state, unix=unix, tasks=tasks)


def _inherited_unix_socket() -> socket.socket | None:
    """The Unix listener systemd passed (socket activation), if any."""
    for fd in listen_fds():
        sock = socket.socket(fileno=fd)
        if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            sock.setblocking(False)
            return sock
        sock.detach()
    return None


async def serve(config: Config, *, rpc_token: str | None) -> None:
    """Run until SIGTERM or SIGINT."""
    daemon = build(config, rpc_token=rpc_token)
    notifier = Notifier()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    grace = config.rpc.shutdown_grace
    runner = web.AppRunner(daemon.app, handle_signals=False, shutdown_timeout=grace)
    await runner.setup()
    watchdog: asyncio.Task[None] | None = None
    try:
        if config.rpc.http is not None:
            site = web.TCPSite(runner, config.rpc.http.host, config.rpc.http.port)
            await site.start()
            daemon.state.listeners["http"] = site.name
        daemon.state.ready = True
        notifier.ready(f"listening on {', '.join(daemon.state.listeners.values())}")
        log.info("daemon.ready", version=__version__, **daemon.state.listeners)
        interval = watchdog_interval()
        if interval is not None:
            watchdog = asyncio.create_task(watchdog_loop(notifier, interval))
        await stop.wait()
    finally:
        notifier.stopping()
        log.info("daemon.stopping")
        daemon.state.ready = False
        if daemon.unix is not None:
            await daemon.unix.stop_accepting()
        cancelled = await daemon.tasks.drain(grace)
        if cancelled:
            log.warning("daemon.calls_cancelled", count=cancelled)
        if watchdog is not None:
            watchdog.cancel()
        await runner.cleanup()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        log.info("daemon.stopped")
