"""Suite-wide settings."""

from __future__ import annotations

import logging

import pytest


@pytest.fixture(autouse=True)
def _daemon_logs_at_debug() -> None:
    """The daemon skips building log events its configured level would drop (a hot-path
    cost). Tests that capture structlog events without `configure_logging` see the daemon as
    if it ran at `log.level: debug`; `configure_logging` in a test sets its own level."""
    logging.getLogger("mastod").setLevel(logging.DEBUG)
