"""Cold one-shot calls, as a shell script makes them: a new process per call against the
running daemon (socat, `mastod call`), beside a Mastodon.py one-liner against the same
upstream and the bare interpreter start. Runs are interleaved, medians reported."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.fixtures import ACCESS_TOKEN, STATUS_ID
from bench.stats import median, percentile


@dataclass(frozen=True)
class OneShot:
    name: str
    argv: list[str]
    stdin: bytes | None
    env: dict[str, str]
    expect: bytes  # must appear in stdout: the call really happened


def _frame(method: str, params: dict[str, Any]) -> bytes:
    request = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    return json.dumps(request).encode() + b"\n"


def commands(
    *,
    socket_path: Path,
    config_path: Path,
    upstream: str,
    env: dict[str, str],
    env_as_is: dict[str, str] | None,
) -> list[OneShot]:
    """The one-shots to time; `env_as_is` adds `mastod call` as this checkout runs it."""
    python = sys.executable
    mastod = str(Path(python).parent / "mastod")
    post = {"status": "hello from a shell script"}
    shots: list[OneShot] = []
    socat = shutil.which("socat")
    if socat is not None:
        target = f"UNIX-CONNECT:{socket_path}"
        shots += [
            OneShot(
                "socat publish_status",
                [socat, "-", target],
                _frame("publish_status", post),
                env,
                b'"result"',
            ),
            OneShot(
                "socat get_status",
                [socat, "-", target],
                _frame("get_status", {"status_id": STATUS_ID}),
                env,
                b'"result"',
            ),
        ]
    call = [mastod, "call"]
    sock = ["--socket", str(socket_path)]
    shots += [
        OneShot(
            "mastod call publish_status",
            [*call, "publish_status", f"status={post['status']}", *sock],
            None,
            env,
            STATUS_ID.encode(),
        ),
        OneShot(
            "mastod call get_status",
            [*call, "get_status", f"status_id={STATUS_ID}", *sock],
            None,
            env,
            STATUS_ID.encode(),
        ),
        OneShot(
            "mastod call --config (socket from YAML)",
            [*call, "get_status", f"status_id={STATUS_ID}", "--config", str(config_path)],
            None,
            env,
            STATUS_ID.encode(),
        ),
    ]
    if env_as_is is not None:
        shots.append(
            OneShot(
                "mastod call get_status, no bytecode cache (checkout as is)",
                [*call, "get_status", f"status_id={STATUS_ID}", *sock],
                None,
                env_as_is,
                STATUS_ID.encode(),
            )
        )
    script = (
        "from mastodon import Mastodon; "
        f"print(Mastodon(api_base_url={upstream!r}, access_token={ACCESS_TOKEN!r})"
        f".status_post({post['status']!r})['id'])"
    )
    shots += [
        OneShot(
            "Mastodon.py one-shot status_post",
            [python, "-c", script],
            None,
            env,
            STATUS_ID.encode(),
        ),
        OneShot("python -c pass (interpreter start)", [python, "-c", "pass"], None, env, b""),
        OneShot(
            "python -c 'import mastod.cli' (the call's imports)",
            [python, "-c", "import mastod.cli"],
            None,
            env,
            b"",
        ),
    ]
    return shots


def run(shots: Sequence[OneShot], reps: dict[str, int]) -> list[dict[str, Any]]:
    """Time each one-shot `reps[name]` times (default: the largest count), interleaved."""
    times: dict[str, list[float]] = {s.name: [] for s in shots}
    failures: dict[str, str] = {}
    rounds = max(reps.values())
    for i in range(rounds):
        for shot in shots:
            if i >= reps.get(shot.name, rounds) or shot.name in failures:
                continue
            started = time.perf_counter()
            done = subprocess.run(
                shot.argv,
                input=shot.stdin,
                env=shot.env,
                capture_output=True,
                timeout=60,
                check=False,
            )
            elapsed = time.perf_counter() - started
            if done.returncode != 0 or shot.expect not in done.stdout:
                failures[shot.name] = (
                    f"exit {done.returncode}: {done.stderr.decode(errors='replace')[-300:]}"
                    f"{done.stdout.decode(errors='replace')[:200]}"
                )
                continue
            times[shot.name].append(elapsed)
    return [
        {
            "name": shot.name,
            "n": len(times[shot.name]),
            "median_ms": _ms(median(times[shot.name])),
            "p90_ms": _ms(percentile(times[shot.name], 90)),
            "min_ms": _ms(min(times[shot.name], default=None)),
            "error": failures.get(shot.name),
        }
        for shot in shots
    ]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000
