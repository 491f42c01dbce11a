"""Default socket places: root's, the service user's (systemd's RuntimeDirectory), a user's."""

from __future__ import annotations

from pathlib import Path

import pytest

from mastod import paths


@pytest.mark.parametrize(
    ("euid", "env", "expected"),
    [
        (0, {"XDG_RUNTIME_DIR": "/run/user/0"}, "/run/mastod/mastod.sock"),
        (
            999,
            {"RUNTIME_DIRECTORY": "/run/mastod", "XDG_RUNTIME_DIR": "/x"},
            "/run/mastod/mastod.sock",
        ),
        (1000, {"XDG_RUNTIME_DIR": "/run/user/1000"}, "/run/user/1000/mastod/mastod.sock"),
        (1000, {}, "/tmp/mastod-1000/mastod.sock"),
    ],
)
def test_default_socket_path(
    monkeypatch: pytest.MonkeyPatch, euid: int, env: dict[str, str], expected: str
) -> None:
    monkeypatch.setattr(paths.os, "geteuid", lambda: euid)
    monkeypatch.setattr(paths.os, "getuid", lambda: euid)
    for name in ("RUNTIME_DIRECTORY", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    # a user who can see (or, in a user namespace mapping root, "owns") /run/mastod does not
    # take it: only root and the unit's own user do
    assert paths.default_socket_path() == Path(expected)
