"""The `mastod` command: serve, check-config, init, call, listen.

`call` and `listen` are what shell scripts run many times: this package imports only the
standard library at the top (PyYAML when a config file names the socket), never the daemon's
stack; `serve`, `check-config` and `init` import what they need when they run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from mastod import __version__
from mastod.cli import call, check, init, listen
from mastod.cli.client import silence_stdout


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    # `call M --json '{...}' limit:=2`: argparse takes no positional after an option, so
    # name=value pairs found there are the call's params too.
    args, extra = parser.parse_known_args(argv)
    if extra and args.command == "call" and all("=" in a and a[0] != "-" for a in extra):
        args.params += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        return int(args.run(args))
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `mastod ... | head`: the reader has gone, which is no error.
        silence_stdout()
        return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mastod", description="Drive a Mastodon account through a local JSON-RPC daemon."
    )
    parser.add_argument("--version", action="version", version=f"mastod {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = sub.add_parser("serve", help="run the daemon")
    serve.add_argument(
        "--config",
        type=Path,
        help="config file (default: $MASTOD_CONFIG, else ./config/mastod.yaml, else the one "
        "`mastod init` wrote)",
    )
    serve.add_argument(
        "--sandbox",
        action="store_true",
        help="run against the built-in in-memory Mastodon (no account needed); with --config, "
        "everything but the instance and the state comes from that file",
    )
    serve.set_defaults(run=_serve)
    check.add_parser(sub)
    init.add_parser(sub)
    call.add_parser(sub)
    listen.add_parser(sub)
    return parser


def _serve(args: argparse.Namespace) -> int:
    from mastod.daemon import run

    return run(config_path=args.config, sandbox=args.sandbox)
