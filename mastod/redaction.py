"""Redaction: what never reaches a log line. Registered secrets (`register_secret`, or
`secret_registered` for a block), the values of secret-looking keys and credentials inside
strings (`access_token=` in URLs, `Bearer` headers) are replaced by `[REDACTED]`, in event
text, nested values and formatted tracebacks alike (`redact`, a structlog processor)."""

from __future__ import annotations

import collections
import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import TypeVar

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
_REMEMBERED_LENGTH = 200
_REMEMBERED_COUNT = 4096
_secrets_lock = threading.Lock()


_T = TypeVar("_T")


class _Remembered(dict[str, _T]):
    """Answers worked out once (by `answer`) and looked up after: a line's keys and short
    strings (its event, method, transport, outcome, the upstream requests it lists) repeat
    from line to line. At most _REMEMBERED_COUNT, then it starts again."""

    def __init__(self, answer: Callable[[str], _T]) -> None:
        super().__init__()
        self.answer = answer

    def __missing__(self, key: str) -> _T:
        value = self.answer(key)
        if len(self) >= _REMEMBERED_COUNT:
            self.clear()
        self[key] = value
        return value


def _masker(secrets: re.Pattern[str] | None) -> Callable[[str], str]:
    def mask(text: str) -> str:
        if secrets is not None:
            text = secrets.sub(REDACTED, text)
        return _SECRET_IN_TEXT.sub(_mask_credential, text)

    return mask


# The short texts masked with the pattern of every secret now registered: two regular
# expression passes over each were a third of a line's cost. Replaced whenever the secrets
# change, so no text masked with an older pattern is ever answered from memory.
_masked: _Remembered[str] = _Remembered(_masker(None))
# Whether a key names a secret
_secret_names: _Remembered[bool] = _Remembered(lambda key: _SECRET_KEY.search(key) is not None)


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
    global _masked
    ordered = sorted(_secrets | _scoped.keys(), key=len, reverse=True)
    _masked = _Remembered(
        _masker(re.compile("|".join(map(re.escape, ordered))) if ordered else None)
    )


def redact_text(text: str) -> str:
    """`text` with registered secrets and URL/header credentials masked."""
    masked = _masked
    if len(text) > _REMEMBERED_LENGTH:
        return masked.answer(text)
    return masked[text]


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
    if isinstance(value, str):  # subclasses of the kinds above
        return redact_text(value)
    if isinstance(value, int | float):
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
    return isinstance(key, str) and value is not None and _secret_names[key]


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask secrets everywhere in the event (run it right before rendering)."""
    masked: EventDict = {}
    for key, value in event_dict.items():
        if value is not None and _secret_names[key]:
            masked[key] = REDACTED
        elif type(value) is str:
            masked[key] = redact_text(value)
        else:
            masked[key] = _redact_value(value)
    return masked
