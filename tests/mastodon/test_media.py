"""Media: local files streamed as multipart, and 202/206 processing polled until done."""

from __future__ import annotations

from pathlib import Path

import pytest

from mastod.actions.accounts import update_account
from mastod.actions.media import update_media, upload_media
from mastod.mastodon.client import Api
from mastod.mastodon.errors import InvalidParam, MediaNotReady, Unprocessable, Unreachable
from tests.mastodon.conftest import FakeUpstream, Reply

PROCESSING = {"id": "m1", "type": "video", "url": None, "preview_url": None}
DONE = {"id": "m1", "type": "video", "url": "https://files/m1.mp4", "preview_url": "p"}


@pytest.fixture
def video(tmp_path: Path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"\x00" * 2048)
    return path


async def test_upload_polls_until_processed(api: Api, upstream: FakeUpstream, video: Path) -> None:
    upstream.reply(
        Reply(202, PROCESSING), Reply(206, PROCESSING), Reply(206, PROCESSING), Reply(200, DONE)
    )

    result = await upload_media(api, str(video), description="a clip")

    assert result == DONE
    post, *polls = upstream.seen
    assert (post.method, post.path) == ("POST", "/api/v2/media")
    assert post.form == [("description", "a clip"), ("file", "file:clip.mp4:video/mp4:2048")]
    assert [(seen.method, seen.path) for seen in polls] == [("GET", "/api/v1/media/m1")] * 3


async def test_upload_gives_up_after_the_poll_timeout(
    api: Api, upstream: FakeUpstream, video: Path
) -> None:
    upstream.reply(Reply(202, PROCESSING))
    upstream.default = Reply(206, PROCESSING)

    with pytest.raises(MediaNotReady) as caught:
        await upload_media(api, str(video))

    assert caught.value.details == {"media_id": "m1"}
    assert "m1" in caught.value.error
    assert 5 <= len(upstream.seen) <= 25  # 1 s of polling every 0.05 s


async def test_failed_processing_is_an_error(api: Api, upstream: FakeUpstream, video: Path) -> None:
    upstream.reply(
        Reply(202, PROCESSING),
        Reply(422, {"error": "Error processing thumbnail for uploaded media"}),
    )

    with pytest.raises(Unprocessable, match="Error processing thumbnail"):
        await upload_media(api, str(video))


async def test_update_polls_a_206_too(api: Api, upstream: FakeUpstream, video: Path) -> None:
    upstream.reply(Reply(206, PROCESSING), Reply(200, DONE))

    assert await update_media(api, "m1", description="new") == DONE
    assert upstream.seen[0].form == [("description", "new")]  # no file: urlencoded


async def test_update_cannot_replace_the_file(
    api: Api, upstream: FakeUpstream, video: Path
) -> None:
    with pytest.raises(InvalidParam) as caught:
        await update_media(api, "m1", file=str(video), thumbnail=str(video))

    assert caught.value.param == "file"
    assert upstream.seen == []


@pytest.mark.parametrize("name", ["missing.png", "."])
async def test_unreadable_files_are_refused_before_sending(
    api: Api, upstream: FakeUpstream, tmp_path: Path, name: str
) -> None:
    with pytest.raises(InvalidParam) as caught:
        await upload_media(api, str(tmp_path / name))

    assert caught.value.param == "file"
    assert upstream.seen == []


async def test_update_account_sends_files_and_fields_as_multipart(
    api: Api, upstream: FakeUpstream, tmp_path: Path
) -> None:
    avatar = tmp_path / "me.jpg"
    avatar.write_bytes(b"\xff\xd8\xff" * 10)
    upstream.reply(Reply(body={"id": "1", "username": "me"}))

    await update_account(
        api, note="hi", avatar=str(avatar), sensitive=False, metadata=[{"name": "w", "value": "x"}]
    )

    [seen] = upstream.seen
    assert seen.method == "PATCH"
    assert seen.headers["Content-Type"].startswith("multipart/form-data")
    assert seen.form == [
        ("note", "hi"),
        ("source[sensitive]", "false"),
        ("fields_attributes[0][name]", "w"),
        ("fields_attributes[0][value]", "x"),
        ("avatar", "file:me.jpg:image/jpeg:30"),
    ]


async def test_an_upload_whose_answer_is_lost_is_not_sent_again(
    api: Api, upstream: FakeUpstream, video: Path
) -> None:
    upstream.reply(Reply(body=DONE))
    await update_account(api, note="warm up the pooled connection")
    upstream.reply(Reply(drop=True))  # the server may have stored it: no second upload

    with pytest.raises(Unreachable):
        await upload_media(api, str(video))

    assert len(upstream.seen) == 2
    assert upstream.seen[-1].form == [("file", "file:clip.mp4:video/mp4:2048")]
