"""`python -m tests.reliability.probe serve --config PATH`: the daemon exactly as
`python -m mastod serve`, plus one test-only probe for the load test and the soak.

mastod reports no task count (`status` has none), so on SIGUSR1 this wrapper writes, from
inside the daemon's event loop, `{"tasks": N, "by_name": {...}, "threads": N}` to the file
named by `$RELIABILITY_PROBE_FILE` (written to a temporary name, then renamed). Nothing in
`mastod` is changed: the wrapper only wraps `mastod.app.serve` before the CLI runs.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import threading
from collections import Counter
from pathlib import Path
from typing import Any

PROBE_ENV = "RELIABILITY_PROBE_FILE"
_ID_TAIL = re.compile(r"([.-]?[0-9a-f]{8,}|-\d+)$")


def task_kind(name: str) -> str:
    """`notify.sub.3fa4...` -> `notify.sub`, `Task-123` -> `Task`."""
    return _ID_TAIL.sub("", name)


def _dump(path: Path) -> None:
    tasks = asyncio.all_tasks()
    report = {
        "tasks": len(tasks),
        "by_name": dict(Counter(task_kind(t.get_name()) for t in tasks)),
        "threads": threading.active_count(),
    }
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(report))
    os.replace(temporary, path)


def main() -> int:
    import mastod.app
    from mastod.cli import main as cli_main

    original = mastod.app.serve
    target = os.environ.get(PROBE_ENV)

    async def serve(config: Any, *, rpc_token: str | None, reload: Any = None) -> None:
        if target:
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGUSR1, _dump, Path(target))
        await original(config, rpc_token=rpc_token, reload=reload)

    mastod.app.serve = serve  # mastod.daemon imports it at call time
    return cli_main()


if __name__ == "__main__":
    raise SystemExit(main())
