"""The streaming API on the wire: the URL to connect to, and what a frame says."""

from __future__ import annotations

import json
from typing import Any, Literal

import yarl

from mastod.jsontext import mark_constant, mark_float
from mastod.logs import get_logger

log = get_logger(__name__)

STREAM = "user:notification"

FrameKind = Literal["notification", "notifications_merged", "error", "other"]


def read_frame(text: str) -> tuple[FrameKind, dict[str, Any] | None]:
    """What a streaming frame says: a notification, `notifications_merged`, the server's
    `{"error", "status"}`, or something else (other events, malformed frames: logged)."""
    try:
        message = json.loads(text)
    except ValueError:
        log.warning("streaming.bad_frame", reason="not JSON")
        return "other", None
    if not isinstance(message, dict):
        return "other", None
    if "error" in message:
        return "error", message
    event = message.get("event")
    if event == "notifications_merged":
        return "notifications_merged", None
    if event != "notification":
        return "other", None
    payload = message.get("payload")
    if isinstance(payload, str):  # JSON text inside the JSON frame
        try:
            payload = json.loads(payload, parse_constant=mark_constant, parse_float=mark_float)
        except ValueError:
            log.warning("streaming.bad_frame", reason="payload is not JSON")
            return "other", None
    if not isinstance(payload, dict):
        log.warning("streaming.bad_frame", reason="payload is not an object")
        return "other", None
    return "notification", payload


def streaming_url(streaming: str | None, base_url: str) -> yarl.URL:
    """`<streaming base>/api/v1/streaming?stream=user:notification` as a ws(s) URL.

    Never `ws://` for an instance served over https: the token would travel in clear.
    """
    base = yarl.URL(base_url)
    target = base
    if streaming:
        candidate = yarl.URL(streaming)
        if candidate.scheme in ("ws", "wss", "http", "https") and candidate.host:
            target = candidate
    scheme = {"http": "ws", "https": "wss"}.get(target.scheme, target.scheme)
    if scheme == "ws" and base.scheme == "https":
        scheme = "wss"
    path = target.path.rstrip("/") + "/api/v1/streaming"
    return target.with_scheme(scheme).with_path(path).with_query({"stream": STREAM})
