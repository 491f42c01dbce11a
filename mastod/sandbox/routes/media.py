"""Media uploads (v1 synchronous, v2 asynchronous) and the 206-then-200 processing poll.

A v2 upload of video, audio or GIF (or any upload while `force_async_media` is on) answers
202 with `url: null`; `GET /api/v1/media/:id` then answers 206 `media_processing_polls`
times before the attachment is processed and answers 200.
"""

from __future__ import annotations

from aiohttp import web

from mastod.sandbox import records as r
from mastod.sandbox.auth import Caller, caller
from mastod.sandbox.errors import invalid, not_found, unprocessable
from mastod.sandbox.params import Params
from mastod.sandbox.respond import empty, ok
from mastod.sandbox.views.statuses import media_attachment

routes = web.RouteTableDef()


def media_type(content_type: str) -> str | None:
    if content_type == "image/gif":
        return "gifv"
    kind = content_type.split("/", 1)[0]
    return {"image": "image", "video": "video", "audio": "audio"}.get(kind)


def _describe(m: r.Media, p: Params) -> None:
    description = p.string("description")
    if description is not None:
        if len(description) > 1500:
            raise invalid("Description is too long (maximum is 1500 characters)")
        m.description = description or None
    focus = p.string("focus")
    if focus:
        try:
            x, y = (float(v) for v in focus.split(","))
        except ValueError:
            raise invalid("Focus is invalid") from None
        m.focus = (max(-1.0, min(1.0, x)), max(-1.0, min(1.0, y)))
    thumbnail = p.upload("thumbnail")
    if thumbnail is not None:
        m.thumbnail, m.thumbnail_type = thumbnail.data, thumbnail.content_type


def _upload(c: Caller, *, asynchronous: bool) -> r.Media:
    upload = c.params.upload("file")
    if upload is None or not upload.data:
        raise invalid("File can't be blank")
    kind = media_type(upload.content_type)
    if kind is None:
        raise invalid("File content type is invalid")
    delayed = asynchronous and (kind != "image" or c.sb.force_async_media)
    m = r.Media(
        c.sb.next_id("media"),
        c.me,
        kind,
        upload.content_type,
        upload.filename,
        upload.data,
        c.sb.now(),
        processed=not delayed,
        pending_polls=c.sb.media_processing_polls if delayed else 0,
    )
    _describe(m, c.params)
    c.sb.media[m.id] = m
    return m


def _own_unattached(c: Caller) -> r.Media:
    """Only the caller's media not yet attached to a status (`where(status_id: nil)`)."""
    m = c.sb.media.get(c.path_id())
    if m is None or m.account_id != c.me or m.status_id is not None:
        raise not_found()
    return m


@routes.post("/api/v2/media")
async def upload_v2(request: web.Request) -> web.Response:
    c = caller(request, "write:media")
    m = _upload(c, asynchronous=True)
    return ok(media_attachment(c.view, m), status=200 if m.processed else 202)


@routes.post("/api/v1/media")
async def upload_v1(request: web.Request) -> web.Response:
    c = caller(request, "write:media")
    return ok(media_attachment(c.view, _upload(c, asynchronous=False)))


@routes.get("/api/v1/media/{id}")
async def get_media(request: web.Request) -> web.Response:
    c = caller(request, "write:media")
    m = _own_unattached(c)
    if not m.processed:
        if m.pending_polls > 0:
            m.pending_polls -= 1
            return ok(media_attachment(c.view, m), status=206)
        m.processed = True
    return ok(media_attachment(c.view, m))


@routes.put("/api/v1/media/{id}")
async def update_media(request: web.Request) -> web.Response:
    c = caller(request, "write:media")
    m = _own_unattached(c)
    _describe(m, c.params)
    return ok(media_attachment(c.view, m), status=200 if m.processed else 206)


@routes.delete("/api/v1/media/{id}")
async def delete_media(request: web.Request) -> web.Response:
    c = caller(request, "write:media")
    m = c.sb.media.get(c.path_id())
    if m is None or m.account_id != c.me:
        raise not_found()
    if m.status_id is not None:
        raise unprocessable("Media attachment is currently used by a status")
    del c.sb.media[m.id]
    return empty()
