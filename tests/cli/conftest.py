"""The `mastod` command as a real subprocess, run as an ordinary user.

The test machine runs as root, and root's paths are the systemd ones (`/etc/mastod`,
`/var/lib/mastod`). To test what a user sees, commands run in a user namespace that maps
them to uid 1000 (`unshare --user`): they see themselves as that user (per-user XDG paths),
and they get no privilege over files of users the namespace does not map (a socket in a
directory of someone else's is refused, as it is for any user).
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fuzz.rig import short_dir

BOUND = 30.0  # seconds for one command to finish (a hang detector, not a timing)


@functools.cache
def user_prefix() -> tuple[str, ...]:
    """What runs a command as an ordinary user; () when we already are one."""
    if os.geteuid() != 0:
        return ()
    unshare = shutil.which("unshare")
    command = (unshare or "unshare", "--user", "--map-user=1000", "--map-group=1000")
    if unshare is None or subprocess.run([*command, "true"], check=False).returncode != 0:
        pytest.skip("running as root and cannot enter a user namespace (unshare --user)")
    return command


@dataclass
class Home:
    """A user's directories (XDG config, state and runtime) under one temporary directory."""

    base: Path

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MASTOD_", "NGROK_"))}
        env.update(
            HOME=str(self.base / "home"),
            XDG_CONFIG_HOME=str(self.base / "config"),
            XDG_STATE_HOME=str(self.base / "state"),
            XDG_RUNTIME_DIR=str(self.base / "run"),
        )
        return env

    @property
    def config(self) -> Path:
        return self.base / "config" / "mastod" / "mastod.yaml"

    @property
    def state_dir(self) -> Path:
        return self.base / "state" / "mastod"

    @property
    def socket(self) -> Path:
        return self.base / "run" / "mastod" / "mastod.sock"


@pytest.fixture
def home(tmp_path: Path) -> Home:
    base = short_dir(tmp_path)
    for name in ("home", "config", "state", "run"):
        (base / name).mkdir(mode=0o700)
    return Home(base)


async def start(
    *args: str, env: dict[str, str] | None = None, as_user: bool = True, cwd: Path | None = None
) -> asyncio.subprocess.Process:
    """`python -m mastod <args>` with pipes on stdin, stdout and stderr."""
    prefix = user_prefix() if as_user else ()
    return await asyncio.create_subprocess_exec(
        *prefix,
        sys.executable,
        "-m",
        "mastod",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env if env is not None else dict(os.environ),
        cwd=cwd,
    )


async def run(
    *args: str,
    stdin: str = "",
    env: dict[str, str] | None = None,
    as_user: bool = True,
    cwd: Path | None = None,
) -> tuple[int, str, str]:
    """Run `mastod <args>` to its end: exit code, stdout, stderr."""
    proc = await start(*args, env=env, as_user=as_user, cwd=cwd)
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), BOUND)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
