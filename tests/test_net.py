"""The one URL normaliser and the one backoff delay (mastod/net.py)."""

from __future__ import annotations

import pytest

from mastod.net import backoff_delay, normalize_url, origin


@pytest.mark.parametrize(
    ("url", "allow_path", "normal"),
    [
        ("https://Mastodon.Example/", False, "https://mastodon.example"),
        (" https://mastodon.example:443 ", False, "https://mastodon.example"),
        ("http://127.0.0.1:8080/prefix/", True, "http://127.0.0.1:8080/prefix"),
        ("HTTP://[2001:DB8::1]:80/hooks", True, "http://[2001:db8::1]/hooks"),
    ],
)
def test_urls_are_normalised(url: str, allow_path: bool, normal: str) -> None:
    assert normalize_url(url, allow_path=allow_path) == normal
    assert normalize_url(normal, allow_path=allow_path) == normal  # idempotent
    assert origin(url) == origin(normal)


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mastodon.example", "must be an http(s) URL with a host"),
        ("ftp://mastodon.example", "must be an http(s) URL with a host"),
        ("https://mastodon.example:99999", "must be an http(s) URL"),
        ("https://u:p@mastodon.example", "must not contain credentials"),
        ("https://mastodon.example/?x=1", "must not have a query or fragment"),
        ("https://mastodon.example#top", "must not have a query or fragment"),
        ("https://mastodon.example/api", "must not have a path"),
    ],
)
def test_odd_urls_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match="^" + reason.replace("(", r"\(").replace(")", r"\)")):
        normalize_url(url, allow_path=False)


@pytest.mark.parametrize("attempt", [0, 1, 2, 5, 40, 10_000])
def test_backoff_doubles_up_to_the_cap_with_jitter_down_to_half(attempt: int) -> None:
    ceiling = min(30.0, 0.5 * 2.0 ** min(attempt, 64))
    delays = {backoff_delay(attempt, base=0.5, cap=30.0) for _ in range(200)}
    assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
    assert len(delays) > 1  # jittered: clients failing together do not retry in step
