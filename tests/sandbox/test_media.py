"""Media: synchronous images, asynchronous video (202, 206..., 200), updates, attaching."""

from __future__ import annotations

import aiohttp

from mastod.sandbox import Sandbox
from mastod.sandbox.seed import png


def _form(data: bytes, content_type: str, filename: str, **fields: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    for name, value in fields.items():
        form.add_field(name, value)
    form.add_field("file", data, filename=filename, content_type=content_type)
    return form


async def test_small_image_is_processed_at_once(client: aiohttp.ClientSession) -> None:
    form = _form(png(3, 3), "image/png", "a.png", description="a dot", focus="0.5,-0.25")
    async with client.post("/api/v2/media", data=form) as resp:
        assert resp.status == 200
        media = await resp.json()
    assert media["type"] == "image"
    assert media["description"] == "a dot"
    assert media["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    async with client.get(media["url"]) as resp:
        assert await resp.read() == png(3, 3)


async def test_video_is_202_then_206_then_200(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.media_processing_polls = 2
    async with client.post("/api/v2/media", data=_form(b"\x00" * 64, "video/mp4", "v.mp4")) as resp:
        assert resp.status == 202
        media = await resp.json()
    assert media["type"] == "video"
    assert media["url"] is None
    async with client.post(
        "/api/v1/statuses", json={"status": "too soon", "media_ids": [media["id"]]}
    ) as resp:
        assert resp.status == 422
        assert await resp.json() == {
            "error": "Cannot attach files that have not finished processing. Try again in a moment!"
        }
    statuses = []
    for _ in range(3):
        async with client.get(f"/api/v1/media/{media['id']}") as resp:
            statuses.append(resp.status)
            last = await resp.json()
    assert statuses == [206, 206, 200]
    assert last["url"] is not None
    async with client.post(
        "/api/v1/statuses", json={"status": "now", "media_ids": [media["id"]]}
    ) as resp:
        assert resp.status == 200
    async with client.get(f"/api/v1/media/{media['id']}") as resp:
        assert resp.status == 404  # attached media are no longer found here


async def test_forced_async_and_put_while_processing(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    sandbox.force_async_media = True
    sandbox.media_processing_polls = 0
    async with client.post("/api/v2/media", data=_form(png(), "image/png", "a.png")) as resp:
        assert resp.status == 202
        media = await resp.json()
    async with client.put(f"/api/v1/media/{media['id']}", data={"description": "later"}) as resp:
        assert resp.status == 206
        assert (await resp.json())["description"] == "later"
    async with client.get(f"/api/v1/media/{media['id']}") as resp:
        assert resp.status == 200


async def test_v1_upload_thumbnail_and_delete(client: aiohttp.ClientSession) -> None:
    form = _form(b"ID3" + b"\x00" * 32, "audio/mpeg", "a.mp3")
    form.add_field("thumbnail", png(1, 1, (1, 2, 3)), filename="t.png", content_type="image/png")
    async with client.post("/api/v1/media", data=form) as resp:
        assert resp.status == 200
        media = await resp.json()
    assert media["type"] == "audio"
    assert media["url"] is not None
    async with client.get(media["preview_url"]) as resp:
        assert await resp.read() == png(1, 1, (1, 2, 3))
    async with client.delete(f"/api/v1/media/{media['id']}") as resp:
        assert await resp.json() == {}
    async with client.get(f"/api/v1/media/{media['id']}") as resp:
        assert resp.status == 404


async def test_upload_errors(client: aiohttp.ClientSession) -> None:
    async with client.post("/api/v2/media", data=_form(b"hello", "text/plain", "a.txt")) as resp:
        assert resp.status == 422
    form = aiohttp.FormData()
    form.add_field("description", "no file")
    async with client.post("/api/v2/media", data=form) as resp:
        assert resp.status == 422
        assert await resp.json() == {"error": "Validation failed: File can't be blank"}


async def test_attached_media_cannot_be_deleted(
    client: aiohttp.ClientSession, sandbox: Sandbox
) -> None:
    attached = next(m for m in sandbox.media.values() if m.status_id)
    async with client.delete(f"/api/v1/media/{attached.id}") as resp:
        assert resp.status == 422
