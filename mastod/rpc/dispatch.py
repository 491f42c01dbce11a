"""One dispatch for every transport: a JSON-RPC frame in, a JSON-RPC frame (or nothing) out.

This module parses frames itself (so a batch is answered element by element, as the spec
says), binds a call's params to its method's signature once (`Method.bind`), validates their
values against the annotations, maps every exception through the one error table, makes sure
no exception text reaches a client, and logs one line per call (with the upstream requests the
call made). A call that binds is run here directly, without jsonrpcserver's per-call pipeline
(its Either chain, Request and Response tuples and a bind of its own); a call that cannot run
(no such method, params that do not bind) is answered by jsonrpcserver, whose stock error
`_finish` makes precise.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from jsonrpcserver import dispatch_to_serializable

from mastod.logs import Gathering, get_logger
from mastod.mastodon.uploads import FILE_PARAMS, inline_frame_bytes
from mastod.rpc import errors
from mastod.rpc.peers import Peer, PushPeer, Replying, current_peer
from mastod.rpc.registry import Method, Registry
from mastod.rpc.wire import Frame, FrameTooLarge, decode, encode, error_frame

log = get_logger(__name__)

DEFAULT_MAX_FRAME_BYTES = 1024 * 1024
DEFAULT_MAX_BATCH = 100


_JSONRPC_KEYS = frozenset(("jsonrpc", "method", "params", "id"))


class Dispatcher:
    def __init__(
        self,
        registry: Registry,
        *,
        max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_inline_bytes: int = 0,
    ) -> None:
        """`max_inline_bytes`: the decoded size of inline media a file parameter may carry;
        a single call to a method that takes files may exceed `max_frame_bytes` by its
        base64 length (`frame_limit`), every other frame may not."""
        self.registry = registry
        self.max_frame_bytes = max_frame_bytes
        self.max_batch = max_batch
        # Set when the daemon stops: a call cancelled from then on is answered with an error
        # (rpc/errors.STOPPED_TEXT) instead of leaving its client with a closed connection.
        self.stopping = False
        self._table: dict[str, Callable[..., Any]] = {}  # what jsonrpcserver binds against
        self._takes_files: set[str] = set()
        for name in registry.names():
            method = registry.get(name)
            assert method is not None
            self._table[name] = _signed(method)
            if any(param.name in FILE_PARAMS for param in method.params):
                self._takes_files.add(name)
        extra = inline_frame_bytes(max_inline_bytes) if max_inline_bytes else 0
        self.frame_limit = max_frame_bytes + (extra if self._takes_files else 0)
        """What a transport may read as one frame before handing it to `parse`."""

    def parse(self, frame: bytes | str) -> Frame:
        """Decode one frame. Raises FrameTooLarge for a frame over `max_frame_bytes` that is
        not a single call to a method taking files (or is over `frame_limit`)."""
        size = len(frame)
        if size > self.frame_limit:
            raise FrameTooLarge(self.max_frame_bytes)
        try:
            text = frame.decode("utf-8") if isinstance(frame, bytes) else frame
            doc = decode(text)
        except (ValueError, RecursionError) as exc:
            if size > self.max_frame_bytes:
                raise FrameTooLarge(self.max_frame_bytes) from None
            detail = "invalid UTF-8" if isinstance(exc, UnicodeDecodeError) else "invalid JSON"
            error = errors.RpcError(errors.PARSE_ERROR, f"Parse error: {detail}")
            return Frame(refusal=encode(error_frame(error)))
        if size > self.max_frame_bytes and not (
            isinstance(doc, dict) and doc.get("method") in self._takes_files
        ):
            raise FrameTooLarge(self.max_frame_bytes)
        if isinstance(doc, list):
            if not doc:
                return Frame(refusal=encode(error_frame(_invalid("empty batch"))))
            if len(doc) > self.max_batch:
                reason = f"batch of {len(doc)} calls; at most {self.max_batch} (rpc.max_batch)"
                return Frame(refusal=encode(error_frame(_invalid(reason))))
            return Frame(doc, calls=len(doc))
        return Frame(doc)

    async def answer(self, frame: bytes | str | Frame, peer: PushPeer) -> None:
        """Handle `frame`, send the reply on `peer`, then run what methods deferred with
        `after_reply` (also when sending failed: they see the connection is gone)."""
        with Replying():
            reply = await self.handle(frame, peer)
            if reply is not None:
                await peer.send(reply)

    async def handle(self, frame: bytes | str | Frame, peer: Peer) -> str | None:
        """Answer one frame (a request or a batch); None when nothing is to be sent back.
        Raises FrameTooLarge as `parse` does."""
        parsed = frame if isinstance(frame, Frame) else self.parse(frame)
        if parsed.refusal is not None:
            return parsed.refusal
        doc = parsed.doc
        if isinstance(doc, list):
            calls = [asyncio.ensure_future(self.call(item, peer)) for item in doc]
            try:
                await asyncio.wait(calls)
            except asyncio.CancelledError:
                for call in calls:
                    call.cancel()  # each answers "daemon stopped" when that is why
                await asyncio.wait(calls)
                self._unless_stopping()
            present = [a for call in calls if (a := call.result()) is not None]
            return "[" + ",".join(present) + "]" if present else None
        return await self.call(doc, peer)

    async def call(self, request: Any, peer: Peer) -> str | None:
        """Run one parsed request object; its encoded response, or None for a notification.

        The result is encoded here, once: a result JSON cannot encode (a bug) becomes -32603.
        """
        problem = _request_problem(request)
        if problem is not None:
            id_ = request.get("id") if isinstance(request, dict) else None
            valid_id = isinstance(id_, str | int | float) and not isinstance(id_, bool)
            return encode(error_frame(_invalid(problem), id_ if valid_id else None))
        if not _logging_calls():
            return (await self._serve(request, peer))[0]
        started = time.perf_counter()
        with Gathering() as upstream:
            text, response = await self._serve(request, peer)
        outcome = "ok" if response is None or "result" in response else response["error"]["code"]
        log.info(
            "rpc.call",
            method=request["method"][:100],
            transport=peer.transport,
            ms=round((time.perf_counter() - started) * 1000, 2),
            outcome=outcome,
            **({"upstream": upstream} if upstream else {}),
        )
        return text

    async def _serve(
        self, request: dict[str, Any], peer: Peer
    ) -> tuple[str | None, dict[str, Any] | None]:
        """The encoded response to a valid request object (None for a notification), and
        the response it encodes."""
        current_peer.set(peer)
        response: dict[str, Any] | None
        try:
            response = await self._respond(request)
        except asyncio.CancelledError:
            self._unless_stopping()
            stopped = errors.from_exception(errors.DaemonStopped())
            assert stopped is not None
            response = error_frame(stopped, request["id"]) if "id" in request else None
        if response is None:
            return None, None
        try:
            return encode(response), response
        except (TypeError, ValueError):
            log.exception("rpc.unencodable_result", method=request["method"][:100])
            internal = errors.RpcError(errors.INTERNAL_ERROR, errors.INTERNAL_ERROR_TEXT)
            response = error_frame(internal, response["id"])
            return encode(response), response

    async def _respond(self, request: dict[str, Any]) -> dict[str, Any] | None:
        """The response object to a valid request object; None for a notification."""
        method = self.registry.get(request["method"])
        params = request.get("params", [])
        args, kwargs = (params, {}) if isinstance(params, list) else ([], params)
        try:
            if method is None:
                raise LookupError(request["method"])
            method.bind(args, kwargs)
        except (LookupError, TypeError):
            served = dispatch_to_serializable(
                request, self._table, deserializer=_same, validator=_same
            )
            return _finish(served, self.registry, request) if isinstance(served, dict) else None
        try:
            checked, named = method.check_call(args, kwargs)
            result = await method.fn(*checked, **named)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = _method_error(exc, method.name)
            return error_frame(error, request["id"]) if "id" in request else None
        if "id" not in request:
            return None
        return {"jsonrpc": "2.0", "result": result, "id": request["id"]}

    def _unless_stopping(self) -> None:
        """Re-raise the cancellation being handled, unless the daemon's shutdown sent it: then
        the call is over, but its answer ("daemon stopped") is still to be sent."""
        task = asyncio.current_task()
        if not self.stopping or task is None:
            raise  # bare: always called while handling the CancelledError
        task.uncancel()


def _logging_calls() -> bool:
    """Whether the per-call line would be written: building an event that is then filtered
    out is not free on the hot path."""
    return log.enabled(logging.INFO)


def _same(value: Any) -> Any:
    return value


def _invalid(reason: str) -> errors.RpcError:
    return errors.RpcError(errors.INVALID_REQUEST, f"Invalid request: {reason}")


def _request_problem(request: Any) -> str | None:
    """What makes `request` not a JSON-RPC 2.0 request object, or None."""
    if not isinstance(request, dict):
        return "expected an object"
    if request.get("jsonrpc") != "2.0":
        return '"jsonrpc" must be "2.0"'
    if not isinstance(request.get("method"), str):
        return '"method" must be a string'
    if "params" in request and not isinstance(request["params"], list | dict):
        return '"params" must be an array or an object'
    if "id" in request:
        id_ = request["id"]
        if isinstance(id_, bool) or not isinstance(id_, str | int | float | type(None)):
            return '"id" must be a string, a number or null'
    extra = request.keys() - _JSONRPC_KEYS
    if extra:
        return f"unexpected member {sorted(extra)[0][:50]!r}"
    return None


def _finish(
    response: dict[str, Any], registry: Registry, request: dict[str, Any]
) -> dict[str, Any]:
    """jsonrpcserver's response with its stock errors made precise and safe (with the nearest
    method or parameter name for a near miss)."""
    err = response.get("error")
    if err is None:
        return response
    code, message, data, id_ = err["code"], err["message"], err.get("data"), response["id"]
    if code == errors.INVALID_PARAMS and isinstance(data, str):
        method = registry.get(request["method"])
        known = [p.name for p in method.params] if method is not None else []
        return error_frame(errors.binding_error(data, request.get("params"), known), id_)
    if code == errors.METHOD_NOT_FOUND:
        return error_frame(errors.method_not_found(str(data), registry.names()), id_)
    if code == errors.INTERNAL_ERROR or message == "Server error":
        # jsonrpcserver puts str(exc) here; it never reaches a client.
        code, message, data = errors.INTERNAL_ERROR, errors.INTERNAL_ERROR_TEXT, None
    return error_frame(errors.RpcError(code, message, data), id_)


def _signed(method: Method) -> Callable[..., Any]:
    """What jsonrpcserver binds a call that `Dispatcher._respond` could not run against:
    the method's signature, never run (a call that binds is run by `_respond`)."""

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{method.name}: bound by jsonrpcserver only, never run")

    unreachable.__signature__ = method.signature  # type: ignore[attr-defined]
    unreachable.__name__ = method.name
    return unreachable


def _method_error(exc: Exception, method: str) -> errors.RpcError:
    error = errors.from_exception(exc)
    if error is None:
        log.exception("rpc.internal_error", method=method)
        error = errors.RpcError(errors.INTERNAL_ERROR, errors.INTERNAL_ERROR_TEXT)
    return error
