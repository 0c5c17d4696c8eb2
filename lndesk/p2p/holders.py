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
  reported as :class:`HolderProven` at that height; not when it proved that height
  already (:class:`ProvenHeights`): the check's ack names the reader's height, which
  the vector the session leaves then holds, so a peer holding less than the reader was
  asked again at every round instead of answering ``same``. A peer that claims a height and
  sends nothing breaks the protocol (section 20.6); a different entry is a fork, which
  sync and fork proofs deal with, and proves nothing here. Entries a peer took from
  gossip are acknowledged to no one: it is proven this way, at the next session that
  asks it about the own feed.
* A reader names its own feed in a ``want``, a ``digest`` and a visit at the height the
  peer proved it holds (:class:`ProvenHeights`), not at its own height: it lacks nothing
  of its own feed, so that height asks for nothing, and an answer that nothing changed
  then says the peer holds nothing of it above what it proved. A peer that got newer
  entries of it from someone else after the last round answers that something changed,
  and the session that follows proves it; named at the reader's height, the answer
  would say only that the peer holds nothing above it, and no round would ask again.
* :class:`WantRate` charges the feeds each peer names in its wants to a bucket of
  ``Limits.want_feeds_per_minute`` that refills continuously; a ``want`` over it is
  answered ``busy`` (:class:`~lndesk.p2p.admission.ServerBusy`), not penalised. An
  honest node names each followed feed once per calm round (every 120 s), but twice in
  a round that finds something changed (the visit's height vector, then the ``want``
  of the session that follows), and again at every new connection and every retry of
  a session that failed: a reader of 5,000 feeds whose connection broke and came back
  four or five times in a minute passed the rate, and was refused for ten minutes as
  if it had broken the protocol. Throwaway peer ids make a penalty per id worth little
  against a flood anyway; the budgets per address (section 24.1) bound those.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from lndesk.p2p.admission import ServerBusy
from lndesk.p2p.events import Event, EventSink, HolderProven, PeerHolds
from lndesk.p2p.ports import FeedSource

MAX_PEERS = 4096
"""Peers whose want budget, or whose proven height of the own feed, is remembered (the
least recently charged or proven are forgotten)."""


class WantRate:
    """Feeds named in wants per peer, as a bucket refilling at ``per_minute`` a minute."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.per_minute = per_minute
        self._clock = clock
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def charge(self, peer: object, feeds: int) -> None:
        """Charge a ``want`` of ``feeds`` feeds to ``peer``; ``ServerBusy`` when over
        (nothing is charged then)."""
        now = self._clock()
        key = str(peer)
        level, then = self._buckets.pop(key, (float(self.per_minute), now))
        level = min(float(self.per_minute), level + (now - then) * self.per_minute / 60.0)
        if feeds > level:
            self._remember(key, level, now)
            raise ServerBusy(
                f"your wants name more than {self.per_minute} feeds a minute (this one"
                f" {feeds}); try again later"
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


class ProvenHeights:
    """How far each peer proved to this node's reader that it holds the own feed (the
    ``HolderProven`` events of its sessions), and so the height a ``want`` or a height
    vector names the own feed at for that peer (docs/protocol.md section 20.13).
    Forgetting a peer is safe: the own feed is named at 0, and the next session that
    asks proves it again; so is a proof by an ``ack`` to this node's server, which is
    not noted here."""

    def __init__(self, own: Callable[[], bytes], size: int = MAX_PEERS) -> None:
        self._own = own
        self._size = size
        self._proven: OrderedDict[bytes, int] = OrderedDict()

    def note(self, event: object) -> None:
        """Remember the height of a ``HolderProven`` of the own feed."""
        if isinstance(event, HolderProven) and event.feed == self._own():
            height = max(event.height, self._proven.pop(event.peer, 0))
            self._proven[event.peer] = height
            while len(self._proven) > self._size:
                self._proven.popitem(last=False)

    def watching(self, events: EventSink) -> EventSink:
        """``events``, noting each event on its way (:meth:`note`)."""

        def sink(event: Event) -> None:
            self.note(event)
            events(event)

        return sink

    def of(self, peer: bytes | None) -> int:
        """How far ``peer`` proved it holds the own feed (0: nothing remembered)."""
        return 0 if peer is None else self._proven.get(peer, 0)

    def heights(
        self, peer: bytes | None, source: FeedSource, feeds: Iterable[bytes]
    ) -> list[tuple[bytes, int]]:
        """``feeds`` with the heights to name them at to ``peer`` (:meth:`named`)."""
        return [(key, self.named(peer, key, source.held(key).height)) for key in feeds]

    def named(self, peer: bytes | None, key: bytes, held: int) -> int:
        """The height to name ``key``, held up to ``held``, at to ``peer``: ``held``,
        except the own feed, at what ``peer`` proved it holds (at most ``held``)."""
        if peer is None or key != self._own():
            return held
        return min(held, self._proven.get(peer, 0))
