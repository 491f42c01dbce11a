"""The HTTP side of `mastod init`: Mastodon's documented instance, app and OAuth endpoints,
called with the standard library (one request at a time, a person waiting), every failure
turned into one line (`InitError`) that names the host, never a token or a secret."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from mastod import __version__
from mastod.net import normalize_url, origin  # standard library only

OOB = "urn:ietf:wg:oauth:2.0:oob"
TIMEOUT = 30.0  # seconds per request


class InitError(Exception):
    """`mastod init` failed; the text is the one line the user sees."""


@dataclass(frozen=True, slots=True)
class Instance:
    base_url: str
    domain: str
    title: str
    version: str
    streaming_url: str | None
    vapid_key: str | None


@dataclass(frozen=True, slots=True)
class App:
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]


def normalise_url(text: str) -> str:
    """`mastodon.example`, `@me@mastodon.example`, `HTTPS://Mastodon.example/` ->
    `https://mastodon.example`, as the config normalises `mastodon.base_url`."""
    text = text.strip()
    if "://" not in text:
        text = "https://" + text.lstrip("@").split("@")[-1]
    try:
        return normalize_url(text, allow_path=False)
    except ValueError as exc:
        raise InitError(f"not an instance URL: {exc}") from None  # (it may hold credentials)


def normalise_public_url(text: str) -> str:
    """The webhook's public URL: http(s), a host, maybe a path; no query or credentials."""
    try:
        return normalize_url(text, allow_path=True)
    except ValueError as exc:
        raise InitError(f"--public-url: {exc}") from None


def check_instance(base_url: str) -> Instance:
    """What the instance says about itself: `/api/v2/instance`, else `/api/v1/instance`."""
    reply = _request("GET", base_url, "/api/v2/instance")
    v2 = reply.body
    if reply.status == 200 and isinstance(v2, dict) and isinstance(v2.get("domain"), str):
        return Instance(
            reply.origin,
            v2["domain"],
            str(v2.get("title") or v2["domain"]),
            str(v2.get("version") or "?"),
            _dig(v2, "configuration", "urls", "streaming"),
            _dig(v2, "configuration", "vapid", "public_key"),
        )
    reply = _request("GET", base_url, "/api/v1/instance")
    v1 = reply.body
    if reply.status == 200 and isinstance(v1, dict) and isinstance(v1.get("uri"), str):
        domain = v1["uri"].split("://")[-1].rstrip("/")
        return Instance(
            reply.origin,
            domain,
            str(v1.get("title") or domain),
            str(v1.get("version") or "?"),
            _dig(v1, "urls", "streaming_api"),
            None,
        )
    raise InitError(
        f"{_host(base_url)} is not a Mastodon API server (no /api/v2/instance or /api/v1/instance)"
    )


def register_app(base_url: str, scopes: tuple[str, ...]) -> App:
    form = {"client_name": "mastod", "redirect_uris": OOB, "scopes": " ".join(scopes)}
    reply = _request("POST", base_url, "/api/v1/apps", form=form)
    status, body = reply.status, reply.body
    if status == 200 and isinstance(body, dict):
        client_id, secret = body.get("client_id"), body.get("client_secret")
        if isinstance(client_id, str) and isinstance(secret, str):
            return App(client_id, secret, scopes)
    raise InitError(
        f"{_host(base_url)} refused to register the app (HTTP {status}: {_reason(body)})"
    )


def app_is_known(base_url: str, app: App) -> bool:
    """Whether the instance still knows a stored app (it may have been deleted, or the
    instance reset): a client_credentials token is asked for, and revoked at once."""
    form = {
        "grant_type": "client_credentials",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "scope": " ".join(app.scopes),
    }
    reply = _request("POST", base_url, "/oauth/token", form=form)
    body = reply.body if isinstance(reply.body, dict) else {}
    if reply.status == 200 and isinstance(body.get("access_token"), str):
        revoke(base_url, app, body["access_token"])
        return True
    return body.get("error") != "invalid_client"


def authorization_url(base_url: str, app: App, scopes: tuple[str, ...]) -> str:
    query = urllib.parse.urlencode(
        {
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": OOB,
            "scope": " ".join(scopes),
        },
        quote_via=urllib.parse.quote,
    )
    return f"{base_url}/oauth/authorize?{query}"


class UnknownApp(InitError):
    """The instance no longer knows the stored app (deleted, or the instance was reset)."""


def exchange_code(base_url: str, app: App, code: str, scopes: tuple[str, ...]) -> tuple[str, str]:
    """The access token and the scopes it was granted, for an authorization code."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": OOB,
        "scope": " ".join(scopes),
    }
    reply = _request("POST", base_url, "/oauth/token", form=form)
    status, body = reply.status, reply.body
    if status == 200 and isinstance(body, dict) and isinstance(body.get("access_token"), str):
        granted = body.get("scope")
        return body["access_token"], granted if isinstance(granted, str) else " ".join(scopes)
    error = body.get("error") if isinstance(body, dict) else None
    if error == "invalid_client":
        raise UnknownApp(
            f"{_host(base_url)} no longer knows the app registered earlier; run mastod init "
            "again (it registers a new one)"
        )
    if error == "invalid_grant" or status in (400, 401):
        raise InitError(
            f"{_host(base_url)} did not accept that code (wrong, expired or already used); "
            "run mastod init again for a new one"
        )
    raise InitError(f"{_host(base_url)} refused the code (HTTP {status}: {_reason(body)})")


def revoke(base_url: str, app: App, token: str) -> None:
    """Best effort: a token we will not keep should not stay valid."""
    form = {"client_id": app.client_id, "client_secret": app.client_secret, "token": token}
    with contextlib.suppress(InitError):
        _request("POST", base_url, "/oauth/revoke", form=form)


def verify_credentials(base_url: str, token: str) -> dict[str, Any]:
    reply = _request("GET", base_url, "/api/v1/accounts/verify_credentials", token=token)
    status, body = reply.status, reply.body
    if status == 200 and isinstance(body, dict) and isinstance(body.get("acct"), str):
        return body
    raise InitError(
        f"{_host(base_url)} did not accept the new token (HTTP {status}: {_reason(body)})"
    )


def missing_scopes(requested: tuple[str, ...], granted: str) -> list[str]:
    """Requested scopes the grant does not cover (`read` covers `read:statuses`)."""
    have = set(granted.split())
    return [s for s in requested if s not in have and s.split(":", 1)[0] not in have]


def _dig(doc: dict[str, Any], *keys: str) -> str | None:
    value: Any = doc
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value if isinstance(value, str) else None


def _host(base_url: str) -> str:
    return urllib.parse.urlsplit(base_url).netloc


def _reason(body: Any) -> str:
    if isinstance(body, dict):
        text = body.get("error_description") or body.get("error")
        if isinstance(text, str) and text.strip():
            return " ".join(text.split())[:200]
    return "no explanation given"


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    body: Any  # the JSON body, None when it is not JSON
    origin: str  # scheme://host that answered, after redirects (http:// -> https://)


def _request(
    method: str,
    base_url: str,
    path: str,
    *,
    form: dict[str, str] | None = None,
    token: str | None = None,
) -> _Reply:
    """One request's answer, whatever its status; a network failure raises InitError."""
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(base_url + path, data=data, method=method)  # noqa: S310
    request.add_header("User-Agent", f"mastod/{__version__}")
    request.add_header("Accept", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310
            return _Reply(response.status, _json(response.read()), origin(response.url))
    except urllib.error.HTTPError as exc:
        with exc:
            return _Reply(exc.code, _json(exc.read()), origin(exc.url))
    except (urllib.error.URLError, OSError) as exc:
        raise InitError(_network_error(base_url, exc)) from None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _network_error(base_url: str, exc: Exception) -> str:
    host = _host(base_url)
    reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(reason, socket.gaierror):
        return f"cannot resolve {urllib.parse.urlsplit(base_url).hostname}"
    if isinstance(reason, ssl.SSLError):
        return f"TLS with {host} failed: {reason.reason or reason}"
    if isinstance(reason, TimeoutError | socket.timeout):
        return f"{host} did not answer within {TIMEOUT:g} s"
    if isinstance(reason, OSError):
        return f"cannot connect to {host}: {reason.strerror or reason}"
    return f"cannot connect to {host}: {reason}"
