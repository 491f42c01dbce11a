"""The push key pair, auth secret and webhook path secret: made once, kept in `state_dir`.

They live together in one file, `push-keys.json` (mode 0600, in a directory only we can
write), so they can only be replaced together: new keys always come with a new webhook path,
hence a new endpoint, and `PushSubscription.ensure` then registers them with Mastodon. A
subscription can never be left pointing at our endpoint with keys we no longer have.

The file is written once, atomically (a 0600 temporary file created with O_EXCL, then linked
into place, which never overwrites), and refused when other users could read or replace it.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from mastod.logs import get_logger
from mastod.push import b64
from mastod.push.errors import PushSetupError
from mastod.redaction import register_secret

log = get_logger(__name__)

FILE_NAME = "push-keys.json"
_FORMAT = 1
_MAX_FILE_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class PushKeys:
    """What Mastodon encrypts pushes to (RFC 8291): our P-256 key pair and the auth secret."""

    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    public_key: bytes  # the uncompressed point, 65 bytes starting with 0x04
    auth_secret: bytes = field(repr=False)  # 16 random bytes

    @classmethod
    def generate(cls) -> PushKeys:
        return cls.from_private_key(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @classmethod
    def from_private_key(cls, private_key: ec.EllipticCurvePrivateKey, auth: bytes) -> PushKeys:
        if not isinstance(private_key.curve, ec.SECP256R1):
            raise ValueError("the push key must be a P-256 key")
        if len(auth) != 16:
            raise ValueError("the auth secret must be 16 bytes")
        point = private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return cls(private_key, point, auth)

    @property
    def p256dh(self) -> str:
        """`subscription[keys][p256dh]`: the public point, URL-safe base64 without padding."""
        return b64.encode(self.public_key)

    @property
    def auth(self) -> str:
        """`subscription[keys][auth]`: the auth secret, URL-safe base64 without padding."""
        return b64.encode(self.auth_secret)


@dataclass(frozen=True, slots=True)
class PushSecrets:
    keys: PushKeys
    webhook_secret: str = field(repr=False)  # the last segment of `POST /push/<secret>`


def load_or_create(state_dir: Path) -> PushSecrets:
    """Read the push secrets from `state_dir`, or make and store them there the first time.

    Every secret is registered with `mastod.redaction.register_secret` before this returns.
    Raises PushSetupError, with the path and the fix, when the file or directory is unsafe
    or unreadable.
    """
    path = state_dir / FILE_NAME
    _prepare_directory(state_dir)
    loaded = _read(path)
    if loaded is None:
        loaded = _create(path)
    _register(loaded)
    return loaded


def _prepare_directory(directory: Path) -> None:
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = directory.stat()
    except OSError as exc:
        raise PushSetupError(f"cannot use {directory}: {exc.strerror or exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise PushSetupError(f"{directory} is not a directory")
    if stat.S_IMODE(info.st_mode) & 0o022:
        # whoever can write here can swap our keys (and the webhook secret) for theirs
        raise PushSetupError(
            f"{directory} is writable by group or other users (chmod 700 {directory})"
        )


def _read(path: Path) -> PushSecrets | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PushSetupError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise PushSetupError(f"{path} is not a regular file")
        mode = stat.S_IMODE(info.st_mode)
        if mode & 0o077:
            raise PushSetupError(
                f"{path} has mode {mode:04o}: group or other users can read it"
                f" (chmod 600 {path}, and consider the keys leaked: delete it to make new ones)"
            )
        if info.st_uid != os.geteuid():
            raise PushSetupError(f"{path} belongs to another user (uid {info.st_uid})")
        raw = os.read(fd, _MAX_FILE_BYTES)
    except OSError as exc:
        raise PushSetupError(f"cannot read {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    parsed = _parse(raw)
    if parsed is None:
        raise PushSetupError(
            f"{path} is damaged; delete it and restart to make new push keys"
            " (the Mastodon subscription is then registered again)"
        )
    return parsed


def _parse(raw: bytes) -> PushSecrets | None:
    """The stored secrets, or None if the file is not what `_serialise` writes."""
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != _FORMAT:
            return None
        key = serialization.load_pem_private_key(data["private_key"].encode("ascii"), None)
        secret = data["webhook_secret"]
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(secret, str):
            return None
        if len(secret) < 32 or not secret.replace("-", "").replace("_", "").isalnum():
            return None
        return PushSecrets(PushKeys.from_private_key(key, b64.decode(data["auth"])), secret)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _serialise(loaded: PushSecrets) -> bytes:
    document: dict[str, Any] = {
        "format": _FORMAT,
        "private_key": _private_pem(loaded.keys),
        "auth": loaded.keys.auth,
        "webhook_secret": loaded.webhook_secret,
    }
    return json.dumps(document, indent=2).encode("ascii") + b"\n"


def _private_pem(keys: PushKeys) -> str:
    return keys.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


def _create(path: Path) -> PushSecrets:
    made = PushSecrets(PushKeys.generate(), secrets.token_urlsafe(32))
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(temporary, flags, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(_serialise(made))
                file.flush()
                os.fsync(file.fileno())
            # link() publishes the complete file under its name, and never over another one
            os.link(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
        _sync_directory(path.parent)
    except FileExistsError:  # another process made them first: use theirs
        theirs = _read(path)
        if theirs is None:
            raise PushSetupError(f"{path} appeared and vanished while it was created") from None
        return theirs
    except OSError as exc:
        raise PushSetupError(f"cannot create {path}: {exc.strerror or exc}") from None
    log.info("push.keys_created", path=str(path))
    return made


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _register(loaded: PushSecrets) -> None:
    keys = loaded.keys
    register_secret(_private_pem(keys))
    scalar = keys.private_key.private_numbers().private_value.to_bytes(32, "big")
    register_secret(b64.encode(scalar))
    register_secret(keys.auth)
    register_secret(loaded.webhook_secret)
