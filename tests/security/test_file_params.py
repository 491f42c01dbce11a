"""File parameters read only what the caller could hand over itself (issue 10, point 1), through
the real daemon (in-process, sandbox upstream, Unix socket, HTTP and WebSocket clients):

- inline content `{"data", "filename", "mime_type"?}` is uploaded byte for byte;
- a path is refused while `media.upload_dirs` is empty, naming the key and the inline form;
- with upload dirs listed, only regular files inside them are read: outside, missing, a
  symlink out, a FIFO, a relative path, the daemon's state and token files and `/proc`, `/dev`
  (even when listed) all get the same message, and nothing reaches the upstream;
- sizes are bounded by `media.max_bytes`; a file-taking call may exceed `rpc.max_frame_bytes`
  by its inline content on every transport, any other call may not.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mastod.sandbox import OWNER_TOKEN
from tests.fuzz.clients import LineClient, RawHttp
from tests.fuzz.rig import RPC_TOKEN, Rig, request, running_daemon

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
INVALID_PARAMS = -32602


async def call(rig: Rig, method: str, params: Any) -> dict[str, Any]:
    client = await LineClient.connect(rig.socket_path)
    await client.send(request(method, params) + b"\n")
    answer: dict[str, Any] = await client.recv(method)
    client.close()
    return answer


def inline(data: bytes, filename: str = "photo.png", **extra: str) -> dict[str, str]:
    return {"data": base64.b64encode(data).decode(), "filename": filename, **extra}


def uploads_sent(rig: Rig) -> int:
    return sum(1 for r in rig.sandbox.recorded if r.path.endswith("/media"))


@pytest.fixture
async def plain(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_daemon(tmp_path) as rig:
        yield rig


async def test_inline_content_is_uploaded_byte_for_byte(plain: Rig) -> None:
    answer = await call(plain, "upload_media", {"file": inline(PNG), "description": "d"})
    media = plain.sandbox.media[answer["result"]["id"]]
    assert (media.data, media.filename, media.content_type) == (PNG, "photo.png", "image/png")

    clip = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 512
    given = inline(clip, "../../clip", mime_type="video/mp4")
    answer = await call(plain, "upload_media", {"file": given, "thumbnail": inline(PNG)})
    media = plain.sandbox.media[answer["result"]["id"]]
    assert (media.data, media.filename, media.content_type) == (clip, "clip", "video/mp4")
    assert media.thumbnail == PNG


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ({"data": "not base64!", "filename": "a.png"}, "not valid base64"),
        ({"data": "QUJD", "filename": "a.png", "path": "/etc/passwd"}, "unexpected member"),
        ({"data": "QUJD"}, '"filename"'),
        ({"data": "QUJD", "filename": "a.png", "mime_type": "text"}, "mime_type"),
        ({"data": 5, "filename": "a.png"}, '"data"'),
    ],
)
async def test_bad_inline_content_is_refused(plain: Rig, value: Any, says: str) -> None:
    answer = await call(plain, "upload_media", {"file": value})
    assert answer["error"]["code"] == INVALID_PARAMS
    assert "file" in answer["error"]["message"]
    assert says in answer["error"]["message"]
    assert uploads_sent(plain) == 0


async def test_paths_are_refused_while_upload_dirs_is_empty(plain: Rig, tmp_path: Path) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(PNG)
    for method, param in [("upload_media", "file"), ("update_account", "avatar")]:
        answer = await call(plain, method, {param: str(photo)})
        error = answer["error"]
        assert error["code"] == INVALID_PARAMS
        assert param in error["message"]
        assert "media.upload_dirs" in error["message"]
        assert '"data"' in error["message"]  # the way out: inline content
    assert uploads_sent(plain) == 0
    assert not any(r.path.endswith("update_credentials") for r in plain.sandbox.recorded)


@pytest.fixture
def uploads(tmp_path: Path) -> Path:
    directory = tmp_path / "uploads"
    directory.mkdir()
    (directory / "photo.png").write_bytes(PNG)
    (directory / "inner-link.png").symlink_to(directory / "photo.png")
    (directory / "escape").symlink_to("/etc/passwd")
    (directory / "escape-dir").symlink_to("/etc")
    os.mkfifo(directory / "fifo")
    token = directory / "access.token"
    token.write_text(OWNER_TOKEN + "\n")
    token.chmod(0o600)
    return directory


@pytest.fixture
async def listed(tmp_path: Path, uploads: Path) -> AsyncIterator[Rig]:
    """Upload dirs that also list what must stay refused: the state dir, /proc, /dev."""
    state = tmp_path / "state"
    async with running_daemon(
        tmp_path,
        media={"upload_dirs": [str(uploads), str(state), "/proc", "/dev"], "max_bytes": 4096},
        mastodon={"access_token": None, "access_token_file": str(uploads / "access.token")},
    ) as rig:
        assert rig.config.state_dir == state
        yield rig


async def test_files_inside_upload_dirs_are_read(listed: Rig, uploads: Path) -> None:
    for name in ("photo.png", "inner-link.png"):
        answer = await call(listed, "upload_media", {"file": str(uploads / name)})
        media = listed.sandbox.media[answer["result"]["id"]]
        assert (media.data, media.filename, media.content_type) == (PNG, "photo.png", "image/png")


def refused_paths(rig: Rig, uploads: Path) -> list[str]:
    state = rig.config.state_dir
    (state / "secret.key").write_text("push keys live here")
    return [
        "/etc/passwd",  # outside
        str(uploads / "missing.png"),  # missing
        str(uploads / "escape"),  # a symlink out
        str(uploads / "escape-dir" / "passwd"),  # through a symlinked directory
        str(uploads / ".." / ".." / ".." / "etc" / "passwd"),  # climbing out
        str(uploads / "fifo"),  # would block a thread for ever
        str(uploads),  # a directory
        "photo.png",  # relative: to what?
        str(uploads / "access.token"),  # the daemon's token, inside a listed directory
        str(state / "rpc.token"),  # listed state_dir: still never read
        str(state / "secret.key"),
        "/proc/self/environ",  # listed /proc
        "/dev/zero",  # listed /dev
    ]


async def test_everything_else_gets_one_message_and_nothing_is_sent(
    listed: Rig, uploads: Path
) -> None:
    paths = refused_paths(listed, uploads)
    messages = set()
    for path in paths:
        answer = await call(listed, "upload_media", {"file": path})
        error = answer["error"]
        assert error["code"] == INVALID_PARAMS, (path, answer)
        messages.add(error["message"].replace(repr(path), "PATH"))
    assert len(messages) == 1, messages
    [message] = messages
    assert "media.upload_dirs" in message
    assert uploads_sent(listed) == 0


async def test_sizes_are_bounded_by_media_max_bytes(listed: Rig, uploads: Path) -> None:
    big = uploads / "big.png"
    big.write_bytes(b"\x89PNG" + b"\x00" * 4096)
    for value in (str(big), inline(big.read_bytes())):
        answer = await call(listed, "upload_media", {"file": value})
        assert answer["error"]["code"] == INVALID_PARAMS
        assert "media.max_bytes (4096 bytes)" in answer["error"]["message"]
    assert uploads_sent(listed) == 0


async def test_fifo_uploads_never_park_a_thread(listed: Rig, uploads: Path) -> None:
    """Many at once: every one is answered, and an upstream call still works after them."""
    for index in range(12):
        os.mkfifo(uploads / f"pipe{index}")
    answers = await asyncio.gather(
        *(call(listed, "upload_media", {"file": str(uploads / f"pipe{i}")}) for i in range(12))
    )
    assert {a["error"]["code"] for a in answers} == {INVALID_PARAMS}
    answer = await call(listed, "get_account", {"account_id": "1"})
    assert "result" in answer, answer


# -- frames: a file-taking call may carry its inline content, nothing else may be larger


FRAME = 4096


@pytest.fixture
async def small_frames(tmp_path: Path) -> AsyncIterator[Rig]:
    async with running_daemon(
        tmp_path, rpc={"max_frame_bytes": FRAME}, media={"max_bytes": 64 * 1024}
    ) as rig:
        yield rig


def big_upload(id_: int = 1) -> bytes:
    content = PNG * 20  # ~20 KiB: five times the frame limit once encoded
    frame = request("upload_media", {"file": inline(content)}, id_)
    assert len(frame) > 4 * FRAME
    return frame


def big_publish() -> bytes:
    return request("publish_status", {"status": "x" * 2 * FRAME})


async def test_a_large_upload_frame_passes_on_every_transport(small_frames: Rig) -> None:
    rig = small_frames
    client = await LineClient.connect(rig.socket_path)
    await client.send(big_upload() + b"\n")
    assert "result" in await client.recv("the unix upload")
    await client.send(big_publish() + b"\n")
    refused = await client.recv("the oversized publish")
    assert refused["error"]["code"] == -32600
    assert str(FRAME) in refused["error"]["message"]
    client.close()

    http = RawHttp("127.0.0.1", rig.port)
    headers = [("Authorization", f"Bearer {RPC_TOKEN}"), ("Content-Type", "application/json")]
    reply = await http.request("POST", "/rpc", headers, big_upload())
    assert reply.status == 200
    assert "result" in reply.json()
    reply = await http.request("POST", "/rpc", headers, big_publish())
    assert reply.status == 413
    http.close()

    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {RPC_TOKEN}"}
        async with session.ws_connect(f"{rig.http_url}/rpc", headers=auth) as ws:
            await ws.send_bytes(big_upload())
            assert "result" in json.loads((await ws.receive()).data)
            await ws.send_bytes(big_publish())
            closing = await ws.receive()
            assert closing.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            assert ws.close_code == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    assert uploads_sent(rig) == 3
    assert not any(r.path == "/api/v1/statuses" for r in rig.sandbox.recorded)


async def test_a_batch_of_uploads_keeps_the_ordinary_limit(small_frames: Rig) -> None:
    client = await LineClient.connect(small_frames.socket_path)
    batch = b"[" + big_upload(1) + b"," + big_upload(2) + b"]"
    await client.send(batch + b"\n")
    refused = await client.recv("the batch")
    assert refused["error"]["code"] == -32600
    client.close()
    assert uploads_sent(small_frames) == 0


async def test_the_credentials_directory_is_refused_even_when_listed(
    tmp_path: Path, uploads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """systemd's LoadCredential= files (the ngrok and Mastodon tokens) live there."""
    credentials = uploads / "credentials"
    credentials.mkdir()
    (credentials / "ngrok-auth-token").write_text("a-credential")
    (uploads / "fine.png").write_bytes(PNG)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(credentials))
    async with running_daemon(tmp_path, media={"upload_dirs": [str(uploads)]}) as rig:
        refused = await call(rig, "upload_media", {"file": str(credentials / "ngrok-auth-token")})
        served = await call(rig, "upload_media", {"file": str(uploads / "fine.png")})
    assert refused["error"]["code"] == INVALID_PARAMS
    assert "no such file, permission denied, or not a regular file" in refused["error"]["message"]
    assert "result" in served
