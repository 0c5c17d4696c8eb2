"""When each feed is fetched next, and when a refresh is too much to take in.

A feed is polled at most hourly, later when its server says so (``Cache-Control:
max-age``, ``Retry-After``), later still after failures (doubling up to a day), always
with up to a tenth of jitter so that feeds added together do not stay in step. Time and
randomness are passed in: the node gives its clocks, tests give theirs.
"""

from __future__ import annotations

from collections.abc import Callable

MIN_INTERVAL_S = 3600
MAX_INTERVAL_S = 24 * 3600
JITTER = 0.1
FLOOD_ITEMS = 100
"""A feed already followed that suddenly brings more new items than this in one refresh
is paused with a notice instead of flooding the timeline."""
FIRST_FETCH_ITEMS = 200
"""The first fetch of a new feed stores at most this many (the newest) items."""
FIRST_UNREAD_ITEMS = 3
"""Of a new feed's first fetch, only this many (the newest) items are unread: the rest were
there long before it was followed, and count as read. Every later item is unread."""


def poll_interval_s(
    *, max_age_s: int | None = None, retry_after_s: int | None = None, failures: int = 0
) -> int:
    """Seconds until the next poll of a feed, before jitter."""
    base = MIN_INTERVAL_S
    if max_age_s:
        base = max(base, min(max_age_s, MAX_INTERVAL_S))
    if failures > 0:
        base = max(base, min(MIN_INTERVAL_S * 2 ** min(failures - 1, 6), MAX_INTERVAL_S))
    if retry_after_s:
        base = max(base, min(retry_after_s, 7 * MAX_INTERVAL_S))
    return base


def next_poll_ms(
    now_ms: int,
    random: Callable[[], float],
    *,
    max_age_s: int | None = None,
    retry_after_s: int | None = None,
    failures: int = 0,
) -> int:
    """When to poll next: ``now_ms`` plus the interval plus up to :data:`JITTER` of it."""
    base = poll_interval_s(max_age_s=max_age_s, retry_after_s=retry_after_s, failures=failures)
    return now_ms + int(base * (1 + JITTER * random()) * 1000)
