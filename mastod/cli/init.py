"""`mastod init`: from an instance name to a working config, by the OAuth out-of-band flow
every Mastodon client uses (register an app, the user approves in a browser and pastes the
code, exchange it for a token, verify it), then the token file and the config.

stdout carries what a script may read: the authorization URL on a line of its own, then
`@user@instance`. Everything for the person (prompts, what was written, what comes next)
goes to stderr; prompts only when stdin is a terminal.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mastod.cli.setup_files import Layout

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
DEFAULT_SCOPES = "read write push"


def add_parser(sub: Any) -> None:
    init = sub.add_parser(
        "init",
        help="log in to an instance (OAuth) and write a config",
        description="Register mastod with the instance, print the authorization URL (open it, "
        "approve, and paste the code shown), then write the access token (0600) and a config. "
        "Run as root, it writes /etc/mastod/mastod.yaml for the systemd unit; else the "
        "user's ~/.config/mastod/mastod.yaml (or $MASTOD_CONFIG).",
    )
    init.add_argument("instance", nargs="?", metavar="INSTANCE_URL", help="e.g. mastodon.social")
    init.add_argument("--config", type=Path, help="where to write the config")
    init.add_argument(
        "--scopes", default=DEFAULT_SCOPES, help=f'OAuth scopes (default "{DEFAULT_SCOPES}")'
    )
    init.add_argument(
        "--force", action="store_true", help="replace an existing config and token file"
    )
    push = init.add_mutually_exclusive_group()
    push.add_argument(
        "--public-url",
        metavar="URL",
        help="public URL that reaches the webhook (your reverse proxy), for Web Push",
    )
    push.add_argument(
        "--ngrok",
        action="store_true",
        help="use ngrok for Web Push: its auth token is read from $NGROK_AUTHTOKEN, else one "
        "more line of stdin, and stored 0600 beside the access token",
    )
    init.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from mastod.cli import oauth
    from mastod.cli.setup_files import Layout, SetupError

    try:
        layout = Layout.for_user(args.config)
        layout.refuse_overwrite(force=args.force)
        scopes = tuple(dict.fromkeys(args.scopes.split()))
        if not scopes:
            raise SetupError("--scopes: name at least one scope")
        public_url = oauth.normalise_public_url(args.public_url) if args.public_url else None
        base_url = oauth.normalise_url(
            args.instance or _ask("Instance (e.g. mastodon.social)", "instance URL")
        )
        instance = oauth.check_instance(base_url)
        _say(
            f"{instance.title} ({instance.domain}), Mastodon API {instance.version}; "
            f"streaming: {instance.streaming_url or 'not announced'}; Web Push key: "
            f"{'yes' if instance.vapid_key else 'not announced'}"
        )
        token, account = _authorize(instance.base_url, scopes, layout)
        ngrok_token = _ngrok_token() if args.ngrok else None
        written = layout.write(
            base_url=instance.base_url,
            token=token,
            ngrok_token=ngrok_token,
            public_url=public_url,
            account=f"@{account['acct']}@{instance.domain}",
        )
    except (oauth.InitError, SetupError) as exc:
        print(f"mastod init: {exc}", file=sys.stderr)
        return EXIT_ERROR if isinstance(exc, oauth.InitError) else EXIT_USAGE
    print(f"@{account['acct']}@{instance.domain}", flush=True)
    for line in written:
        _say(line)
    _say(_notification_source(scopes, public_url, ngrok_token))
    flag = "" if layout.is_default_config() else f" --config {layout.config}"
    _say(f"next: mastod check-config{flag} && mastod serve{flag}")
    return EXIT_OK


def _authorize(
    base_url: str, scopes: tuple[str, ...], layout: Layout
) -> tuple[str, dict[str, Any]]:
    """Register the app (or reuse the one stored for this instance), let the user approve,
    exchange the code; the token and the account it belongs to."""
    from mastod.cli import oauth

    app = layout.stored_app(base_url, scopes)
    if app is not None and not oauth.app_is_known(base_url, app):
        layout.forget_app(base_url)
        app = None
    if app is None:
        app = oauth.register_app(base_url, scopes)
        layout.store_app(base_url, app)
    print(oauth.authorization_url(base_url, app, scopes), flush=True)
    code = _ask("Open the URL above, approve, and paste the code shown", "code").strip()
    if not code:
        raise oauth.InitError("no authorization code given")
    try:
        token, granted = oauth.exchange_code(base_url, app, code, scopes)
    except oauth.UnknownApp:
        layout.forget_app(base_url)
        raise
    missing = oauth.missing_scopes(scopes, granted)
    if missing:
        oauth.revoke(base_url, app, token)
        raise oauth.InitError(
            f"the token lacks the scope {', '.join(missing)} (granted: {granted or 'none'}); "
            "approve every requested scope, or ask for fewer with --scopes"
        )
    return token, oauth.verify_credentials(base_url, token)


def _ngrok_token() -> str:
    from mastod.cli.oauth import InitError

    token = (
        os.environ.get("NGROK_AUTHTOKEN", "").strip()
        or _ask("ngrok auth token", "ngrok token").strip()
    )
    if not token:
        raise InitError("no ngrok auth token given (set $NGROK_AUTHTOKEN or type it)")
    return token


def _notification_source(
    scopes: tuple[str, ...], public_url: str | None, ngrok_token: str | None
) -> str:
    if "push" not in scopes:
        return (
            "notifications: streaming (Web Push needs the push scope: mastod init --force "
            f'--scopes "{" ".join((*scopes, "push"))}")'
        )
    if public_url or ngrok_token:
        via = public_url or "an ngrok tunnel"
        return f"notifications: Web Push through {via} (streaming if push cannot start)"
    return (
        "notifications: streaming (for Web Push, give a public URL that reaches the webhook "
        "with --public-url, or an ngrok token with --ngrok, and run mastod init --force)"
    )


def _ask(prompt: str, what: str) -> str:
    """One line of stdin; the prompt (stderr) only for a person at a terminal."""
    if sys.stdin.isatty():
        print(f"{prompt}: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        from mastod.cli.oauth import InitError

        raise InitError(f"stdin ended before the {what}")
    return line.rstrip("\r\n")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
