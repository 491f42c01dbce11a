"""Marks Mastodon actions and collects them. The marker does not wrap: the function stays as
written, so its signature and docstring are the RPC contract (`mastod.rpc` builds dispatch
and `rpc.discover` from them).

An action is `async def name(api: Api, <reference params>) -> <result>` with a one-line
imperative docstring. The per-call `base_url`/`access_token` overrides are added by the RPC
layer, which chooses the `Api` the action receives.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

ActionFn = Callable[..., Coroutine[Any, Any, Any]]
F = TypeVar("F", bound=ActionFn)

_MARK = "__mastod_action__"

Id = str | int
"""Mastodon ids are opaque strings; integers are accepted and sent as their decimal text."""

File = str | dict[str, Any]
"""A file parameter: inline `{"data": "<base64>", "filename": ..., "mime_type"?: ...}`, or the
absolute path of a file inside `media.upload_dirs` (see `mastod.mastodon.uploads`)."""


def action(fn: F) -> F:
    """Mark `fn` as a Mastodon action."""
    setattr(fn, _MARK, True)
    return fn


def collect() -> list[ActionFn]:
    """Every marked action in the modules of `mastod.actions`, sorted by name."""
    package = importlib.import_module("mastod.actions")
    found: dict[str, ActionFn] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"mastod.actions.{info.name}")
        for value in vars(module).values():
            if callable(value) and getattr(value, _MARK, False):
                found[value.__name__] = value
    return [found[name] for name in sorted(found)]
