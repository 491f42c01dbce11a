"""The aiohttp application of the sandbox and a helper that runs it on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import TracebackType

from aiohttp import WSCloseCode, web

from mastod.sandbox.fault_injection import inject_faults
from mastod.sandbox.keys import PUSH_DELIVERY_KEY, RATE_LIMITER_KEY, SANDBOX_KEY
from mastod.sandbox.middleware import errors, record, throttle
from mastod.sandbox.push_delivery import PushDelivery, new_session
from mastod.sandbox.ratelimit import RateLimiter
from mastod.sandbox.routes import (
    accounts,
    admin,
    authorize,
    conversations,
    filters,
    instance,
    lists,
    media,
    notifications,
    oauth,
    push,
    relations,
    saved,
    search,
    status_actions,
    statuses,
    streaming,
    tags,
    timelines,
)
from mastod.sandbox.state import Sandbox

# Modules with literal paths that a `{id}` route would also match come first.
ROUTE_MODULES = (
    accounts, oauth, authorize, relations, statuses, status_actions, timelines, saved, lists,
    filters, tags, notifications, conversations, media, search, instance, push, streaming, admin,
)  # fmt: skip


def create_app(
    sandbox: Sandbox | None = None,
    *,
    rate_limit: int = 300,
    rate_limit_period: float = 300.0,
) -> web.Application:
    """Build the sandbox server; its state is `app[SANDBOX_KEY]` (a new seeded one by default).

    `rate_limit` requests per `rate_limit_period` seconds are allowed per access token (or
    per client address without one) on `/api/*`, Mastodon's `throttle_per_token_api`.
    """
    app = web.Application(middlewares=[record, inject_faults, throttle, errors])
    app[SANDBOX_KEY] = sandbox if sandbox is not None else Sandbox()
    app[RATE_LIMITER_KEY] = RateLimiter(rate_limit, rate_limit_period)
    for module in ROUTE_MODULES:
        app.router.add_routes(module.routes)
    app.cleanup_ctx.append(_notification_hooks)
    app.on_shutdown.append(_close_streams)
    return app


async def _notification_hooks(app: web.Application) -> AsyncIterator[None]:
    """Web Push (through the app's own client session) and streaming hear of every new
    notification while the app runs."""
    sb = app[SANDBOX_KEY]
    async with new_session() as session:
        delivery = app[PUSH_DELIVERY_KEY] = PushDelivery(sb, session)
        hooks = [delivery.on_notification, sb.streams.publish_notification]
        sb.on_notification.extend(hooks)
        try:
            yield
        finally:
            for hook in hooks:
                sb.on_notification.remove(hook)
            await delivery.close()


async def _close_streams(app: web.Application) -> None:
    """Say goodbye to streaming clients, so shutting down need not wait for them."""
    app[SANDBOX_KEY].streams.drop_all(code=WSCloseCode.GOING_AWAY)


class RunningSandbox:
    """A sandbox served on a real socket; `url` is its base URL (`http://127.0.0.1:<port>`)."""

    def __init__(self, runner: web.AppRunner, url: str, sandbox: Sandbox) -> None:
        self._runner = runner
        self.url = url
        self.sandbox = sandbox

    @property
    def push(self) -> PushDelivery:
        """The Web Push sender (`await running.push.settle()` waits for deliveries)."""
        return self._runner.app[PUSH_DELIVERY_KEY]

    async def close(self) -> None:
        await self._runner.cleanup()

    async def __aenter__(self) -> RunningSandbox:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    sandbox: Sandbox | None = None,
    rate_limit: int = 300,
    rate_limit_period: float = 300.0,
) -> RunningSandbox:
    """Serve a sandbox on `host:port` (port 0 picks a free one) until `close()`."""
    app = create_app(sandbox, rate_limit=rate_limit, rate_limit_period=rate_limit_period)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0]
    shown = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    url = f"http://{shown}:{bound[1]}"
    state = app[SANDBOX_KEY]
    state.base_url = url
    return RunningSandbox(runner, url, state)
