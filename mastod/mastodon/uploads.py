"""File parameters (`file`, `thumbnail`, `avatar`, `header`): what a caller may make the
daemon read and send upstream.

The principle: a caller can make the daemon read only what the caller could hand over itself.
So a file parameter is either inline content, `{"data": "<base64>", "filename": "photo.png",
"mime_type": "image/png"?}`, or the path of a regular file inside one of `media.upload_dirs`
(none by default). Never, even when a listed directory holds them: the daemon's state
directory, its token files, the systemd credentials directory, `/proc`, `/sys`, `/dev`.

A path is resolved (symlinks followed) and checked against those directories, opened with
O_NOFOLLOW|O_NONBLOCK (a FIFO or device opens without waiting, and is then refused because
`fstat` says it is not a regular file), and the opened descriptor's real path is checked
again, so swapping a symlink between the check and the open gains nothing. Outside, missing
and denied get one message, so a caller cannot probe the daemon's file system with it.

Reading and base64 decoding run on a small executor of their own: a read that blocks (a
stuck network file system) can never take the threads of the default executor, which also
resolves DNS for every upstream call.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import mimetypes
import os
import stat
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mastod.mastodon.errors import InvalidParam

if TYPE_CHECKING:
    from mastod.config import Config

FILE_PARAMS = frozenset({"file", "thumbnail", "avatar", "header"})
DEFAULT_MAX_BYTES = 100 * 1024 * 1024
ALWAYS_REFUSED = (Path("/proc"), Path("/sys"), Path("/dev"))
_INLINE_KEYS = frozenset({"data", "filename", "mime_type"})
_WORKERS = 2
_CHUNK = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Upload:
    """One multipart part: the content is in memory, so every attempt sends the same bytes."""

    field: str
    filename: str
    content_type: str
    data: bytes


def inline_frame_bytes(max_bytes: int) -> int:
    """The base64 length of `max_bytes` of content: what inline media adds to a frame."""
    return 4 * ((max_bytes + 2) // 3)


class UploadReader:
    """Turns file parameters into `Upload`s under the rules above."""

    def __init__(
        self,
        upload_dirs: Iterable[Path] = (),
        *,
        refused: Iterable[Path] = (),
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.upload_dirs = tuple(upload_dirs)
        self.refused = (*ALWAYS_REFUSED, *refused)
        self.max_bytes = max_bytes
        self._executor: ThreadPoolExecutor | None = None

    async def read(self, files: Mapping[str, Any]) -> list[Upload]:
        """The parts to send, in order; None entries are not sent. InvalidParam names the
        parameter when one cannot be used."""
        found = []
        loop = asyncio.get_running_loop()
        for field, value in files.items():
            if value is not None:
                found.append(await loop.run_in_executor(self._pool(), self._one, field, value))
        return found

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(_WORKERS, thread_name_prefix="mastod-upload")
        return self._executor

    def _one(self, field: str, value: Any) -> Upload:
        """(thread) One file parameter."""
        if isinstance(value, Mapping):
            return self._inline(field, value)
        if isinstance(value, str) and value:
            return self._from_path(field, value)
        raise InvalidParam(field, _FORMS)

    def _inline(self, field: str, value: Mapping[str, Any]) -> Upload:
        extra = set(value) - _INLINE_KEYS
        if extra:
            raise InvalidParam(field, f"unexpected member {sorted(map(str, extra))[0]!r}; {_FORMS}")
        data, filename = value.get("data"), value.get("filename")
        mime_type = value.get("mime_type")
        if not isinstance(data, str):
            raise InvalidParam(field, f'"data" must be a base64 string; {_FORMS}')
        if not isinstance(filename, str) or not filename.strip() or "\0" in filename:
            raise InvalidParam(field, f'"filename" must be a non-empty string; {_FORMS}')
        if mime_type is not None and not _token_like(mime_type):
            raise InvalidParam(field, '"mime_type" must be a MIME type like image/png')
        if len(data) > inline_frame_bytes(self.max_bytes) + 4:
            raise self._too_large(field)
        try:
            content = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidParam(field, '"data" is not valid base64') from None
        if len(content) > self.max_bytes:
            raise self._too_large(field)
        name = os.path.basename(filename.replace("\\", "/")) or "upload"
        return Upload(field, name, mime_type or _guess(name), content)

    def _from_path(self, field: str, value: str) -> Upload:
        if not self.upload_dirs:
            raise InvalidParam(
                field,
                "paths are refused: media.upload_dirs is empty in the daemon's config; "
                'send the content inline as {"data": "<base64>", "filename": "name.png"}',
            )
        unusable = InvalidParam(
            field,
            f"cannot read {value[:200]!r}: no such file, permission denied, or not a "
            "regular file inside media.upload_dirs",
        )
        if "\0" in value or not os.path.isabs(value):
            raise unusable
        try:
            real = os.path.realpath(value, strict=True)
        except (OSError, ValueError):
            raise unusable from None
        if not self._allowed(real):
            raise unusable
        try:
            fd = os.open(real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            raise unusable from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or not self._allowed(_opened_path(fd)):
                raise unusable
            if info.st_size > self.max_bytes:
                raise self._too_large(field)
            content = _read_at_most(fd, self.max_bytes + 1)
        except OSError:
            raise unusable from None
        finally:
            os.close(fd)
        if len(content) > self.max_bytes:  # it grew since fstat
            raise self._too_large(field)
        name = os.path.basename(real)
        return Upload(field, name, _guess(name), content)

    def _allowed(self, real: str) -> bool:
        path = Path(real)
        if any(_inside(path, refused) for refused in self._real(self.refused)):
            return False
        return any(_inside(path, allowed) for allowed in self._real(self.upload_dirs))

    @staticmethod
    def _real(paths: Iterable[Path]) -> list[Path]:
        return [Path(os.path.realpath(path)) for path in paths]

    def _too_large(self, field: str) -> InvalidParam:
        return InvalidParam(field, f"larger than media.max_bytes ({self.max_bytes} bytes)")


_FORMS = (
    'give {"data": "<base64>", "filename": "name.png", "mime_type"?: "image/png"}, '
    "or the absolute path of a file inside media.upload_dirs"
)


def upload_reader(config: Config, env: Mapping[str, str] = os.environ) -> UploadReader:
    """The reader the config asks for. Refused besides /proc, /sys, /dev: the daemon's own
    files (state, token files, the systemd credentials directory)."""
    refused = [config.state_dir, config.rpc.token_file]
    if config.mastodon.access_token_file is not None:
        refused.append(config.mastodon.access_token_file)
    credentials = env.get("CREDENTIALS_DIRECTORY")
    if credentials:
        refused.append(Path(credentials))
    media = config.media
    return UploadReader(media.upload_dirs, refused=refused, max_bytes=media.max_bytes)


def _inside(path: Path, directory: Path) -> bool:
    return path == directory or directory in path.parents


def _opened_path(fd: int) -> str:
    """The real path of an open descriptor (Linux: /proc/self/fd)."""
    return os.readlink(f"/proc/self/fd/{fd}")


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    size = 0
    while size < limit:
        chunk = os.read(fd, min(_CHUNK, limit - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _guess(name: str) -> str:
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _token_like(value: object) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= 255
        and value.isascii()
        and ("/" in value and value.isprintable() and " " not in value)
    )
