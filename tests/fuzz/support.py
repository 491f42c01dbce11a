"""What every fuzz test shares: input counts (and the opt-in long run), hypothesis profiles,
the hang bound, and a watch on the daemon's logs for failures nobody answered for.

Counts: each surface gets at least `CI_INPUTS` generated inputs in the default run. Set
`MASTOD_FUZZ_LONG=1` (or any integer N > 1) to multiply every count by 25 (or N), e.g.

    MASTOD_FUZZ_LONG=1 .venv/bin/pytest tests/fuzz -q        # the long run (~25x)
    MASTOD_FUZZ_LONG=200 .venv/bin/pytest tests/fuzz -q      # longer still

`MASTOD_FUZZ_SEED=<int>` changes the seed of the seeded generators (default: fixed, so a
failure in CI reproduces locally; a failing input is also printed in the assertion).

A bug a fuzzer finds is pinned in test_found_bugs.py by its smallest input (strict xfail
until fixed). If the fuzzer keeps tripping over it meanwhile, leave that input class out of
its generator with a comment naming the pinning test, and put it back with the fix.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import structlog
from aiohttp.http_exceptions import HttpProcessingError
from hypothesis import HealthCheck, Phase, settings

CI_INPUTS = 20_000
HANG_BOUND = 10.0  # seconds: an answer later than this is a hang (a detector, not a benchmark)


def _multiplier() -> int:
    raw = os.environ.get("MASTOD_FUZZ_LONG", "").strip()
    if not raw or raw == "0":
        return 1
    try:
        value = int(raw)
    except ValueError:
        return 25
    return 25 if value == 1 else max(1, value)


MULTIPLIER = _multiplier()
LONG = MULTIPLIER > 1
SEED = int(os.environ.get("MASTOD_FUZZ_SEED", "20261127"))


def scaled(count: int) -> int:
    """`count` inputs in the default run, `count * MULTIPLIER` in the long one."""
    return count * MULTIPLIER


# A fuzz test keeps its daemon across examples on purpose (state accumulates, as in real
# use), hence the function-scoped fixture health check is off; deadlines are timing
# assertions, which these tests must not make.
settings.register_profile(
    "mastod-fuzz",
    max_examples=400,
    deadline=None,
    derandomize=False,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    print_blob=True,
)


def profile(examples: int) -> settings:
    """The "mastod-fuzz" profile with `examples` examples (times the long-run multiplier),
    applied per test: the global hypothesis profile of the rest of the suite is untouched."""
    return settings(settings.get_profile("mastod-fuzz"), max_examples=scaled(examples))


def timeout_mark(seconds: int) -> pytest.MarkDecorator:
    """pytest-timeout for one fuzz test: `seconds` in CI, unbounded in the long run."""
    return pytest.mark.timeout(0 if LONG else seconds)


@dataclass
class LogWatch:
    """Keeps the daemon's error-level structlog events (and its `task.failed`/
    `rpc.internal_error` ones); every other event is dropped unrendered, which keeps a run
    of tens of thousands of calls fast and quiet."""

    problems: list[dict[str, Any]] = field(default_factory=list)
    internal_errors: int = 0

    def processor(
        self, _logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        event = event_dict.get("event")
        if event == "rpc.internal_error":
            self.internal_errors += 1
        elif method_name in ("error", "critical", "exception") or event == "task.failed":
            self.problems.append(dict(event_dict))
        raise structlog.DropEvent

    def failures(self) -> list[str]:
        return [
            f"{p.get('event')}: {p.get('exc_info') or p.get('error') or p}" for p in self.problems
        ]


@contextmanager
def watch_logs(level: int = logging.DEBUG) -> Iterator[LogWatch]:
    """Route structlog through a `LogWatch` for the duration, with the daemon's loggers at
    `level` (the daemon skips building the events its level drops, as at `log.level`); the
    configuration and the level are restored afterwards."""
    watch = LogWatch()
    old = structlog.get_config()
    daemon_logger = logging.getLogger("mastod")
    old_level = daemon_logger.level
    structlog.configure(processors=[watch.processor], cache_logger_on_first_use=False)
    daemon_logger.setLevel(level)
    try:
        yield watch
    finally:
        daemon_logger.setLevel(old_level)
        structlog.configure(**old)


def stdlib_errors(records: list[logging.LogRecord]) -> list[str]:
    """Error records of stdlib loggers (aiohttp's "Error handling request", asyncio's), but
    not aiohttp's note of a malformed request it answered 400 (a client's error, not ours:
    the sandbox logs one when the fuzzer makes the daemon send it a 1 MB URL), nor the
    sandbox's own failures (the test double's, answered 500, which the daemon maps to
    -32050: e.g. `create_filter` with `expires_in` >= 2**31 overflows its C int)."""
    return [
        f"{r.name}: {r.getMessage()} {r.exc_info[1] if r.exc_info else ''}"
        for r in records
        if r.levelno >= logging.ERROR
        and not r.name.startswith("mastod.sandbox")
        and not (r.exc_info and isinstance(r.exc_info[1], HttpProcessingError))
    ]
