"""A small real filesystem that fills up: a tmpfs of a few hundred KiB mounted for one test
(root only: the test is skipped otherwise), and the filler file that takes its last byte."""

from __future__ import annotations

import contextlib
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

FILLER = "filler"


@contextlib.contextmanager
def small_fs(size_kib: int) -> Iterator[Path]:
    """A private tmpfs of `size_kib` KiB, unmounted after."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mount_point = Path(tempfile.mkdtemp(prefix="mfull-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        mount_point.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)
        mount_point.rmdir()


def fill(mount_point: Path) -> int:
    """Take every free byte of the filesystem with a filler file; its size."""
    fd = os.open(mount_point / FILLER, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    written = 0
    try:
        for size in (65536, 4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    written += os.write(fd, b"\0" * size)
    finally:
        os.close(fd)
    return written


def free(mount_point: Path) -> None:
    """Give the space back."""
    (mount_point / FILLER).unlink()


def disk_use(directory: Path, name: str) -> int:
    """Bytes of a SQLite database and its -wal/-shm files."""
    return sum(
        (directory / (name + suffix)).stat().st_size
        for suffix in ("", "-wal", "-shm")
        if (directory / (name + suffix)).exists()
    )
