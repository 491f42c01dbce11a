"""Media attachments: upload local files and update their description or thumbnail.

File parameters are inline content or paths inside `media.upload_dirs`
(`mastod.mastodon.uploads`). Large media is
processed asynchronously by Mastodon; both actions return once it is ready to attach.
"""

from __future__ import annotations

from typing import Any

from mastod.actions._registry import File, Id, action
from mastod.mastodon.client import Api
from mastod.mastodon.errors import InvalidParam
from mastod.mastodon.media import processed


@action
async def upload_media(
    api: Api,
    file: File,
    description: str | None = None,
    thumbnail: File | None = None,
    focus: str | None = None,
) -> dict[str, Any]:
    """Upload media that can be used as attachments."""
    files = {"file": file, "thumbnail": thumbnail}
    params = {"description": description, "focus": checked_focus(focus)}
    return await processed(api, await api.request("POST", "/api/v2/media", params, files=files))


@action
async def update_media(
    api: Api,
    media_id: Id,
    file: File | None = None,
    description: str | None = None,
    thumbnail: File | None = None,
    focus: str | None = None,
) -> dict[str, Any]:
    """Update a media attachment's description, focal point or thumbnail."""
    # Mastodon keeps the uploaded file: PUT /api/v1/media/:id takes only description, focus
    # and thumbnail. Sending `file` anyway (as the original plugin did) would be silently
    # ignored, so it is refused with the way out.
    if file is not None:
        raise InvalidParam("file", "Mastodon cannot replace an uploaded file; upload a new one")
    params = {"media_id": media_id, "description": description, "focus": checked_focus(focus)}
    result = await api.request(
        "PUT", "/api/v1/media/{media_id}", params, files={"thumbnail": thumbnail}
    )
    return await processed(api, result)


def checked_focus(focus: str | None) -> str | None:
    """`focus` as Mastodon reads it: "x,y", each from -1.0 to 1.0 (it ignores anything else)."""
    if focus is None:
        return None
    try:
        point = [float(part) for part in focus.split(",")]
    except ValueError:
        point = []
    if len(point) != 2 or not all(-1.0 <= v <= 1.0 for v in point):
        raise InvalidParam("focus", 'must be "x,y" with each from -1.0 to 1.0, e.g. "0.0,0.5"')
    return focus
