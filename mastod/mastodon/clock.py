"""How far the instance's clock is from ours, read from the `Date` header of the answers the
request core already gets (never a request of its own).

`Date` has a resolution of one second and is set when the server starts answering, so one
reading is within about a second of the truth (plus the request's own latency); the offset is
the median of the last few readings, which keeps one slow answer from moving it.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from email.utils import parsedate_to_datetime

READINGS = 5  # answers the offset is the median of


class InstanceClock:
    def __init__(self) -> None:
        self._readings: deque[float] = deque(maxlen=READINGS)
        self.measured_at: float | None = None  # our wall clock at the newest reading
        # `Date` changes once a second: answers within that second parse it once
        self._parsed: tuple[str, float] | None = None

    def observe(self, date_header: str | None, now: float | None = None) -> None:
        """Take one reading from an answer's `Date` header (ignored when absent or unreadable)."""
        if not date_header:
            return
        if self._parsed is not None and self._parsed[0] == date_header:
            theirs = self._parsed[1]
        else:
            try:
                theirs = parsedate_to_datetime(date_header).timestamp()
            except (TypeError, ValueError, IndexError, OverflowError):
                return
            self._parsed = (date_header, theirs)
        ours = time.time() if now is None else now
        # `Date` is truncated to the second: the middle of that second is the best guess
        self._readings.append(theirs + 0.5 - ours)
        self.measured_at = ours

    @property
    def offset(self) -> float | None:
        """Seconds the instance's clock is ahead of ours (negative: behind); None if unknown."""
        if not self._readings:
            return None
        return statistics.median(self._readings)

    def problem(self, window: float) -> str | None:
        """Words for `/health` when the clocks disagree by more than `window` seconds."""
        offset = self.offset
        if offset is None or abs(offset) <= window:
            return None
        way = "ahead of" if offset > 0 else "behind"
        return (
            f"the instance's clock is {abs(offset):.0f} s {way} ours (webhook.clock_skew is "
            f"{window:g} s): pushes still trigger catch-ups; set up NTP on the host that is off"
        )

    def state(self) -> dict[str, float | None]:
        offset = self.offset
        return {"offset_s": None if offset is None else round(offset, 1)}
