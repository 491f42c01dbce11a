"""Logging: structlog for our code, stdlib logging (aiohttp, pyngrok, asyncio) in the same format.

Both kinds of line end on one stream (stderr), rendered alike: console on a terminal, one JSON
object per line otherwise (journald). Our events are rendered by structlog's chain and written
by `_Lines` under the lock of the stdlib handler, which renders the records of other libraries
through a `ProcessorFormatter`. Just before rendering, both pass `mastod.redaction.redact`,
which masks every secret.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from mastod.jsontext import fast_dumps
from mastod.redaction import redact

_handler: logging.Handler | None = None


# A line passes each processor in turn, a Python call each: the steps that every line takes
# are one function where they are ours (`_stamp`, `_json_line`), and the traceback steps run
# only for the lines that carry one (`_tracebacks`).


def _stamp(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """Level, logger name and time: our own text, with nothing to redact. As structlog's
    `add_log_level` and `add_logger_name` write them (a stdlib record's own name when the
    event is one), and a timestamp (`_timestamp`)."""
    event["level"] = _LEVELS.get(method, method)
    record = event.get("_record")
    event["logger"] = logger.name if record is None else record.name
    event["timestamp"] = _timestamp()
    return event


_LEVELS = {"warn": "warning", "exception": "error"}  # structlog's `map_method_name`
_second: tuple[int, str] = (0, "")


def _timestamp() -> str:
    """UTC, ISO 8601 with microseconds and `Z`, as structlog's `TimeStamper(fmt="iso",
    utc=True)` writes it but with the microseconds always there. The date and time of day
    are formatted once per second, where TimeStamper builds and formats a `datetime` for
    every line."""
    global _second
    now = time.time()
    second = int(now)
    if _second[0] != second:
        _second = (second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)))
    return f"{_second[1]}.{int((now - second) * 1_000_000):06d}Z"


_STACK_INFO = structlog.processors.StackInfoRenderer()


def _tracebacks(logger: WrappedLogger, method: str, event: EventDict) -> EventDict:
    """`stack_info` and `exc_info` rendered as plain text (so that `redact` sees them)."""
    if "stack_info" in event or "exc_info" in event:
        event = _STACK_INFO(logger, method, event)
        return structlog.processors.format_exc_info(logger, method, event)
    return event


def _renderer(fmt: str, stream: TextIO) -> Processor:
    if fmt == "console" or (fmt == "auto" and _isatty(stream)):
        return structlog.dev.ConsoleRenderer(colors=_isatty(stream))
    return _json_line


def _json_line(_logger: WrappedLogger, _method: str, event: EventDict) -> str:
    """One JSON object: orjson's, or the stdlib's for what orjson refuses (anything else as
    its repr(), as structlog's JSONRenderer does)."""
    try:
        return fast_dumps(event)
    except TypeError:
        return json.dumps(event, default=repr)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or minimal stream
        return False


def configure_logging(
    level: str = "info",
    fmt: str = "auto",
    stream: TextIO = sys.stderr,
) -> None:
    """Route structlog and stdlib logging to `stream` at `level`; safe to call again.

    A later call (after the config is loaded, say) replaces the handler of the earlier one.
    """
    global _handler
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    if fmt not in ("auto", "console", "json"):
        raise ValueError(f"unknown log format {fmt!r}")
    renderer = _renderer(fmt, stream)
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[structlog.contextvars.merge_contextvars, _stamp],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _tracebacks,
            redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(_ACCEPT_ERRORS)
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    root.addHandler(handler)
    root.setLevel(numeric)
    logging.getLogger("mastod").setLevel(logging.NOTSET)  # the configured level rules
    _handler = handler
    # No caller lookup per record (a stack walk, a large share of a JSON line's cost): no
    # renderer here prints file or line. The knob the logging HOWTO names for it
    # ("Optimization": "Information about where calls were made from").
    logging._srcfile = None
    lines: dict[str, _Lines] = {}

    def lines_of(name: str) -> _Lines:
        writer = lines.get(name)
        if writer is None:
            writer = lines[name] = _Lines(name, handler)
        return writer

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _tracebacks,
            redact,
            # after the redaction, which has nothing to mask in them (the keys come last
            # either way: the order of a line is unchanged)
            _stamp,
            renderer,
        ],
        logger_factory=lines_of,
        # the level is checked by `Logger` against the stdlib's (which `set_level` changes)
        wrapper_class=_UNFILTERED,
        # uncached: a logger used before a reconfiguration (or capture_logs()) follows it
        cache_logger_on_first_use=False,
    )


_UNFILTERED = structlog.make_filtering_bound_logger(logging.DEBUG)


class _Lines:
    """Where our own events go once rendered: straight to the handler's stream, under the
    handler's lock (so they never interleave with a record of aiohttp's or asyncio's).
    The stdlib's LogRecord, handler and formatter would cost more than rendering the line;
    other libraries' records still take that way."""

    __slots__ = ("_handler", "name")

    def __init__(self, name: str, handler: logging.StreamHandler[TextIO]) -> None:
        self.name = name  # for `add_logger_name`
        self._handler = handler

    def msg(self, line: str) -> None:
        handler = self._handler
        with handler.lock or contextlib.nullcontext():
            try:
                handler.stream.write(line + "\n")
                handler.stream.flush()
            except (OSError, ValueError):  # stderr gone (a closed pipe): the daemon goes on
                pass

    debug = info = warning = error = critical = msg


def set_level(level: str) -> None:
    """Change the level `configure_logging` set (a reload); every logger follows at once."""
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        raise ValueError(f"unknown log level {level!r}")
    logging.getLogger().setLevel(numeric)


class RepeatFilter(logging.Filter):
    """Lets a record whose message starts with `prefix` through once per `interval` seconds,
    saying how many were held back. asyncio logs a failed `accept()` (out of descriptors)
    once per attempt, tens of thousands a minute under a connection flood."""

    def __init__(self, prefix: str, interval: float) -> None:
        super().__init__()
        self.prefix = prefix
        self.interval = interval
        self.suppressed = 0
        self._last: float | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefix):
            return True
        now = time.monotonic()
        if self._last is not None and now - self._last < self.interval:
            self.suppressed += 1
            return False
        if self.suppressed:
            record.msg = f"{record.msg} ({self.suppressed} more since the last such line)"
        self._last, self.suppressed = now, 0
        return True


_ACCEPT_ERRORS = RepeatFilter("socket.accept() out of system resource", 60.0)


class Gathering:
    """`with Gathering() as items`: within the block, `gather` collects short lines for the
    block's own log line (an RPC call's line lists the upstream requests it made): one line
    per call, not one per request as well. Tasks started in the block and still running after
    it log their own. A class, not a generator-based context manager: it runs around every
    call at `info`."""

    __slots__ = ("_token", "items", "open")

    def __init__(self) -> None:
        self.items: list[str] = []
        self.open = True

    def __enter__(self) -> list[str]:
        self._token = _gathering.set(self)
        return self.items

    def __exit__(self, *exc_info: object) -> None:
        self.open = False
        _gathering.reset(self._token)


_gathering: contextvars.ContextVar[Gathering | None] = contextvars.ContextVar(
    "mastod_log_gathering", default=None
)


def gather(text: str) -> bool:
    """Put `text` into the line of the `Gathering` block being run; False when there is
    none (the caller then logs a line of its own)."""
    gathered = _gathering.get()
    if gathered is None or not gathered.open:
        return False
    gathered.items.append(text)
    return True


class Logger:
    """What `get_logger` returns: a structlog logger behind the stdlib's level check.

    A call at a level that is off costs only the stdlib logger's cached `isEnabledFor`,
    where structlog alone would bind a logger and start the processor chain before
    `filter_by_level` drops the event, so hot paths need no guards of their own. The
    structlog logger is kept while structlog's configuration stays as it was, and made again
    when it changes: a reconfiguration (or `capture_logs()`) applies to loggers made before
    it. (structlog's own lazy proxy, uncached, assembles a logger for every line.)
    """

    __slots__ = ("_made", "_name", "_std")

    def __init__(self, name: str) -> None:
        self._name = name
        self._std = logging.getLogger(name)
        self._made: tuple[dict[str, Any], Any] | None = None

    @property
    def _log(self) -> Any:
        config = structlog.get_config()
        made = self._made
        if made is None or made[0] != config:
            made = self._made = (config, structlog.get_logger(self._name).bind())
        return made[1]

    def enabled(self, level: int) -> bool:
        return self._std.isEnabledFor(level)

    def debug(self, event: str, **fields: Any) -> None:
        if self._std.isEnabledFor(logging.DEBUG):
            self._log.debug(event, **fields)

    def info(self, event: str, **fields: Any) -> None:
        if self._std.isEnabledFor(logging.INFO):
            self._log.info(event, **fields)

    def warning(self, event: str, **fields: Any) -> None:
        if self._std.isEnabledFor(logging.WARNING):
            self._log.warning(event, **fields)

    def error(self, event: str, **fields: Any) -> None:
        if self._std.isEnabledFor(logging.ERROR):
            self._log.error(event, **fields)

    def exception(self, event: str, **fields: Any) -> None:
        """An error with the traceback of the exception being handled."""
        if self._std.isEnabledFor(logging.ERROR):
            self._log.exception(event, **fields)


def get_logger(name: str) -> Logger:
    """The logger for module `name` (`log = get_logger(__name__)`)."""
    return Logger(name)
