"""Expose Mastodon actions as RPC methods.

An action is `async def name(api, <params>)`. Its RPC signature is its own minus `api`, plus
the reference's per-call overrides `base_url` and `access_token` (keyword-only, optional),
which choose the `Api` the action receives. Each action is callable as `name` and as
`mastodon.name` (the original plugin's spelling).
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Iterable
from typing import Any, Protocol

from mastod.actions._registry import ActionFn
from mastod.logs import secret_registered
from mastod.rpc.params import InvalidParams, check
from mastod.rpc.registry import Registry

_OVERRIDES = (
    inspect.Parameter("base_url", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("access_token", inspect.Parameter.KEYWORD_ONLY, default=None),
)


class ApiProvider(Protocol):
    def api(self, base_url: str | None = None, access_token: str | None = None) -> Any: ...


def register_actions(
    registry: Registry, actions: Iterable[ActionFn], client: ApiProvider, *, aliases: bool = True
) -> None:
    for fn in actions:
        signature = inspect.signature(fn)
        own = list(signature.parameters.values())
        if not own or own[0].name != "api":
            raise TypeError(f"action {fn.__name__} must take `api` as its first parameter")
        hints = {k: v for k, v in typing.get_type_hints(fn).items() if k != "api"}
        hints.update(base_url=str | None, access_token=str | None)
        registry.add(
            _bind(fn, client),
            name=fn.__name__,
            signature=signature.replace(parameters=[*own[1:], *_OVERRIDES]),
            hints=hints,
            aliases=[f"mastodon.{fn.__name__}"] if aliases else [],
        )


def register_paginate(registry: Registry, paginate: ActionFn, client: ApiProvider) -> None:
    """Expose `paginate` like an action; the `params` it passes on to the named list method
    are checked against that method's own signature first, as a direct call would be."""

    async def checked(
        api: Any, method: str, params: dict[str, Any] | None = None, *args: Any, **kwargs: Any
    ) -> Any:
        target = registry.get(method)
        if target is not None and params:
            try:
                bound = target.signature.bind_partial(**params)
            except TypeError as exc:
                raise InvalidParams(f"params: {exc}") from None
            for name, value in bound.arguments.items():
                annotation = next(p.annotation for p in target.params if p.name == name)
                check(value, annotation, f"params.{name}")
        return await paginate(api, method, params, *args, **kwargs)

    functools.update_wrapper(checked, paginate)
    register_actions(registry, [checked], client, aliases=False)


def _bind(fn: ActionFn, client: ApiProvider) -> ActionFn:
    @functools.wraps(fn)
    async def call(
        *args: Any, base_url: str | None = None, access_token: str | None = None, **kwargs: Any
    ) -> Any:
        with secret_registered(access_token):  # masked in every log line while the call runs
            return await fn(client.api(base_url, access_token), *args, **kwargs)

    return call
