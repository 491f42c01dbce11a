"""The instance's clock offset, from the `Date` header of answers the request core gets."""

from __future__ import annotations

from email.utils import formatdate

from mastod.mastodon.clock import READINGS, InstanceClock


def test_the_offset_is_the_median_of_the_last_readings() -> None:
    clock = InstanceClock()
    assert clock.state() == {"offset_s": None}
    now = 1_800_000_000.0
    for ahead in (360, 359, 3600, 361, 360):  # one answer held up for long in between
        clock.observe(formatdate(now + ahead, usegmt=True), now=now)
    assert clock.offset == 360.5  # `Date` has whole seconds: the middle of the second
    for _ in range(READINGS):
        clock.observe(formatdate(now - 120, usegmt=True), now=now)
    assert clock.state() == {"offset_s": -119.5}  # the old readings are gone
    assert clock.measured_at == now
    assert clock.problem(300) is None
    assert clock.problem(60) == (
        "the instance's clock is 120 s behind ours (webhook.clock_skew is 60 s): pushes still "
        "trigger catch-ups; set up NTP on the host that is off"
    )


def test_a_missing_or_unreadable_date_changes_nothing() -> None:
    clock = InstanceClock()
    for header in (None, "", "yesterday", "Sun, 99 Foo 2026 25:61:00 GMT"):
        clock.observe(header)
    assert clock.offset is None
