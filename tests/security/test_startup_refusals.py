"""The daemon refuses to start with a token file other users can read, and says why: exit 2
and one line on stderr naming the key and the fix, without the token, before it listens."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from tests.security.proc import layout, spawn

SECRET = "tok-" + secrets.token_urlsafe(18)


async def refused(tmp_path: Path, prepare: str, mode: int) -> tuple[int, str, Path]:
    lay = layout(tmp_path, "http://127.0.0.1:9", SECRET)
    if prepare == "access_token_file":
        Path(lay.config["mastodon"]["access_token_file"]).chmod(mode)
    else:
        lay.token_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        lay.token_file.write_text(SECRET + "\n")
        lay.token_file.chmod(mode)
    running = await spawn(lay)
    code = await running.exited()
    return code, "".join(running.stderr), lay.socket_path


@pytest.mark.parametrize(
    ("key", "mode", "who"),
    [
        ("access_token_file", 0o644, "other users"),
        ("access_token_file", 0o604, "other users"),
        ("token_file", 0o644, "group or other users"),
        ("token_file", 0o640, "group or other users"),
        ("token_file", 0o604, "group or other users"),
    ],
)
async def test_readable_token_file_is_refused_in_one_line(
    tmp_path: Path, key: str, mode: int, who: str
) -> None:
    code, stderr, socket_path = await refused(tmp_path, key, mode)
    assert code == 2
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    dotted = "mastodon.access_token_file" if key == "access_token_file" else "rpc.token_file"
    assert dotted in lines[0]
    assert f"readable by {who}" in lines[0]
    assert "chmod 600" in lines[0]
    assert SECRET not in stderr
    assert not socket_path.exists()  # it never listened


async def test_group_readable_access_token_file_is_accepted(tmp_path: Path) -> None:
    """The documented rule: the Mastodon token file must not be readable by *other* users
    (a service group may read it); so this start gets past the token check."""
    lay = layout(tmp_path, "http://127.0.0.1:9", SECRET)
    Path(lay.config["mastodon"]["access_token_file"]).chmod(0o640)
    running = await spawn(lay)
    await running.ready()
    assert await running.stop() == 0
    assert SECRET not in running.log_text()


@pytest.mark.parametrize("key", ["access_token_file", "token_file"])
async def test_token_file_owned_by_another_user_is_refused(tmp_path: Path, key: str) -> None:
    """Whoever owns a token file can swap the token (or read it, whatever the mode says)."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    lay = layout(tmp_path, "http://127.0.0.1:9", SECRET)
    if key == "access_token_file":
        path = Path(lay.config["mastodon"]["access_token_file"])
    else:
        path = lay.token_file
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        path.write_text(SECRET + "\n")
    path.chmod(0o600)
    os.chown(path, 4242, 4242)
    running = await spawn(lay)
    assert await running.exited() == 2
    [line] = "".join(running.stderr).splitlines()
    assert "owned by another user (uid 4242)" in line
    assert ("rpc.token_file" if key == "token_file" else "mastodon.access_token_file") in line
    assert SECRET not in line
    assert not lay.socket_path.exists()


async def test_token_file_owned_by_root_is_accepted(tmp_path: Path) -> None:
    lay = layout(tmp_path, "http://127.0.0.1:9", SECRET)
    path = Path(lay.config["mastodon"]["access_token_file"])
    if os.geteuid() == 0:
        os.chown(path, 0, 0)
    assert os.stat(path).st_uid in (0, os.geteuid())
    running = await spawn(lay)
    await running.ready()
    assert await running.stop() == 0
