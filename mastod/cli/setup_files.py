"""What `mastod init` writes, and where: the config, the token files (0600) and the app's
client credentials (in `state_dir`, so a second `init` for the same instance reuses them).

As root the paths are the systemd unit's (`/etc/mastod/NAME.yaml`, `/var/lib/mastod`,
`/run/mastod/NAME.sock`, the files handed to the `mastod` user when it exists); otherwise the
user's own (XDG config, state and runtime directories). A config named other than
`mastod.yaml` is a profile: its state, socket and token get its name, as the template unit
`mastod@NAME` expects.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from mastod.cli.oauth import App
from mastod.paths import default_socket_path, default_state_dir, user_config_path

APPS_FILE = "oauth-apps.json"
SERVICE_USER = "mastod"


class SetupError(Exception):
    """A file `init` needs cannot be written, or would be overwritten without --force."""


@dataclass(frozen=True, slots=True)
class Layout:
    config: Path
    token_file: Path
    ngrok_token_file: Path
    state_dir: Path
    socket: Path
    owner: tuple[int, int] | None  # uid, gid the daemon runs as, when that is not us

    @classmethod
    def for_user(cls, config: Path | None, env: dict[str, str] | None = None) -> Layout:
        env = dict(os.environ) if env is None else env
        configured = env.get("MASTOD_CONFIG", "").strip()
        path = config or (Path(configured) if configured else user_config_path(env))
        path = path.expanduser().absolute()
        profile = path.stem if path.stem != "mastod" else None
        state, sock = default_state_dir(), default_socket_path()
        if profile is not None:
            state, sock = state / profile, sock.with_name(f"{profile}.sock")
        prefix = f"{profile}." if profile else ""
        owner = None
        if os.geteuid() == 0:
            try:
                entry = pwd.getpwnam(SERVICE_USER)
                owner = (entry.pw_uid, entry.pw_gid)
            except KeyError:
                pass
        return cls(
            config=path,
            token_file=path.with_name(f"{prefix}access-token"),
            ngrok_token_file=path.with_name(f"{prefix}ngrok-auth-token"),
            state_dir=state,
            socket=sock,
            owner=owner,
        )

    def is_default_config(self) -> bool:
        from mastod.paths import default_config_path

        return default_config_path().absolute() == self.config

    def refuse_overwrite(self, *, force: bool) -> None:
        if force:
            return
        for path in (self.config, self.token_file):
            if path.exists():
                raise SetupError(f"{path} exists (use --force to replace it)")

    # -- the app's client credentials ------------------------------------------------------

    def stored_app(self, base_url: str, scopes: tuple[str, ...]) -> App | None:
        entry = self._apps().get(base_url)
        if not isinstance(entry, dict):
            return None
        client_id, secret = entry.get("client_id"), entry.get("client_secret")
        granted = str(entry.get("scopes", "")).split()
        if not (isinstance(client_id, str) and isinstance(secret, str)):
            return None
        if not set(scopes) <= set(granted):
            return None  # the app cannot ask for more than it registered: register anew
        return App(client_id, secret, tuple(granted))

    def store_app(self, base_url: str, app: App) -> None:
        apps = self._apps()
        apps[base_url] = {
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "scopes": " ".join(app.scopes),
        }
        self._write_state(apps)

    def forget_app(self, base_url: str) -> None:
        apps = self._apps()
        if apps.pop(base_url, None) is not None:
            self._write_state(apps)

    def _apps(self) -> dict[str, object]:
        try:
            doc = json.loads((self.state_dir / APPS_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return doc if isinstance(doc, dict) else {}

    def _write_state(self, apps: dict[str, object]) -> None:
        self._mkdir(self.state_dir, 0o700)
        _write(self.state_dir / APPS_FILE, json.dumps(apps, indent=2) + "\n", 0o600, self.owner)

    # -- the token and the config ----------------------------------------------------------

    def write(
        self,
        *,
        base_url: str,
        token: str,
        ngrok_token: str | None,
        public_url: str | None,
        account: str,
    ) -> list[str]:
        """Write the token file(s) and the config; what was written, for the user."""
        self._mkdir(self.config.parent, 0o750 if self.owner else 0o700)
        _write(self.token_file, token + "\n", 0o600, self.owner)
        written = [f"wrote {self.token_file} (the access token, mode 0600)"]
        if ngrok_token is not None:
            _write(self.ngrok_token_file, ngrok_token + "\n", 0o600, self.owner)
            written.append(f"wrote {self.ngrok_token_file} (the ngrok token, mode 0600)")
        group = (0, self.owner[1]) if self.owner else None
        text = self.config_text(base_url, ngrok_token is not None, public_url, account)
        _write(self.config, text, 0o640 if group else 0o600, group)
        written.append(f"wrote {self.config}")
        return written

    def config_text(self, base_url: str, ngrok: bool, public_url: str | None, account: str) -> str:
        def q(value: object) -> str:
            return json.dumps(str(value))  # a JSON string is a YAML double-quoted scalar

        today = datetime.now(UTC).date().isoformat()
        lines = [
            f"# Written by `mastod init` on {today} for {account}.",
            "# Every key, with its default: config/mastod.example.yaml in the mastod sources.",
            "mastodon:",
            f"  base_url: {q(base_url)}",
            f"  access_token_file: {q(self.token_file)}",
            "rpc:",
            f"  unix_socket: {q(self.socket)}",
            f"  token_file: {q(self.state_dir / 'rpc.token')}  # bearer token for HTTP/WebSocket",
            f"state_dir: {q(self.state_dir)}",
            "notifications:",
            "  source: auto  # Web Push when a public URL or an ngrok token is set, else streaming",
        ]
        if public_url is not None:
            lines += ["webhook:", f"  public_url: {q(public_url)}"]
        if ngrok:
            lines += ["ngrok:", f"  auth_token_file: {q(self.ngrok_token_file)}"]
        return "\n".join(lines) + "\n"

    def _mkdir(self, path: Path, mode: int) -> None:
        try:
            path.mkdir(mode=mode, parents=True, exist_ok=True)
        except OSError as exc:
            raise SetupError(f"cannot create {path}: {exc.strerror or exc}") from None
        if self.owner is None:
            return
        try:
            if path == self.state_dir:
                os.chown(path, *self.owner)
            elif path == self.config.parent and path.name == "mastod":
                # the daemon's user must be able to enter its own config directory (not
                # root:root 0750); never a shared one such as /etc
                os.chown(path, -1, self.owner[1])
                path.chmod(0o750)
        except OSError as exc:
            raise SetupError(f"cannot hand {path} to the {SERVICE_USER} user: {exc}") from None


def _write(path: Path, text: str, mode: int, owner: tuple[int, int] | None) -> None:
    """Replace `path` whole (a temporary file renamed over it), created with `mode` from the
    start so a secret is never readable by others, not even for a moment."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
                file.flush()
                os.fchmod(file.fileno(), mode)  # the umask may have narrowed it
                if owner is not None:
                    os.fchown(file.fileno(), *owner)
                os.fsync(file.fileno())
            os.replace(temporary, path)
        finally:
            temporary.unlink(missing_ok=True)
    except OSError as exc:
        raise SetupError(f"cannot write {path}: {exc.strerror or exc}") from None
