"""What-if patches: each simulates one proposed change to mastod, in the daemon's process, so
that `python -m bench.whatif` can measure its gain end to end before anyone edits mastod/.

    python -m bench.patches --apply single_encode,decode_renames -- serve --config PATH

applies the named patches, then runs `mastod.cli.main` with the rest of the arguments. A
patch replaces a module attribute or method that the current code looks up at call time; if
the code has moved on and that attribute is gone, the patch raises PatchFailed and the
daemon does not start (the what-if reports the variant as not applicable).

These are measuring devices, not the fixes: they skip what a real change must keep (e.g.
`single_encode` leaves out the fallback for an unserialisable result, which costs nothing
on the measured path). bench/README.md says what each real change is.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from types import ModuleType
from typing import Any


class PatchFailed(RuntimeError):
    pass


# direct_dispatch keeps the adapter's result check unless single_encode removes it, so that
# each patch measures one change.
_CHECK_RESULT_ENCODES = True


def _module(name: str) -> Any:
    """The module, typed loosely: patches replace its attributes."""
    return importlib.import_module(name)


def _need(module: ModuleType, *names: str) -> None:
    missing = [n for n in names if not hasattr(module, n)]
    if missing:
        raise PatchFailed(f"{module.__name__} has no {', '.join(missing)}: the code changed")


def single_encode() -> None:
    """Encode the result once (in the reply) instead of also in `_adapter` to check it."""
    global _CHECK_RESULT_ENCODES
    _CHECK_RESULT_ENCODES = False
    d = _module("mastod.rpc.dispatch")
    _need(d, "_adapter", "errors", "JsonRpcError", "Success", "_nodata", "log")

    def _adapter(method: Any) -> Callable[..., Awaitable[Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            bound = method.signature.bind(*args, **kwargs)
            try:
                method.check(bound)
                result = await method.fn(*bound.args, **bound.kwargs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                error = d.errors.from_exception(exc)
                if error is None:
                    d.log.exception("rpc.internal_error", method=method.name)
                    error = d.errors.RpcError(d.errors.INTERNAL_ERROR, d.errors.INTERNAL_ERROR_TEXT)
                raise d.JsonRpcError(error.code, error.message, d._nodata(error.data)) from None
            return d.Success(result)

        call.__signature__ = method.signature  # type: ignore[attr-defined]
        call.__name__ = method.name
        return call

    d._adapter = _adapter


def decode_renames() -> None:
    """Do the Status renames in the JSON decoder's object_hook instead of a second walk."""
    c = _module("mastod.mastodon.client")
    r = _module("mastod.mastodon.responses")
    sh = _module("mastod.mastodon.shaping")
    _need(c, "decode", "shape")
    _need(sh, "STATUS_RENAMES")
    renames: dict[str, str] = sh.STATUS_RENAMES

    def hook(obj: dict[str, Any]) -> dict[str, Any]:
        if "account" in obj and "content" in obj:
            return {renames.get(k, k): v for k, v in obj.items()}
        return obj

    decoder = json.JSONDecoder(object_hook=hook)

    def decode(status: int, content_type: str, body: bytes) -> Any:
        if not body.strip():
            return None
        try:
            return decoder.decode(body.decode("utf-8"))
        except ValueError:
            return r.decode(status, content_type, body)  # raises the typed error

    c.decode = decode
    c.shape = lambda data: None if data == {} else data


def direct_dispatch() -> None:
    """Answer a request without jsonrpcserver: look the method up, bind once, check, call."""
    d = _module("mastod.rpc.dispatch")
    _need(d, "Dispatcher", "_request_problem", "_invalid", "error_frame", "current_peer", "errors")
    _need(d, "log")
    errors = d.errors

    async def call(self: Any, request: Any, peer: Any) -> dict[str, Any] | None:
        problem = d._request_problem(request)
        if problem is not None:
            id_ = request.get("id") if isinstance(request, dict) else None
            valid_id = isinstance(id_, str | int | float) and not isinstance(id_, bool)
            return d.error_frame(d._invalid(problem), id_ if valid_id else None)  # type: ignore[no-any-return]
        started = time.perf_counter()
        d.current_peer.set(peer)
        name, id_ = request["method"], request.get("id")
        method = self.registry.get(name)
        response: dict[str, Any]
        if method is None:
            error = errors.RpcError(errors.METHOD_NOT_FOUND, f"Method not found: {name[:100]}")
            response = d.error_frame(error, id_)
        else:
            params = request.get("params", [])
            try:
                bound = (
                    method.signature.bind(*params)
                    if isinstance(params, list)
                    else method.signature.bind(**params)
                )
            except TypeError as exc:
                error = errors.RpcError(errors.INVALID_PARAMS, f"Invalid params: {exc}")
                response = d.error_frame(error, id_)
            else:
                try:
                    method.check(bound)
                    result = await method.fn(*bound.args, **bound.kwargs)
                    if _CHECK_RESULT_ENCODES:
                        d.encode(result)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    error = errors.from_exception(exc)
                    if error is None:
                        d.log.exception("rpc.internal_error", method=method.name)
                        error = errors.RpcError(errors.INTERNAL_ERROR, errors.INTERNAL_ERROR_TEXT)
                    response = d.error_frame(error, id_)
                else:
                    response = {"jsonrpc": "2.0", "result": result, "id": id_}
        outcome = "ok" if "result" in response else response["error"]["code"]
        d.log.info(
            "rpc.call",
            method=name[:100],
            transport=peer.transport,
            ms=round((time.perf_counter() - started) * 1000, 2),
            outcome=outcome,
        )
        return None if "id" not in request else response

    d.Dispatcher.call = call


def lean_get_session() -> None:
    """No aiohttp trace hooks on the session (the real change: a second session without them
    for GET/PUT/DELETE, sharing the connector; POST keeps the stale-connection signal)."""
    c = _module("mastod.mastodon.client")
    _need(c, "MastodonClient")
    original = c.MastodonClient._new_session

    def _new_session(self: Any) -> Any:
        session = original(self)
        session._trace_configs = []
        return session

    c.MastodonClient._new_session = _new_session


class _Guarded:
    """`info` is skipped when the stdlib logger would drop it anyway."""

    def __init__(self, inner: Any, name: str) -> None:
        self._inner = inner
        self._std = logging.getLogger(name)

    def info(self, *args: Any, **kwargs: Any) -> None:
        if self._std.isEnabledFor(logging.INFO):
            self._inner.info(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def log_guard() -> None:
    """Check the level before building a per-call log event (rpc.call, mastodon.request)."""
    for name in ("mastod.rpc.dispatch", "mastod.mastodon.transport"):
        module = _module(name)
        _need(module, "log")
        module.log = _Guarded(module.log, name)


def use_orjson() -> None:
    """orjson for the frame decode, the reply encode and the upstream body decode."""
    import orjson

    d = _module("mastod.rpc.dispatch")
    c = _module("mastod.mastodon.client")
    r = _module("mastod.mastodon.responses")
    sh = _module("mastod.mastodon.shaping")
    _need(d, "encode", "json")
    _need(c, "decode", "shape")
    renames: dict[str, str] = sh.STATUS_RENAMES

    def encode(obj: Any) -> str:
        return orjson.dumps(obj).decode()

    class _Json:
        @staticmethod
        def loads(text: str | bytes, **_: Any) -> Any:
            return orjson.loads(text)

        dumps = staticmethod(json.dumps)

    def walk(value: Any) -> Any:
        if type(value) is list:
            for item in value:
                if type(item) in (dict, list):
                    walk(item)
        elif type(value) is dict:
            for item in value.values():
                if type(item) in (dict, list):
                    walk(item)
            if "account" in value and "content" in value:
                for old, new in renames.items():
                    if old in value:
                        value[new] = value.pop(old)
        return value

    def decode(status: int, content_type: str, body: bytes) -> Any:
        if not body.strip():
            return None
        try:
            return walk(orjson.loads(body))
        except orjson.JSONDecodeError:
            return r.decode(status, content_type, body)

    d.encode = encode
    d.json = _Json
    for name in ("mastod.rpc.unix", "mastod.rpc.http"):
        module = _module(name)
        if hasattr(module, "encode"):
            module.encode = encode
    c.decode = decode
    c.shape = lambda data: None if data == {} else data


def use_uvloop() -> None:
    import uvloop

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


PATCHES: dict[str, Callable[[], None]] = {
    "single_encode": single_encode,
    "decode_renames": decode_renames,
    "direct_dispatch": direct_dispatch,
    "lean_get_session": lean_get_session,
    "log_guard": log_guard,
    "orjson": use_orjson,
    "uvloop": use_uvloop,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ours, rest = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :])
        if "--" in argv
        else (
            argv,
            [],
        )
    )
    parser = argparse.ArgumentParser(prog="python -m bench.patches")
    parser.add_argument("--apply", default="", help="comma-separated: " + ", ".join(PATCHES))
    args = parser.parse_args(ours)
    for name in filter(None, args.apply.split(",")):
        try:
            PATCHES[name]()
        except (PatchFailed, ImportError, KeyError) as exc:
            print(f"bench.patches: {name}: {exc}", file=sys.stderr)
            return 3
    from mastod.cli import main as mastod_main

    return mastod_main(rest)


if __name__ == "__main__":
    sys.exit(main())
