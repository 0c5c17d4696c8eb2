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
payloads nobody holds costs each session a bounded amount.
"""

from __future__ import annotations

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
