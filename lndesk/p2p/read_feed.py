"""What a sync reader asks of one feed, as phases: ranges, holes, then the holder check.

A :class:`FeedRead` hands out the feed's next :class:`~lndesk.p2p.read_states.Ask`
and learns how each one ended. Its phase decides both:

* :class:`Ranges`: the seqs the reader misses, window by window (docs/protocol.md
  section 20.4), until they are all asked or an ask ends the feed (a fork, or a sparse
  claim with nothing behind it); after a batch that did not link, one ask for the entry
  that can prove a fork.
* :class:`Holes`: the payloads the reader misses that this server may hold, once the
  ranges are answered (section 20.4, "Holes").
* :class:`Finishing`: reports the feed synced and, for the node's own feed, asks for
  the entry at the height the peer claims of it (section 20.13).

A phase answers :data:`WAIT` when it has nothing to ask before the asks in flight end
(a pipelining reader then asks for the next feed meanwhile); the next phase starts only
when none of its feed's asks is in flight.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Final

import trio

from lndesk.p2p.config import Limits
from lndesk.p2p.events import FeedSynced, HolderProven
from lndesk.p2p.holes import HoleAsks, hole_runs
from lndesk.p2p.read_states import (
    DISCARDING,
    STORING,
    Ask,
    End,
    ForkProof,
    HolderCheck,
    ReadContext,
)
from lndesk.p2p.wire import FeedHave


class _Wait:
    def __repr__(self) -> str:
        return "WAIT"


WAIT: Final = _Wait()
"""Nothing to ask until an ask of this feed in flight ends."""


def missing_runs(first: int, last: int, held: set[int]) -> list[tuple[int, int]]:
    """Ascending runs of the seqs in first..last that are not in ``held``."""
    runs: list[tuple[int, int]] = []
    start: int | None = None
    for seq in range(first, last + 1):
        if seq in held:
            if start is not None:
                runs.append((start, seq - 1))
                start = None
        elif start is None:
            start = seq
    if start is not None:
        runs.append((start, last))
    return runs


def plan_windows(
    height: int, target: int, window: int, *, newest_first: bool, first: int | None = None
) -> Iterator[tuple[int, int]]:
    """Windows of at most ``window`` seqs covering height+1..target, in fetch order; the
    first one (the newest, when newest first) of at most ``first`` seqs if given."""
    size = first or window
    if newest_first:
        hi = target
        while hi > height:
            lo = max(height + 1, hi - size + 1)
            yield lo, hi
            hi, size = lo - 1, window
    else:
        lo = height + 1
        while lo <= target:
            hi = min(target, lo + size - 1)
            yield lo, hi
            lo, size = hi + 1, window


class Phase(ABC):
    """One phase of a feed's reading."""

    @abstractmethod
    def next_ask(self, feed: FeedRead) -> Ask | _Wait | None:
        """The next ask, WAIT, or None when this phase has nothing more to ask."""

    def ended(self, feed: FeedRead, ask: Ask, end: End) -> None:  # noqa: B027 - a no-op default
        """An ask of this phase ended."""

    @abstractmethod
    def after(self, feed: FeedRead) -> Phase | None:
        """The phase that follows, once no ask of this one is in flight."""


class Ranges(Phase):
    """The missing seqs, run by run, in the order of section 20.4."""

    def __init__(self, feed: FeedRead, limits: Limits, *, newest_first: bool) -> None:
        held = feed.ctx.source.held(feed.key)
        offer = feed.offer
        self._runs: Iterator[tuple[int, int]] = iter(())
        if held.forked_at is None and offer.max_seq > held.height:
            # Newest first asks for one batch's worth first, so that the first batch to
            # arrive holds the newest entries, then for long ranges further down, each
            # read oldest first (long ranges make full batches: one store append each).
            newest = newest_first and offer.max_seq - held.height > limits.batch_entries
            windows = plan_windows(
                held.height,
                offer.max_seq,
                limits.request_entries,
                newest_first=newest,
                first=limits.batch_entries if newest else None,
            )
            self._runs = self._missing(feed, windows, newest_first=newest)
        self._prove: int | None = None

    @staticmethod
    def _missing(
        feed: FeedRead, windows: Iterator[tuple[int, int]], *, newest_first: bool
    ) -> Iterator[tuple[int, int]]:
        for lo, hi in windows:
            runs = missing_runs(lo, hi, feed.ctx.source.stored_seqs(feed.key, lo, hi))
            yield from reversed(runs) if newest_first else runs

    def next_ask(self, feed: FeedRead) -> Ask | _Wait | None:
        if self._prove is not None:
            seq, self._prove = self._prove, None
            return Ask(feed, seq, seq, ForkProof())
        if feed.stopped:
            return None
        run = next(self._runs, None)
        return None if run is None else Ask(feed, run[0], run[1], STORING)

    def ended(self, feed: FeedRead, ask: Ask, end: End) -> None:
        if end is End.PROVE_FORK:
            assert feed.suspect is not None
            self._prove = feed.suspect
        if end is not End.GO_ON:
            feed.stop()

    def after(self, feed: FeedRead) -> Phase | None:
        return Holes.of(feed)


class Holes(Phase):
    """The runs of holes the feed had when its reading began, unless this server filled
    none of the very same ones last time (:class:`~lndesk.p2p.holes.HoleAsks`)."""

    def __init__(self, runs: list[tuple[int, int]]) -> None:
        self._runs = iter(runs)
        self._asked = runs
        self._filled = 0

    @staticmethod
    def of(feed: FeedRead) -> Phase:
        runs = feed.holes
        if (
            runs
            and feed.ctx.source.held(feed.key).forked_at is None
            and feed.hole_asks.worth_asking(feed.ctx.peer, feed.offer, runs)
        ):
            feed.stopped = False
            return Holes(runs)
        return Finishing()

    def next_ask(self, feed: FeedRead) -> Ask | _Wait | None:
        if feed.stopped:
            return None
        run = next(self._runs, None)
        return None if run is None else Ask(feed, run[0], run[1], STORING)

    def ended(self, feed: FeedRead, ask: Ask, end: End) -> None:
        self._filled += ask.stored
        if end is not End.GO_ON:
            feed.stop()

    def after(self, feed: FeedRead) -> Phase | None:
        feed.hole_asks.note(feed.ctx.peer, feed.offer, self._asked, self._filled)
        return Finishing()


class Finishing(Phase):
    """Report the feed synced; for the own feed, check the height the peer claims."""

    def __init__(self) -> None:
        self._asked = False

    def next_ask(self, feed: FeedRead) -> Ask | _Wait | None:
        if self._asked:
            return None
        self._asked = True
        feed.release()
        ctx, offer, key = feed.ctx, feed.offer, feed.key
        held = ctx.source.held(key)
        peer_key = ctx.peer_key
        if peer_key is None:
            return None
        ctx.events(FeedSynced(peer_key, key, offer.height, offer.max_seq, held.height))
        if key != ctx.source.own_key() or not ctx.proven < offer.height <= held.height:
            return None  # (proven already: its ack would leave my height in the vector)
        ours = ctx.source.read_run(key, offer.height, offer.height, 1, 1 << 20)
        if not ours:
            return None

        def proven(height: int) -> None:
            ctx.events(HolderProven(peer_key, key, height))

        return Ask(feed, offer.height, offer.height, HolderCheck(ours[0][1], proven))

    def after(self, feed: FeedRead) -> Phase | None:
        return None


class FeedRead:
    """One feed offered in ``have``, read from the server phase by phase.

    It holds the feed's lock (two sessions never fetch one feed at once) from its start
    until its ranges and holes are answered.
    """

    def __init__(
        self,
        ctx: ReadContext,
        offer: FeedHave,
        limits: Limits,
        lock: trio.Lock,
        hole_asks: HoleAsks,
        *,
        newest_first: bool,
    ) -> None:
        self.ctx = ctx
        self.offer = offer
        self.key = offer.key
        self.hole_asks = hole_asks
        self._lock: trio.Lock | None = lock
        self.stored = 0
        self.stopped = False
        """An ask ended the current phase early; asks sent ahead are discarded."""
        self.suspect: int | None = None
        """The stored seq a batch failed to link to (a possible fork)."""
        self.in_flight: list[Ask] = []
        # Holes this server did not just leave: it would not fill them now.
        self.holes = hole_runs(ctx.source, offer, limits)
        self.phase: Phase | None = Ranges(self, limits, newest_first=newest_first)

    def next_ask(self) -> Ask | _Wait | None:
        """The feed's next ask (now in flight), WAIT, or None when the feed is read."""
        while self.phase is not None:
            ask = self.phase.next_ask(self)
            if isinstance(ask, Ask):
                self.in_flight.append(ask)
                return ask
            if ask is WAIT or self.in_flight:
                return WAIT
            self.phase = self.phase.after(self)
        return None

    def ended(self, ask: Ask, end: End) -> None:
        """``ask`` (the oldest in flight) ended with ``end``."""
        self.in_flight.remove(ask)
        self.stored += ask.stored
        assert self.phase is not None
        self.phase.ended(self, ask, end)

    def stop(self) -> None:
        """Ask nothing more in this phase; what was asked ahead is taken and dropped."""
        self.stopped = True
        for ask in self.in_flight:
            ask.state = DISCARDING

    @property
    def finished(self) -> bool:
        return self.phase is None

    def release(self) -> None:
        """Let other sessions fetch the feed (also when the session fails)."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None
