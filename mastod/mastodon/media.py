"""Asynchronous media processing: wait until an upload is usable in a status.

`POST /api/v2/media` answers 202 while large media (video, audio, gifv) is still processing,
and `PUT /api/v1/media/:id` may answer 206 the same way. `GET /api/v1/media/:id` then answers
206 until processing is done and 200 after; a failed processing is a 422 (PROTOCOL.md §4.5).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from mastod.mastodon.client import Api, Result
from mastod.mastodon.errors import MediaNotReady, UnexpectedResponse

PROCESSING = frozenset({202, 206})


async def processed(api: Api, result: Result) -> Any:
    """The media attachment of `result`, polled until the server has finished processing it."""
    if result.status not in PROCESSING:
        return result.data
    media_id = result.data.get("id") if isinstance(result.data, dict) else None
    if not isinstance(media_id, str | int):
        raise UnexpectedResponse("The server accepted the media but sent no id to follow it by")
    timeout, interval = api.config.media_poll_timeout, api.config.media_poll_interval
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        await asyncio.sleep(min(interval, remaining))
        polled = await api.request("GET", "/api/v1/media/{media_id}", {"media_id": media_id})
        if polled.status not in PROCESSING:
            return polled.data
    raise MediaNotReady(
        f"Media {media_id} was still processing after {timeout:g} s; "
        "it can be attached once the server has finished",
        http_status=result.status,
        details={"media_id": str(media_id)},
    )
