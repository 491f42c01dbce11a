"""The daemon's own methods: `status` and `rpc.discover`."""

from __future__ import annotations

from typing import Any, Protocol

from mastod.rpc import openrpc
from mastod.rpc.registry import Registry


class StatusSource(Protocol):
    def status(self) -> dict[str, Any]: ...


def register_builtins(registry: Registry, state: StatusSource) -> None:
    async def status() -> dict[str, Any]:
        """Report the daemon's version, account, listeners, notification source and subscribers."""
        return state.status()

    async def discover() -> dict[str, Any]:
        """Describe every method as an OpenRPC document."""
        return openrpc.document(registry)

    registry.add(status, name="status")
    registry.add(discover, name="rpc.discover")
