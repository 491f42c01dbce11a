"""The aiohttp application of the sandbox and a helper that runs it on a loopback port."""

from __future__ import annotations

from types import TracebackType

from aiohttp import web

from mastod.sandbox.fault_injection import inject_faults
from mastod.sandbox.keys import RATE_LIMITER_KEY, SANDBOX_KEY
from mastod.sandbox.middleware import errors, record, throttle
from mastod.sandbox.ratelimit import RateLimiter
from mastod.sandbox.routes import (
    accounts,
    admin,
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
    tags,
    timelines,
)
from mastod.sandbox.state import Sandbox

# Modules with literal paths that a `{id}` route would also match come first.
ROUTE_MODULES = (
    accounts, oauth, relations, statuses, status_actions, timelines, saved, lists, filters,
    tags, notifications, conversations, media, search, instance, push, admin,
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
    return app


class RunningSandbox:
    """A sandbox served on a real socket; `url` is its base URL (`http://127.0.0.1:<port>`)."""

    def __init__(self, runner: web.AppRunner, url: str, sandbox: Sandbox) -> None:
        self._runner = runner
        self.url = url
        self.sandbox = sandbox

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
