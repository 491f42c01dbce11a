"""The public URL of the webhook: `webhook.public_url` if set, else an ngrok tunnel (pyngrok).

pyngrok is blocking (it starts the agent and talks to its local API), so every call runs in a
thread. Its binary and config live under `state_dir/ngrok` (the systemd unit makes everything
else read-only), unless `$PYNGROK_NGROK_PATH` names an installed binary. A failure is a log
line and `state = "error: ..."`, never a crash; the watch loop retries with backoff.

The watch loop also notices when the URL changes (the agent restarted, or the tunnel was
opened again with another hostname) and calls `on_url_change(new_url)`, which is where the
push subscription is re-registered.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from pyngrok import conf, installer, ngrok

from mastod.config import NgrokConfig, WebhookConfig
from mastod.logs import get_logger
from mastod.net import backoff_delay
from mastod.redaction import redact_text, register_secret
from mastod.tasks import TaskSet, stop_task

log = get_logger(__name__)

TUNNEL_NAME = "mastod-webhook"
UrlCallback = Callable[[str], Awaitable[None]]


def local_address(host: str, port: int) -> str:
    """The URL the tunnel forwards to. A scheme is needed: pyngrok 9 turns a bare
    `127.0.0.1:8766` into `http://localhost:127.0.0.1:8766`."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - a wildcard listener is reached on loopback
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _https(url: str) -> str:
    # ngrok terminates TLS on every hostname it hands out, and Mastodon wants https.
    return "https://" + url.removeprefix("http://") if url.startswith("http://") else url


class Tunnel:
    def __init__(
        self,
        webhook: WebhookConfig,
        ngrok_config: NgrokConfig,
        state_dir: Path,
        *,
        tasks: TaskSet,
        check_interval: float = 60.0,
        retry_max: float = 300.0,
        on_url_change: UrlCallback | None = None,
    ) -> None:
        self.on_url_change = on_url_change
        self.check_interval = check_interval
        self.retry_max = retry_max
        self._static = webhook.public_url
        self._url = webhook.public_url
        self._raw_url: str | None = None  # as ngrok wrote it: what disconnect() knows it by
        self._address = local_address(webhook.host, webhook.port)
        self._ngrok = ngrok_config
        self._state_dir = state_dir
        self._tasks = tasks
        self._pyngrok: conf.PyngrokConfig | None = None
        self._watch: asyncio.Task[Any] | None = None
        self.state = "not started"
        register_secret(ngrok_config.auth_token)

    @property
    def public_url(self) -> str | None:
        """The webhook's public base URL (https for ngrok), or None while there is none."""
        return self._url

    @property
    def uses_ngrok(self) -> bool:
        return self._static is None

    async def start(self) -> str | None:
        """Open the tunnel (unless `webhook.public_url` is set) and start watching it.

        Returns the public URL, or None if ngrok failed (it is retried in the background).
        """
        if self._static is not None:
            self.state = "static"
            log.info("tunnel.static", url=self._static)
            return self._static
        self.state = "connecting"
        await self.check()
        self._watch = self._tasks.spawn(self._run(), name="tunnel.watch")
        return self._url

    async def check(self) -> bool:
        """Is our tunnel still up with the same URL? Reopen it if not; announce a new URL."""
        if self._static is not None:
            return True
        try:
            raw = await asyncio.to_thread(self._find) if self._url else None
            if raw is None:
                raw = await asyncio.to_thread(self._open)
        # pyngrok fails in many ways (download, agent start, auth, its local API); all mean
        # "no tunnel for now", and the reason goes to the log and to `state`.
        except Exception as exc:
            reason = _reason(exc)
            self.state = f"error: {reason}"
            log.warning("tunnel.failed", error=reason)
            return False
        self.state = "connected"
        self._raw_url = raw
        url = _https(raw)
        if url != self._url:
            self._url = url
            log.info("tunnel.url", url=url)
            await self._announce(url)
        return True

    async def close(self) -> None:
        """Stop watching, close the tunnel and stop the agent (in a thread)."""
        watch, self._watch = self._watch, None
        await stop_task(watch)
        if self._pyngrok is not None:
            try:
                await asyncio.to_thread(self._shut, self._raw_url)
            except Exception as exc:  # shutting down anyway: report it and go on
                log.warning("tunnel.close_failed", error=_reason(exc))
        self.state = "closed"

    async def _run(self) -> None:
        first = min(5.0, self.check_interval)
        failures = 0
        while True:
            if self.state == "connected":
                await asyncio.sleep(self.check_interval)
            else:
                await asyncio.sleep(backoff_delay(failures, base=first, cap=self.retry_max))
            failures = 0 if await self.check() else failures + 1

    async def _announce(self, url: str) -> None:
        if self.on_url_change is None:
            return
        try:
            await self.on_url_change(url)
        except Exception:
            log.exception("tunnel.url_callback_failed")

    def _config(self) -> conf.PyngrokConfig:
        if self._pyngrok is None:
            directory = self._state_dir / "ngrok"
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            binary = os.environ.get("PYNGROK_NGROK_PATH") or str(directory / "ngrok")
            config_path = str(directory / "ngrok.yml")
            # The agent's local API (which can stop the tunnel or open others on the account)
            # on a loopback port nobody can guess instead of the well-known 4040, and no
            # request inspection: captured pushes hold the webhook's secret path.
            installer.install_default_config(
                config_path,
                {
                    "agent": {
                        "web_addr": f"127.0.0.1:{_free_loopback_port()}",
                        "inspect_db_size": -1,
                    }
                },
            )
            self._pyngrok = conf.PyngrokConfig(
                ngrok_path=binary,
                config_path=config_path,
                auth_token=self._ngrok.auth_token,
                region=self._ngrok.region,
            )
        return self._pyngrok

    def _open(self) -> str:
        """(thread) Open the tunnel; its public URL."""
        tunnel = ngrok.connect(
            self._address, "http", name=TUNNEL_NAME, pyngrok_config=self._config(), inspect=False
        )
        url = tunnel.public_url
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise RuntimeError("ngrok gave no public URL")
        return url

    def _find(self) -> str | None:
        """(thread) Our tunnel's public URL now, or None if the agent no longer has it."""
        for tunnel in ngrok.get_tunnels(self._config()):
            url = tunnel.public_url
            if isinstance(url, str) and (tunnel.name == TUNNEL_NAME or _https(url) == self._url):
                return url
        return None

    def _shut(self, url: str | None) -> None:
        """(thread) Close our tunnel and stop the agent pyngrok started for us."""
        config = self._config()
        if url is not None:
            ngrok.disconnect(url, config)
        ngrok.kill(config)


def _free_loopback_port() -> int:
    """A port free on 127.0.0.1 now, chosen by the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _reason(exc: BaseException) -> str:
    text = redact_text(" ".join(str(exc).split()) or type(exc).__name__)
    return text if len(text) <= 200 else text[:197] + "..."
