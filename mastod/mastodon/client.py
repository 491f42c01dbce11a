"""The one request core: `MastodonClient` owns the sessions, `Api` is what an action talks to.

`Api` fills the path, encodes the parameters (`encoding`), sends with the retry and
rate-limit policy (`transport`), maps failures (`responses`), and shapes results
(`shaping`). Actions never see aiohttp.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import yarl

from mastod import __version__
from mastod.config import MastodonConfig
from mastod.mastodon.clock import InstanceClock
from mastod.mastodon.encoding import (
    Pairs,
    cursor_pairs,
    encode_query,
    fill_path,
    form_pairs,
)
from mastod.mastodon.errors import InvalidParam, Unauthorized, UnexpectedResponse
from mastod.mastodon.pagination import Links, Page, cursor_of, parse_links, same_instance
from mastod.mastodon.responses import decode
from mastod.mastodon.sessions import SessionPool, normalize_base_url
from mastod.mastodon.shaping import empty_to_none
from mastod.mastodon.transport import SYSTEM_CLOCK, Clock, Outgoing, exchange
from mastod.mastodon.uploads import UploadReader

VERBS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
_QUERY_VERBS = frozenset({"GET", "DELETE"})


class MastodonClient:
    """Sessions and defaults for every Mastodon call the daemon makes.

    `start()`/`close()` are called from an aiohttp cleanup context. `api()` returns a view
    bound to the configured instance and token, or to a per-call override.

    The configured token can be replaced while running (`set_token`, on SIGHUP): views of the
    configured account read it at each call. A 401 to a call made with it is reported to
    `on_unauthorized` (the account's state), and the `Date` of every answer from the
    configured instance feeds `clock`.
    """

    def __init__(
        self,
        config: MastodonConfig,
        *,
        user_agent: str | None = None,
        clock: Clock = SYSTEM_CLOCK,
        uploads: UploadReader | None = None,
    ) -> None:
        """`uploads` reads file parameters; by default inline content only."""
        self.config = config
        self.rate_clock = clock  # what rate-limit waits sleep and read time by
        self.uploads = uploads or UploadReader()
        self.base_url = normalize_base_url(config.base_url)
        self._token = config.access_token or None
        self._headers = {
            "User-Agent": user_agent or f"mastod/{__version__}",
            "Accept": "application/json",
        }
        self._pool = SessionPool(self.base_url, config.max_sessions, self._new_session)
        # What each instance was found to support (an endpoint it lacks, ...), learned by the
        # actions from its answers and kept for the daemon's lifetime, by base URL.
        self.quirks: dict[str, dict[str, str]] = {}
        self.clock = InstanceClock()
        self.on_unauthorized: Callable[[Unauthorized], None] | None = None

    def _new_session(self, fresh: bool) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(force_close=True) if fresh else None,
            headers=self._headers,
            timeout=aiohttp.ClientTimeout(
                total=self.config.timeout, sock_connect=self.config.connect_timeout
            ),
            # Tokens share a session; cookies would tie one token's server session to another.
            cookie_jar=aiohttp.DummyCookieJar(),
        )

    async def start(self) -> None:
        await self._pool.start()

    async def close(self) -> None:
        await self._pool.close()
        self.uploads.close()

    @property
    def session_count(self) -> int:
        """Override sessions currently pooled (the default instance's is not counted)."""
        return self._pool.override_count

    @property
    def token(self) -> str | None:
        """The configured access token (None: public endpoints only)."""
        return self._token

    def set_token(self, access_token: str | None) -> None:
        """Use another configured token from the next call on (a reload)."""
        self._token = access_token or None

    def api(self, base_url: str | None = None, access_token: str | None = None) -> Api:
        """A view on the configured instance, or on `base_url` with `access_token`.

        The configured token is used only for the configured instance: a call that names
        another `base_url` without its own `access_token` goes there unauthenticated.
        """
        base = self.base_url if base_url is None else normalize_base_url(base_url)
        if access_token:
            return Api(self, base, access_token)
        return Api(self, base, None, account=base == self.base_url)

    def _unauthorized(self, exc: Unauthorized, token: str) -> None:
        # a call still in flight with a token that a reload has replaced says nothing of the new
        if token == self._token and self.on_unauthorized is not None:
            self.on_unauthorized(exc)


@dataclass(slots=True)  # per call, as transport.Outgoing
class Result:
    """A call's outcome: HTTP status (202/206 matter for media), shaped data, Link targets."""

    status: int
    data: Any
    links: Links


@dataclass(slots=True)
class PageCapture:
    """Lets a list action be run as one page of `paginate`: its GET sends `cursor` (when
    set) as the query, and the result is kept here with its Link cursors."""

    cursor: Mapping[str, Any] | None = None
    result: Result | None = None


class Api:
    """One instance and token. Paths are Mastodon's templates (`/api/v1/statuses/{status_id}`).

    `account`: the view of the configured account, whose token is the client's current one.
    """

    def __init__(
        self,
        client: MastodonClient,
        base_url: str,
        access_token: str | None,
        capture: PageCapture | None = None,
        *,
        account: bool = False,
    ) -> None:
        self._client = client
        self.base_url = base_url
        self._token = access_token
        self._capture = capture
        self._account = account

    @property
    def config(self) -> MastodonConfig:
        return self._client.config

    @property
    def quirks(self) -> dict[str, str]:
        """What this instance was found to support, shared by every view on it."""
        return self._client.quirks.setdefault(self.base_url, {})

    @property
    def token(self) -> str | None:
        """The token calls go with now (the account's follows a reload)."""
        return self._client.token if self._account else self._token

    def with_token(self, access_token: str | None) -> Api:
        """The same instance with another token (None: unauthenticated)."""
        return Api(self._client, self.base_url, access_token, self._capture)

    def capturing(self, capture: PageCapture) -> Api:
        return Api(self._client, self.base_url, self._token, capture, account=self._account)

    async def get(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self.request("GET", path, params, files=files, headers=headers)).data

    async def post(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self.request("POST", path, params, files=files, headers=headers)).data

    async def put(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self.request("PUT", path, params, files=files, headers=headers)).data

    async def patch(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        return (await self.request("PATCH", path, params, files=files, headers=headers)).data

    async def delete(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        body: bool = False,
        headers: Mapping[str, str] | None = None,
    ) -> Any:
        """DELETE with `params` in the query, or in a form body when `body` (Rails reads
        both; some endpoints are documented with a body)."""
        return (await self.request("DELETE", path, params, headers=headers, body=body)).data

    async def page(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        cursor: Mapping[str, Any] | None = None,
    ) -> Page:
        """One page of a list endpoint; `cursor` (from a previous Page) replaces the query."""
        return _page(await self.request(method, path, params, cursor=cursor))

    async def page_at(self, url: str) -> Page:
        """GET a Link URL as it is, if it is on this instance (our token goes nowhere else)."""
        if not same_instance(url, self.base_url):
            raise InvalidParam("url", "is not on this instance")
        target = yarl.URL(url)
        return _page(await self._send("GET", target, target.raw_path, {}, None, None))

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        cursor: Mapping[str, Any] | None = None,
        body: bool = False,
    ) -> Result:
        """Send one call. `params` is typically the action's `locals()`: placeholders are
        filled from it, then `api`, path keys and None values are dropped, and the rest goes
        in the query (GET, DELETE unless `body`) or the form body (POST, PUT, PATCH; multipart
        with files).
        """
        verb = method.upper()
        if verb not in VERBS:
            raise ValueError(f"unsupported HTTP method {method!r}")
        values = params or {}
        filled, used = fill_path(path, values)
        if cursor is None and verb == "GET" and self._capture is not None:
            cursor = self._capture.cursor
        pairs = cursor_pairs(cursor) if cursor is not None else form_pairs(values, used)
        in_query = verb in _QUERY_VERBS and not files and not body
        url = self.base_url + filled
        if in_query and pairs:
            url += "?" + encode_query(pairs)
        result = await self._send(
            verb,
            yarl.URL(url, encoded=True),
            path,
            headers or {},
            None if in_query else pairs,
            files,
        )
        if verb == "GET" and self._capture is not None:
            self._capture.result = result
        return result

    async def _send(
        self,
        verb: str,
        url: yarl.URL,
        template: str,
        headers: Mapping[str, str],
        form: Pairs | None,
        files: Mapping[str, Any] | None,
    ) -> Result:
        sending = dict(headers)
        for name, value in sending.items():
            _check_header(_HEADER_PARAMS.get(name, name), value)
        token = self.token
        if token:
            _check_header("access_token", token)
            sending["Authorization"] = f"Bearer {token}"
        files_to_send = await self._client.uploads.read(files) if files else []
        if form and not files_to_send:
            sending["Content-Type"] = "application/x-www-form-urlencoded"
        out = Outgoing(verb, url, template, sending, form or None, files_to_send)
        async with self._client._pool.lease(self.base_url, fresh=not out.idempotent) as session:
            try:
                reply = await exchange(session, out, self.config, self._client.rate_clock)
            except Unauthorized as exc:
                if self._account and token:
                    self._client._unauthorized(exc, token)
                raise
        if self._account:
            self._client.clock.observe(reply.headers.get("Date"))
        data = empty_to_none(decode(reply.status, reply.content_type, reply.body))
        return Result(reply.status, data, parse_links(reply.headers.get("Link"), reply.url))


# Header values that come from a caller's parameters, to name them in the error.
_HEADER_PARAMS = {"Idempotency-Key": "idempotency_key"}


def _check_header(param: str, value: str) -> None:
    """A header value must be visible ASCII: a CR/LF or other control character would be
    refused by aiohttp (or split the header), so it is the caller's parameter that is wrong."""
    if not (value.isascii() and value.isprintable()):
        raise InvalidParam(param, "must be printable ASCII, without line breaks")


def _page(result: Result) -> Page:
    items = [] if result.data is None else result.data
    if not isinstance(items, list):
        raise UnexpectedResponse("The server answered a list request with a single object")
    return Page(items, cursor_of(result.links.next), cursor_of(result.links.prev))
