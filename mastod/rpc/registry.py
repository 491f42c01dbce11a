"""The method table: one explicit object that dispatch, `rpc.discover` and the CLI all read.

A method is a plain `async def` with a typed signature and a docstring. The signature is the
contract: the dispatcher binds incoming params against it (once: nothing binds them again),
`params.check` validates the values against its annotations, and `openrpc` publishes it.
"""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mastod.hints import Hint, read_hint
from mastod.rpc import params

MethodFn = Callable[..., Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    annotation: Any
    required: bool
    default: Any
    positional: bool  # may be given by position (else keyword-only)
    hint: Hint  # the annotation, read once (what `check_call` walks)
    description: str = ""


@dataclass(frozen=True, slots=True)
class Method:
    name: str
    fn: MethodFn
    signature: inspect.Signature
    params: tuple[Param, ...]
    result: Any
    summary: str
    description: str
    scope: str | None = None  # the OAuth scope its Mastodon call needs (actions only)
    scope_optional: bool = False  # it also works without a token
    keywords: frozenset[str] = frozenset()  # the parameters that may be given by name
    required: frozenset[str] = frozenset()  # the parameters without a default

    def bind(self, args: Sequence[Any], kwargs: Mapping[str, Any]) -> None:
        """Raise TypeError, in Python's words naming the parameter, unless the call binds to
        `signature`. Params by name that are all known and include every required one always
        bind; `Signature.bind`, slower than all the rest of a call's checks, is left for the
        others (and words the error)."""
        if args or not (kwargs.keys() <= self.keywords and self.required <= kwargs.keys()):
            self.signature.bind(*args, **kwargs)

    def check_call(
        self, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[list[Any], dict[str, Any]]:
        """Validate the values of a call that binds to `signature` (the dispatcher has bound
        it), in signature order; the checked values, as `params.check` returns them."""
        checked = [
            params.check(value, p.hint, p.name) for value, p in zip(args, self.params, strict=False)
        ]
        named = {
            p.name: params.check(kwargs[p.name], p.hint, p.name)
            for p in self.params[len(args) :]
            if p.name in kwargs
        }
        return checked, named


class Registry:
    """Methods by name, with aliases. Built once at start, read-only afterwards."""

    def __init__(self) -> None:
        self._methods: dict[str, Method] = {}
        self._aliases: dict[str, str] = {}

    def add(
        self,
        fn: MethodFn,
        *,
        name: str | None = None,
        signature: inspect.Signature | None = None,
        hints: dict[str, Any] | None = None,
        aliases: Iterable[str] = (),
        docs: Mapping[str, str] | None = None,
        scope: str | None = None,
        scope_optional: bool = False,
    ) -> Method:
        """Register `fn`; `signature`/`hints` describe it when it is an adapter, `docs` its
        parameters by name, `scope` the OAuth scope it needs."""
        method = describe(fn, name=name, signature=signature, hints=hints, docs=docs)
        if scope is not None:
            method = dataclasses.replace(method, scope=scope, scope_optional=scope_optional)
        if method.name in self._methods or method.name in self._aliases:
            raise ValueError(f"duplicate RPC method {method.name!r}")
        self._methods[method.name] = method
        for alias in aliases:
            if alias in self._methods or alias in self._aliases:
                raise ValueError(f"duplicate RPC method {alias!r}")
            self._aliases[alias] = method.name
        return method

    def get(self, name: str) -> Method | None:
        method = self._methods.get(name)
        if method is None and name in self._aliases:
            method = self._methods[self._aliases[name]]
        return method

    def names(self) -> Iterator[str]:
        """Every callable name, aliases included."""
        yield from self._methods
        yield from self._aliases

    def __iter__(self) -> Iterator[Method]:
        return iter(self._methods.values())

    def __len__(self) -> int:
        return len(self._methods)


def describe(
    fn: MethodFn,
    *,
    name: str | None = None,
    signature: inspect.Signature | None = None,
    hints: dict[str, Any] | None = None,
    docs: Mapping[str, str] | None = None,
) -> Method:
    sig = signature or inspect.signature(fn)
    resolved = hints if hints is not None else typing.get_type_hints(fn, include_extras=True)
    plist: list[Param] = []
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(f"{fn.__qualname__}: *args/**kwargs cannot be an RPC contract")
        annotation = resolved.get(p.name, Any)
        params.json_schema(annotation)  # unsupported annotations fail at start, not per call
        plist.append(
            Param(
                name=p.name,
                annotation=annotation,
                required=p.default is p.empty,
                default=None if p.default is p.empty else p.default,
                positional=p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD),
                description=(docs or {}).get(p.name, ""),
                hint=read_hint(annotation),
            )
        )
    doc = inspect.getdoc(fn) or ""
    summary, _, rest = doc.partition("\n")
    return Method(
        name=name or fn.__name__,
        fn=fn,
        signature=sig,
        params=tuple(plist),
        keywords=frozenset(p.name for p in sig.parameters.values() if p.kind != p.POSITIONAL_ONLY),
        required=frozenset(p.name for p in plist if p.required),
        result=resolved.get("return", Any),
        summary=summary.strip(),
        description=rest.strip(),
    )
