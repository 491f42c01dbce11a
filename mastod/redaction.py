"""Redaction: what never reaches a log line. Registered secrets (`register_secret`, or
`secret_registered` for a block), the values of secret-looking keys and credentials inside
strings (`access_token=` in URLs, `Bearer` headers) are replaced by `[REDACTED]`, in event
text, nested values and formatted tracebacks alike (`redact`, a structlog processor)."""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Iterator, Mapping

from structlog.typing import EventDict, WrappedLogger

REDACTED = "[REDACTED]"

# Values of keys named like these are never logged (`token_file`, `token_count` are fine).
_SECRET_KEY = re.compile(
    r"(?:^|[_-])(?:token|secret|password|passwd|authorization|cookie|api[_-]?key)$", re.IGNORECASE
)
# Credentials that travel inside strings: URL query parameters and Authorization headers.
_SECRET_IN_TEXT = re.compile(
    r"(?P<lead>[?&;](?:access_token|auth_token|token|password|secret)=)[^&#\s\"'<>]+"
    r"|(?P<scheme>\bBearer\s+)[A-Za-z0-9._~+/=-]{8,}",
    re.IGNORECASE,
)

_secrets: set[str] = set()
_scoped: collections.Counter[str] = collections.Counter()
# A caller's "token" shorter than this is no credential, and masking it (a letter, say)
# would blank every log line while its call runs.
_MIN_SCOPED = 8
# The pattern of every secret, and the short texts already masked with it: a line's short
# strings (its event, method, transport, outcome, the upstream requests it lists) repeat from
# line to line, and two regular-expression passes over each were a third of a line's cost.
# Both are replaced together when the secrets change, so no text masked with an older pattern
# is ever answered from memory.
_current: tuple[re.Pattern[str] | None, dict[str, str]] = (None, {})
_REMEMBERED_LENGTH = 200
_REMEMBERED_COUNT = 4096
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Never log `value`: it is replaced by `[REDACTED]` wherever it appears from now on."""
    if not value or value in _secrets:
        return
    with _secrets_lock:
        _secrets.add(value)
        _recompile()


@contextlib.contextmanager
def secret_registered(value: str | None) -> Iterator[None]:
    """Never log `value` while the block runs (a per-call token: masked for the call's
    lifetime, then forgotten, so the set of secrets does not grow with every caller)."""
    if not value or len(value) < _MIN_SCOPED:
        yield
        return
    with _secrets_lock:
        _scoped[value] += 1
        _recompile()
    try:
        yield
    finally:
        with _secrets_lock:
            _scoped[value] -= 1
            if not _scoped[value]:
                del _scoped[value]
            _recompile()


def _recompile() -> None:
    """(lock held) One pattern of every secret, longest first, so a secret that contains
    another one is masked whole."""
    global _current
    ordered = sorted(_secrets | _scoped.keys(), key=len, reverse=True)
    _current = (re.compile("|".join(map(re.escape, ordered))) if ordered else None, {})


def redact_text(text: str) -> str:
    """`text` with registered secrets and URL/header credentials masked."""
    pattern, remembered = _current
    if len(text) > _REMEMBERED_LENGTH:
        return _redacted(text, pattern)
    masked = remembered.get(text)
    if masked is None:
        masked = _redacted(text, pattern)
        if len(remembered) >= _REMEMBERED_COUNT:
            remembered.clear()
        remembered[text] = masked
    return masked


def _redacted(text: str, secrets: re.Pattern[str] | None) -> str:
    if secrets is not None:
        text = secrets.sub(REDACTED, text)
    return _SECRET_IN_TEXT.sub(_mask_credential, text)


def _mask_credential(match: re.Match[str]) -> str:
    return (match["lead"] or match["scheme"]) + REDACTED


_PLAIN = frozenset((int, float, bool, type(None)))


def _redact_value(value: object) -> object:
    kind = type(value)
    if kind is str:
        return redact_text(value)  # type: ignore[arg-type]
    if kind in _PLAIN:
        return value
    if kind is list:  # before the Mapping check, an ABC's (slow) instance check
        return [_redact_value(item) for item in value]  # type: ignore[attr-defined]
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, Mapping):
        return {
            key: REDACTED if _is_secret_key(key, item) else _redact_value(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(item) for item in value]
    # anything else (URLs, exceptions, objects) would be rendered by repr() after us
    return redact_text(repr(value))


def _is_secret_key(key: object, value: object) -> bool:
    return isinstance(key, str) and value is not None and _secret_name(key)


def _secret_name(key: str) -> bool:
    """Whether a key names a secret; the same few keys come with every line."""
    known = _secret_names.get(key)
    if known is None:
        known = _SECRET_KEY.search(key) is not None
        if len(_secret_names) < _REMEMBERED_COUNT:
            _secret_names[key] = known
    return known


_secret_names: dict[str, bool] = {}


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets everywhere in the event (run it right before rendering).

    Every line comes through here: the lookups of `_secret_name` and `redact_text` for the
    keys and short strings seen before are made inline, the rest goes through them."""
    masked: EventDict = {}
    remembered = _current[1]
    for key, value in event_dict.items():
        secret = _secret_names.get(key)
        if secret is None:
            secret = _secret_name(key)
        if secret and value is not None:
            masked[key] = REDACTED
        elif type(value) is str:
            masked[key] = remembered.get(value) or redact_text(value)
        else:
            masked[key] = _redact_value(value)
    return masked
