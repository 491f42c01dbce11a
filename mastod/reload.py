"""SIGHUP: re-read what can change without a restart, and say what changed.

That is the Mastodon access token (from `mastodon.access_token`, its file, the environment or
the systemd credential, as at start), the RPC bearer token (`rpc.token_file`) and `log.level`.
A new access token is verified at once (the account's state heals in `status`). A config that
does not load keeps every running value and logs one line; other changed settings are named
in the log as needing a restart.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from mastod.account import Account
from mastod.config import Config, ConfigError, load_or_create_rpc_token
from mastod.logs import get_logger, set_level
from mastod.mastodon.client import MastodonClient
from mastod.redaction import register_secret
from mastod.rpc.http import Bearer
from mastod.systemd import Notifier

log = get_logger(__name__)


class Reloader:
    def __init__(
        self,
        config: Config,
        load: Callable[[], Config],
        *,
        client: MastodonClient,
        account: Account,
        bearer: Bearer,
        notifier: Notifier,
    ) -> None:
        self._config = config
        self._load = load
        self._client = client
        self._account = account
        self._bearer = bearer
        self._notifier = notifier

    def __call__(self) -> None:
        self._notifier.reloading()
        outcome = "reload failed: see the log"
        try:
            outcome = self._reload()
        finally:
            self._notifier.ready(outcome)  # STATUS= for `systemctl status`

    def _reload(self) -> str:
        current = self._config
        try:
            new = self._load()
            rpc_token = None
            if self._bearer.token is not None:  # the listener wants one: same file as at start
                rpc_token = load_or_create_rpc_token(current.rpc.token_file)
        except ConfigError as exc:
            log.error("daemon.reload_failed", error=str(exc), kept="the running values")
            return "reload failed (config error), running values kept"
        reloaded = []
        if new.log.level != current.log.level:
            reloaded.append("log.level")
        token = new.mastodon.access_token
        if token != self._client.token:
            register_secret(token)
            self._client.set_token(token)
            self._account.token_changed()
            reloaded.append("mastodon.access_token")
        if rpc_token is not None and rpc_token != self._bearer.token:
            register_secret(rpc_token)
            self._bearer.token = rpc_token
            reloaded.append("rpc.token")
        applied = dataclasses.replace(
            current,
            log=dataclasses.replace(current.log, level=new.log.level),
            mastodon=dataclasses.replace(current.mastodon, access_token=token),
        )
        self._config = applied
        restart = _differences(applied, new)
        log.info(
            "daemon.reloaded",
            reloaded=reloaded or "nothing changed",
            log_level=new.log.level,
            **({"restart_needed_for": restart} if restart else {}),
        )
        # last: this line goes out at the level the operator ran with when sending the signal
        set_level(new.log.level)
        return f"reloaded: {', '.join(reloaded) or 'nothing changed'}"


def _differences(running: Config, loaded: Config) -> list[str]:
    """Dotted keys (down to the second level) whose loaded value differs from the running one."""
    keys = []
    for section in dataclasses.fields(Config):
        old, new = getattr(running, section.name), getattr(loaded, section.name)
        if old == new:
            continue
        if not dataclasses.is_dataclass(old) or not dataclasses.is_dataclass(new):
            keys.append(section.name)
            continue
        for item in dataclasses.fields(old):
            if getattr(old, item.name) != getattr(new, item.name):
                keys.append(f"{section.name}.{item.name}")
    return keys
