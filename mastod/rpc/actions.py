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
from collections.abc import Iterable, Mapping
from typing import Any, Literal, Protocol

from mastod.actions._docs import SCOPES, param_docs
from mastod.actions._registry import ActionFn
from mastod.actions.pagination import MAX_PAGES, PAGINATED
from mastod.redaction import secret_registered
from mastod.rpc.params import InvalidParams, check
from mastod.rpc.registry import Registry

_OVERRIDES = (
    inspect.Parameter("base_url", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("access_token", inspect.Parameter.KEYWORD_ONLY, default=None),
)


class ApiProvider(Protocol):
    def api(self, base_url: str | None = None, access_token: str | None = None) -> Any: ...


def register_actions(
    registry: Registry,
    actions: Iterable[ActionFn],
    client: ApiProvider,
    *,
    aliases: bool = True,
    hint_overrides: Mapping[str, Any] | None = None,
    docs: Mapping[str, str] | None = None,
) -> None:
    for fn in actions:
        signature = inspect.signature(fn)
        own = list(signature.parameters.values())
        if not own or own[0].name != "api":
            raise TypeError(f"action {fn.__name__} must take `api` as its first parameter")
        hints = {
            k: v for k, v in typing.get_type_hints(fn, include_extras=True).items() if k != "api"
        }
        hints.update(base_url=str | None, access_token=str | None, **(hint_overrides or {}))
        scope = SCOPES.get(fn.__name__)
        registry.add(
            _bind(fn, client),
            name=fn.__name__,
            signature=signature.replace(parameters=[*own[1:], *_OVERRIDES]),
            hints=hints,
            aliases=[f"mastodon.{fn.__name__}"] if aliases else [],
            docs={**param_docs(fn.__name__), **(docs or {})},
            scope=scope.name if scope else None,
            scope_optional=scope.optional if scope else False,
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
    names = tuple(sorted(PAGINATED)) + tuple(f"mastodon.{name}" for name in sorted(PAGINATED))
    docs = {
        "method": "The list method to page through (its `mastodon.` alias works too).",
        "params": "Its parameters, by name (path ones such as `account_id` on every call).",
        "pages": f"How many pages to fetch, 1 to {MAX_PAGES} (default: 1).",
        "direction": "`next`: older items; `prev`: newer items.",
        "cursor": "A `next` or `prev` object of an earlier call, to go on from there.",
    }
    register_actions(
        registry,
        [checked],
        client,
        aliases=False,
        hint_overrides={"method": Literal.__getitem__(names)},
        docs=docs,
    )


def _bind(fn: ActionFn, client: ApiProvider) -> ActionFn:
    @functools.wraps(fn)
    async def call(
        *args: Any, base_url: str | None = None, access_token: str | None = None, **kwargs: Any
    ) -> Any:
        api = client.api(base_url, access_token)
        if access_token is None:
            return await fn(api, *args, **kwargs)
        with secret_registered(access_token):  # masked in every log line while the call runs
            return await fn(api, *args, **kwargs)

    return call
