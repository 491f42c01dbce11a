"""Replay memory (`SeenPushes`): a push is held until its JWT expires, and the set stays
bounded without sweeping itself on every push once full."""

from __future__ import annotations

from mastod.push.receiver import SeenPushes

NOW = 1_000_000.0


def key(n: int) -> bytes:
    return n.to_bytes(4, "big")


def test_a_push_is_held_until_its_jwt_expires() -> None:
    seen = SeenPushes()
    seen.add(key(1), NOW + 60)
    assert seen.holds(key(1), NOW + 59)
    assert not seen.holds(key(2), NOW)
    assert not seen.holds(key(1), NOW + 60)  # expired: forgotten
    assert len(seen) == 0


def test_past_the_limit_the_expired_go_first_then_the_oldest() -> None:
    seen = SeenPushes(limit=10)  # swept once it holds more than 11
    later = NOW + 10
    for n in range(2):
        seen.add(key(n), NOW + 5, now=later)  # expired by the time of the sweep
    for n in range(2, 11):
        seen.add(key(n), NOW + 3600, now=later)
    assert len(seen) == 11  # not swept yet: the slack
    seen.add(key(11), NOW + 3600, now=later)
    assert len(seen) == 10  # the two expired went, nothing else
    seen.add(key(12), NOW + 3600, now=later)
    seen.add(key(13), NOW + 3600, now=later)
    assert len(seen) == 10  # then the oldest
    assert [n for n in range(14) if seen.holds(key(n), later)] == list(range(4, 14))


def test_the_newest_limit_are_always_kept() -> None:
    seen = SeenPushes(limit=100)
    for n in range(1000):
        seen.add(key(n), NOW + 3600, now=NOW)
        assert len(seen) <= 110
    assert all(seen.holds(key(n), NOW) for n in range(900, 1000))
