"""Push keys and webhook secret: made once 0600 in a 0700 directory, reused, refused if exposed."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from mastod.push import keys as keys_module
from mastod.push.errors import PushSetupError
from mastod.push.keys import FILE_NAME, PushKeys, load_or_create
from mastod.redaction import REDACTED, redact_text


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_created_once_private_and_in_mastodons_format(tmp_path: Path) -> None:
    state = tmp_path / "state" / "mastod"
    loaded = load_or_create(state)

    assert mode(state) == 0o700
    assert mode(state / FILE_NAME) == 0o600
    assert sorted(p.name for p in state.iterdir()) == [FILE_NAME]  # no temporary left behind
    keys = loaded.keys
    assert isinstance(keys.private_key.curve, ec.SECP256R1)
    assert len(keys.public_key) == 65
    assert keys.public_key[0] == 4
    assert len(keys.auth_secret) == 16
    # What subscription[keys][...] carries: URL-safe base64 without padding (browsers' form),
    # which Mastodon's Webpush.decode64 re-pads and decodes.
    for text, raw in ((keys.p256dh, keys.public_key), (keys.auth, keys.auth_secret)):
        assert "=" not in text
        assert "+" not in text
        assert "/" not in text
        assert base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)) == raw
    assert len(loaded.webhook_secret) >= 43
    assert loaded.webhook_secret.replace("-", "").replace("_", "").isalnum()


def test_reused_across_restarts(tmp_path: Path) -> None:
    first = load_or_create(tmp_path)
    again = load_or_create(tmp_path)
    assert again.webhook_secret == first.webhook_secret
    assert again.keys.public_key == first.keys.public_key
    assert again.keys.auth_secret == first.keys.auth_secret
    assert (
        again.keys.private_key.private_numbers().private_value
        == first.keys.private_key.private_numbers().private_value
    )


def test_another_process_creating_first_wins(tmp_path: Path) -> None:
    """The O_EXCL/link race: whoever links second uses the file that is there."""
    theirs = load_or_create(tmp_path)
    ours = keys_module._create(tmp_path / FILE_NAME)
    assert ours.webhook_secret == theirs.webhook_secret
    assert ours.keys.public_key == theirs.keys.public_key
    assert sorted(p.name for p in tmp_path.iterdir()) == [FILE_NAME]


@pytest.mark.parametrize("exposed", [0o644, 0o640, 0o604, 0o660])
def test_file_readable_by_others_is_refused(tmp_path: Path, exposed: int) -> None:
    load_or_create(tmp_path)
    path = tmp_path / FILE_NAME
    path.chmod(exposed)
    with pytest.raises(PushSetupError) as caught:
        load_or_create(tmp_path)
    message = str(caught.value)
    assert str(path) in message
    assert "chmod 600" in message
    assert f"{exposed:04o}" in message


@pytest.mark.parametrize("exposed", [0o770, 0o707, 0o777])
def test_directory_writable_by_others_is_refused(tmp_path: Path, exposed: int) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(exposed)
    with pytest.raises(PushSetupError, match="chmod 700"):
        load_or_create(state)
    assert not (state / FILE_NAME).exists()


def test_symlink_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.json"
    load_or_create(tmp_path)
    (tmp_path / FILE_NAME).rename(elsewhere)
    (tmp_path / FILE_NAME).symlink_to(elsewhere)
    with pytest.raises(PushSetupError, match="cannot read"):
        load_or_create(tmp_path)


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b"[]",
        b'{"format": 2}',
        b'{"format": 1, "private_key": "x", "auth": "AAAA", "webhook_secret": "s"}',
    ],
)
def test_damaged_file_is_refused_with_the_fix(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / FILE_NAME
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, content)
    os.close(fd)
    with pytest.raises(PushSetupError, match="damaged; delete it"):
        load_or_create(tmp_path)


def test_every_secret_is_registered_for_redaction(tmp_path: Path) -> None:
    loaded = load_or_create(tmp_path)
    stored = json.loads((tmp_path / FILE_NAME).read_text())
    for secret in (
        stored["private_key"],
        loaded.keys.auth,
        loaded.webhook_secret,
        base64.urlsafe_b64encode(
            loaded.keys.private_key.private_numbers().private_value.to_bytes(32, "big")
        )
        .decode()
        .rstrip("="),
    ):
        assert redact_text(f"before {secret} after") == f"before {REDACTED} after"


def test_reprs_hold_no_secret() -> None:
    keys = PushKeys.generate()
    text = repr(keys)
    assert keys.auth not in text
    assert "private_key" not in text
    assert keys.p256dh not in text
