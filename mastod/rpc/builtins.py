"""The daemon's own methods: `status` and `rpc.discover`."""

from __future__ import annotations

from typing import Any, Protocol

from mastod.rpc import openrpc
from mastod.rpc.registry import Registry


class StatusSource(Protocol):
    def status(self) -> dict[str, Any]: ...


def register_builtins(registry: Registry, state: StatusSource) -> None:
    async def status() -> dict[str, Any]:
        """Report the daemon's version, account, listeners, notification source and subscribers.

        `status` is `ok`, `starting`, `degraded` (something in `problems` needs attention: a
        refused token, a skewed clock, ...) or `unhealthy` (the notification store fails;
        `/health` answers 503). Beside it: `version`, `uptime_s`, `problems`, `instance`,
        `account` (id, username, acct, url) with `account_state` and `account_error`,
        `instance_clock`, `listeners`, `notifications` (the source and its state), `store`
        (`ok` or what is wrong), `subscribers`, and `mqtt` when the bridge is configured.
        """
        return state.status()

    async def discover() -> dict[str, Any]:
        """Describe every method as an OpenRPC document.

        OpenRPC 1.2: each method's parameters (JSON Schema, defaults, bounds), result, the
        errors it can answer (under `components.errors`), and for actions the OAuth scope
        (`x-scope`); `subscribe` also lists the messages a subscription receives.
        """
        return openrpc.document(registry)

    registry.add(status, name="status")
    registry.add(discover, name="rpc.discover")
