"""Composition and lifecycle of the daemon.

`build` wires config -> request core -> actions -> registry -> dispatcher -> listeners, with
every resource as one aiohttp cleanup context in dependency order (cleanup runs iff startup
ran, in reverse). `serve` runs it until SIGTERM/SIGINT: READY as soon as the listeners are up
(the account is verified in the background), then on stop: stop accepting, let in-flight calls
finish (bounded; a second signal cuts that short), answer the rest "daemon stopped", clean up,
telling systemd each step. SIGHUP reloads what can change without a restart (`reload`).
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from mastod import __version__
from mastod.account import Account
from mastod.actions._registry import collect
from mastod.actions.pagination import paginate
from mastod.config import Config
from mastod.listeners import GuardedSite
from mastod.logs import get_logger
from mastod.mastodon.client import MastodonClient
from mastod.mastodon.clock import InstanceClock
from mastod.mastodon.uploads import upload_reader
from mastod.notify.hub import Hub
from mastod.notify.intake import Intake
from mastod.notify.sources import Sources
from mastod.notify.store import NotificationStore
from mastod.reload import Reloader
from mastod.rpc.actions import register_actions, register_paginate
from mastod.rpc.builtins import register_builtins
from mastod.rpc.dispatch import Dispatcher
from mastod.rpc.execute import register_execute
from mastod.rpc.http import BEARER, AccessLog, create_rpc_app
from mastod.rpc.registry import Registry
from mastod.rpc.subscriptions import events_handler, register_subscriptions
from mastod.rpc.unix import UnixServer
from mastod.signals import Signals
from mastod.systemd import Notifier, listen_fds, watchdog_interval, watchdog_loop
from mastod.tasks import TaskSet

log = get_logger(__name__)


@dataclass
class DaemonState:
    """What `status` and `/health` report. Never holds a secret."""

    config: Config
    account: Account
    instance_clock: InstanceClock
    started: float = field(default_factory=time.monotonic)
    ready: bool = False
    listeners: dict[str, str] = field(default_factory=dict)
    subscribers: Callable[[], int] = lambda: 0
    notifications: Callable[[], dict[str, Any]] | None = None
    store_problem: Callable[[], str | None] = lambda: None  # the notification store's fault
    # each says what is wrong in a few words, or None: `/health` lists them and says "degraded"
    problems: list[Callable[[], str | None]] = field(default_factory=list)
    mqtt: Callable[[], dict[str, Any]] | None = None  # the MQTT bridge's link, when configured

    def health(self) -> dict[str, Any]:
        problems = [p for p in (check() for check in self.problems) if p is not None]
        store = self.store_problem()
        if store:  # notifications are being lost or cannot be replayed: 503
            problems.append(f"store: {store}")
            status = "unhealthy"
        elif not self.ready:
            status = "starting"
        else:
            status = "degraded" if problems else "ok"
        return {
            "status": status,
            "version": __version__,
            "uptime_s": round(time.monotonic() - self.started, 1),
            "problems": problems,
        }

    def status(self) -> dict[str, Any]:
        notifications = self.notifications() if self.notifications else {"source": "none"}
        return {
            **self.health(),
            "instance": self.config.mastodon.base_url,
            **self.account.status(),
            "instance_clock": self.instance_clock.state(),
            "listeners": dict(self.listeners),
            "notifications": notifications,
            "store": self.store_problem() or "ok",
            "subscribers": self.subscribers(),
            **({"mqtt": self.mqtt()} if self.mqtt is not None else {}),
        }


@dataclass
class Daemon:
    app: web.Application
    state: DaemonState
    unix: UnixServer | None
    tasks: TaskSet
    client: MastodonClient
    dispatcher: Dispatcher


def build(config: Config, *, rpc_token: str | None) -> Daemon:
    tasks = TaskSet("rpc")
    client = MastodonClient(config.mastodon, uploads=upload_reader(config))
    background = TaskSet("account")
    account = Account(client, tasks=background)
    state = DaemonState(config, account, client.clock)
    skew = config.webhook.clock_skew
    state.problems += [lambda: account.problem, lambda: client.clock.problem(skew)]
    registry = Registry()
    register_actions(registry, collect(), client)
    register_paginate(registry, paginate, client)
    register_builtins(registry, state)
    retention = config.notifications.retention
    store = NotificationStore(
        config.state_dir, max_rows=retention.max_rows, max_age=retention.max_age
    )
    hub = Hub(store, queue_size=config.notifications.queue_size)
    intake = Intake(store, hub, types=config.notifications.types)
    sources = Sources(config, client, store, intake)
    register_subscriptions(registry, hub)
    state.subscribers = lambda: hub.subscriber_count
    state.notifications = sources.state
    state.store_problem = lambda: store.problem
    account.on_unauthorized.append(sources.token_refused)
    account.on_verified.append(sources.token_restored)
    rpc = config.rpc
    dispatcher = Dispatcher(
        registry,
        max_frame_bytes=rpc.max_frame_bytes,
        max_batch=rpc.max_batch,
        max_inline_bytes=config.media.max_bytes,
    )
    app = create_rpc_app(
        dispatcher,
        token=rpc_token if rpc.require_token else None,
        allowed_hosts=(*rpc.allowed_hosts, *([rpc.http.host] if rpc.http else [])),
        tasks=tasks,
        health=state.health,
        events=events_handler(hub),
    )
    bearer = app[BEARER]
    register_execute(
        app,
        dispatcher,
        lambda: bearer.token,  # follows a reload (SIGHUP), as the /rpc check does
        allowed_hosts=(*rpc.allowed_hosts, *([rpc.http.host] if rpc.http else [])),
    )
    unix = None
    if rpc.unix_socket is not None:
        unix = UnixServer(rpc.unix_socket, dispatcher, tasks=tasks)

    async def client_ctx(_: web.Application) -> AsyncIterator[None]:
        await client.start()
        yield
        await client.close()

    async def account_ctx(_: web.Application) -> AsyncIterator[None]:
        # In the background: a silent instance must not hold the listeners and READY back,
        # and the daemon serves public endpoints and per-call tokens without the account.
        account.start()
        yield
        await account.stop()

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
            config, hub, dispatcher, status=state.status, account=lambda: state.account.info
        )
        state.mqtt = bridge.state
        app.cleanup_ctx.append(bridge.context)  # last: it starts from what the others set up
    return Daemon(
        app=app, state=state, unix=unix, tasks=tasks, client=client, dispatcher=dispatcher
    )


def _inherited_unix_socket() -> socket.socket | None:
    """The Unix listener systemd passed (socket activation), if any."""
    for fd in listen_fds():
        sock = socket.socket(fileno=fd)
        if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            sock.setblocking(False)
            return sock
        sock.detach()
    return None


async def serve(
    config: Config, *, rpc_token: str | None, reload: Callable[[], Config] | None = None
) -> None:
    """Run until SIGTERM or SIGINT; SIGHUP re-reads the config through `reload`."""
    daemon = build(config, rpc_token=rpc_token)
    notifier = Notifier()
    reloader = Reloader(
        config,
        reload or (lambda: config),
        client=daemon.client,
        account=daemon.state.account,
        bearer=daemon.app[BEARER],
        notifier=notifier,
    )
    grace = config.rpc.shutdown_grace
    runner = web.AppRunner(
        daemon.app, handle_signals=False, shutdown_timeout=grace, access_log_class=AccessLog
    )
    watchdog: asyncio.Task[None] | None = None
    with Signals(reloader) as signals:
        try:
            if await signals.unless_stopped(_start(daemon, runner, config)):
                notifier.ready(f"listening on {', '.join(daemon.state.listeners.values())}")
                log.info("daemon.ready", version=__version__, **daemon.state.listeners)
                steady_collector()
                interval = watchdog_interval()
                if interval is not None:
                    watchdog = asyncio.create_task(watchdog_loop(notifier, interval))
                await signals.stop.wait()
        finally:
            notifier.stopping()
            log.info("daemon.stopping")
            daemon.state.ready = False
            if daemon.unix is not None:
                await daemon.unix.stop_accepting()
            daemon.dispatcher.stopping = True
            cancelled = await daemon.tasks.drain(grace, cut_short=signals.hurry)
            if cancelled:
                log.warning("daemon.calls_cancelled", count=cancelled)
            if watchdog is not None:
                watchdog.cancel()
            await runner.cleanup()
            log.info("daemon.stopped")


# Collections of the youngest generation come after this many new container objects
# (the stdlib's default is 700).
YOUNG_COLLECTION_THRESHOLD = 7000


def steady_collector() -> None:
    """Once started: what the daemon built to start (modules, config, app, pools) lives as long
    as it does and is moved out of the cyclic collector's sight (`gc.freeze`), so a full
    collection no longer walks it; and the youngest generation is collected ten times less
    often. A call allocates hundreds of dicts and lists that reference counting frees; the
    collector is only for cycles, and it was ~5% of the daemon's CPU under load. (What
    start-up left as garbage is collected first: frozen, it would stay.)"""
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])


async def _start(daemon: Daemon, runner: web.AppRunner, config: Config) -> None:
    await runner.setup()
    if config.rpc.http is not None:
        http = config.rpc.http
        site = GuardedSite(
            runner, http.host, http.port, read_timeout=http.read_timeout, label="rpc.http"
        )
        try:
            await site.start()
        except OSError as exc:  # asyncio's own text repeats the address
            reason = os.strerror(exc.errno) if exc.errno and exc.errno > 0 else str(exc)
            where = f"{http.host}:{http.port} (rpc.http)"
            raise RuntimeError(f"cannot listen on {where}: {reason}") from None

        daemon.state.listeners["http"] = site.name
    daemon.state.ready = True
