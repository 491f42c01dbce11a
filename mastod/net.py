"""What every network client shares: URLs of instances and webhooks normalised one way (so the
config, per-call `base_url` overrides, the VAPID `aud` check, Link-following and log fields
agree on what the same URL is), and the one backoff delay of the retry loops. Standard library
only: the config imports it."""

from __future__ import annotations

import random
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin(url: str) -> str:
    """`scheme://host[:port]` of `url`, normalised as Mastodon computes a VAPID `aud` (lower
    case, default port left out)."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    return f"{scheme}://{host}"


def normalize_url(value: str, *, allow_path: bool) -> str:
    """`HTTPS://Host:443/prefix/` -> `https://host/prefix`.

    ValueError(reason) unless `value` is an http(s) URL with a host and no credentials, query
    or fragment, and (unless `allow_path`) no path.
    """
    try:
        parts = urlsplit(value.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError("must be an http(s) URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL with a host, like https://mastodon.example")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain credentials")
    if parts.query or parts.fragment or value.rstrip().endswith(("?", "#")):
        raise ValueError("must not have a query or fragment")
    path = parts.path.removesuffix("/")
    if path and not allow_path:
        raise ValueError("must not have a path (give the instance root, like https://host)")
    return origin(value) + path


def backoff_delay(attempt: int, *, base: float, cap: float) -> float:
    """Seconds to wait before retry `attempt` (0 for the first): `base` doubled per attempt up
    to `cap`, then jittered down to as little as half, so that clients failing together do not
    retry in step."""
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    return ceiling * random.uniform(0.5, 1.0)  # noqa: S311 - jitter, not a secret
