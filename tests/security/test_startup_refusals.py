"""The daemon refuses to start with a token file other users can read, and says why: exit 2
and one line on stderr naming the key and the fix, without the token, before it listens."""

from __future__ import annotations

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
