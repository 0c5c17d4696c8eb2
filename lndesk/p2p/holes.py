"""Asking peers for payloads this node is missing (docs/protocol.md 20.4, "Holes").

A peer may serve entries without their payloads (section 6): one that strips them, met
first, would otherwise leave a new follower with a feed of empty entries for good,
which it would then serve on. So an entry held without its payload, which no tombstone
deleted, is a **hole**, not a held entry: after the missing ranges of a feed, a reader
asks each server that holds the feed for the runs of its holes, with ordinary ``get``
requests. A server answers as for any ``get``: with the entries and their payloads
where it holds them, and ``null`` where it does not. Whatever payload comes back is
checked against the stored entry (its hash is signed) and fills the hole.

At most ``batch_entries`` holes of one feed are asked for per session, so a feed whose
payloads nobody holds costs each session a bounded amount; and a peer that filled none
of a feed's holes is not asked for the same holes again while its offer of the feed is
unchanged, for up to ``RETRY_SECONDS`` (:class:`HoleAsks`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from lndesk.p2p.config import Limits
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.wire import FeedHave


def runs_of(seqs: list[int], max_run: int) -> list[tuple[int, int]]:
    """Ascending seqs as maximal runs of consecutive ones, each at most ``max_run`` long."""
    runs: list[tuple[int, int]] = []
    for seq in seqs:
        if runs and runs[-1][1] == seq - 1 and seq - runs[-1][0] < max_run:
            runs[-1] = (runs[-1][0], seq)
        else:
            runs.append((seq, seq))
    return runs


def hole_runs(source: FeedSource, offer: FeedHave, limits: Limits) -> list[tuple[int, int]]:
    """The runs of holes of ``offer``'s feed that the server may fill: within 1..max_seq."""
    seqs = source.payload_holes(offer.key, 1, offer.max_seq, limits.batch_entries)
    return runs_of(seqs, limits.request_entries)


RETRY_SECONDS = 3600.0
"""A peer that filled none of a feed's holes is asked for them again after this."""


class HoleAsks:
    """Remembers which peers had nothing for which holes, so that every sync round does
    not fetch the same payload-less entries from the same peer again."""

    def __init__(self, cap: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self._cap = cap
        self._clock = clock
        self._barren: dict[tuple[Any, bytes], tuple[int, tuple[tuple[int, int], ...], float]] = {}

    def worth_asking(self, peer: Any, offer: FeedHave, runs: list[tuple[int, int]]) -> bool:
        """False if ``peer`` filled none of these very holes when it last offered the
        feed at the same ``max_seq``, less than ``RETRY_SECONDS`` ago."""
        seen = self._barren.get((peer, offer.key))
        if seen is None or seen[:2] != (offer.max_seq, tuple(runs)):
            return True
        return self._clock() - seen[2] >= RETRY_SECONDS

    def note(self, peer: Any, offer: FeedHave, runs: list[tuple[int, int]], filled: int) -> None:
        key = (peer, offer.key)
        if filled:
            self._barren.pop(key, None)
            return
        if len(self._barren) >= self._cap:
            self._barren.clear()
        self._barren[key] = (offer.max_seq, tuple(runs), self._clock())
