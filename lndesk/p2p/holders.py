"""What a sync server learns about its readers, and how much it lets them ask.

docs/protocol.md section 20.13. A ``want`` names up to 5,000 feeds with the height the
reader claims of each. Reporting every pair as an event (as before) let one peer send
240,000 events to the GUI thread in 20 s with 47 valid wants of random feeds, and let
throwaway peer ids claim to hold the user's feed, inflating "seen by N peers". Now:

* :class:`ServedReports` reports only the node's *own* feed: a claim in a ``want`` as
  :class:`PeerHolds` (at most one per session, for whoever wants to know what peers
  say), and a proof as :class:`HolderProven`: an ``ack`` of entries this server sent in
  the session, counted no higher than the highest entry sent. Claims about other feeds
  are not reported at all.
* A reader that syncs the own feed with a peer whose ``have`` claims entries of it asks
  that peer for the entry at the claimed height (``lndesk.p2p.read_states.HolderCheck``,
  the last ask of ``lndesk.p2p.read_feed.Finishing``): if it is ours, the peer is
  reported as :class:`HolderProven` at that height. A peer that claims a height and
  sends nothing breaks the protocol (section 20.6); a different entry is a fork, which
  sync and fork proofs deal with, and proves nothing here. Entries a peer took from
  gossip are acknowledged to no one: it is proven this way, at the next session that
  asks it about the own feed.
* :class:`WantRate` charges the feeds each peer names in its wants to a bucket of
  ``Limits.want_feeds_per_minute`` that refills continuously; a ``want`` over it is a
  ``ProtocolError`` (the peer is penalised, section 24). An honest node names each
  followed feed once per sync round (every 120 s) plus a few single feeds when heads
  arrive, far below it.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from lndesk.errors import ProtocolError
from lndesk.p2p.events import EventSink, HolderProven, PeerHolds

MAX_PEERS = 4096
"""Peers whose want budget is remembered (the least recently charged are forgotten)."""


class WantRate:
    """Feeds named in wants per peer, as a bucket refilling at ``per_minute`` a minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def charge(self, peer: object, feeds: int) -> None:
        """Charge a ``want`` of ``feeds`` feeds to ``peer``; ``ProtocolError`` when over."""
        now = self._clock()
        key = str(peer)
        level, then = self._buckets.pop(key, (float(self.per_minute), now))
        level = min(float(self.per_minute), level + (now - then) * self.per_minute / 60.0)
        if feeds > level:
            self._remember(key, level, now)
            raise ProtocolError(
                f"wants name more than {self.per_minute} feeds a minute (this one {feeds})"
            )
        self._remember(key, level - feeds, now)

    def _remember(self, key: str, level: float, now: float) -> None:
        self._buckets[key] = (level, now)
        while len(self._buckets) > MAX_PEERS:
            self._buckets.popitem(last=False)


class ServedReports:
    """One server session's reports about the node's own feed (see the module docstring)."""

    def __init__(self, events: EventSink, own: bytes, peer_key: bytes | None) -> None:
        self._events = events
        self._own = own
        self._peer = peer_key
        self._sent = 0
        """The highest entry of the own feed sent in this session."""

    def claimed(self, feeds: Any) -> None:
        """The reader's ``want`` pairs (key, height): report its claim of the own feed."""
        if self._peer is None:
            return
        for key, height in feeds:
            if key == self._own and height > 0:
                self._events(PeerHolds(self._peer, key, height))
                return

    def sent(self, feed: bytes, top: int) -> None:
        if feed == self._own:
            self._sent = max(self._sent, top)

    def acked(self, feed: bytes | None, height: int) -> None:
        """The reader acknowledged a batch of ``feed`` with its new ``height``."""
        if self._peer is not None and feed == self._own and self._sent:
            self._events(HolderProven(self._peer, feed, min(height, self._sent)))
