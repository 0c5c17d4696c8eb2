"""When to run sync sessions: at most one outgoing session per peer, requests merged.

Connections, announcements, follows and the anti-entropy timer all ask for sessions;
a peer that is already being synced gets the request folded into its next session
instead of a second stream. After a session, the heads it fetched are announced again,
so peers that only this node reaches hear about them (store and forward).

A session that fails for a reason that passes (the stream could not be opened in time,
the server was busy, the stream broke) is asked again after 2, 4, 8 ... seconds (at
most ``RETRIES`` times, each wait times 0.5 to 1.5), not only at the next anti-entropy
round two minutes later: 50 readers joining one busy node at once had their first
sessions time out while it negotiated the streams, and sat idle until the round.

The anti-entropy timer's rounds with a peer whose visits keep finding nothing changed
come less and less often (:class:`RoundPace`, docs/protocol.md section 20.16): a node
serving 200 followers answered a visit from each and paid one to each every two
minutes, a fifth of its idle CPU, to learn that nothing had changed.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

import trio

from lndesk.errors import StoreError
from lndesk.p2p.events import (
    SYNC_CUT_SHORT,
    SYNC_NOT_SAVED,
    SYNC_PEER_BROKE_RULES,
    EntriesStored,
    EventSink,
    NodeWarning,
    SyncFinished,
)
from lndesk.p2p.sessions import PeerMisbehaved
from lndesk.p2p.sync import SyncClient

logger = logging.getLogger(__name__)

RETRIES = 5
"""Times a failed session with a peer is asked again before the anti-entropy round."""
RETRY_FIRST = 2.0
"""Seconds before the first retry (doubling, each times 0.5 to 1.5)."""
PACE_CAP = 8
"""At most this many anti-entropy rounds apart (8 x 120 s) a calm peer is visited."""


class RoundPace:
    """Which of the anti-entropy timer's rounds with each peer are due.

    Every round is due until a visit finds nothing changed. After ``k`` such visits of a
    peer in a row, its next ``min(2 ** k, cap) - 1`` timer rounds are skipped: it is
    visited 2, 4, 8 rounds apart (at most ``cap``). Anything else starts the count over,
    every round due again: a round in which something differed or that could not be a
    visit (:meth:`stirred`), a new connection (:meth:`stirred` when the last one closed),
    and a sync session that stored entries from any peer (:meth:`restart`), which means
    an announcement was missed, so others may have been too.
    """

    def __init__(self, cap: int = PACE_CAP) -> None:
        if cap < 1:
            raise ValueError("a round pace needs cap >= 1")
        self.cap = cap
        self._calm: dict[Any, tuple[int, int]] = {}
        """Per peer: unchanged visits in a row, timer rounds still to skip."""

    def due(self, peer: Any) -> bool:
        """Whether the timer's round with ``peer`` runs now (a skipped one is used up)."""
        streak, skip = self._calm.get(peer, (0, 0))
        if skip <= 0:
            return True
        self._calm[peer] = (streak, skip - 1)
        return False

    def unchanged(self, peer: Any) -> None:
        """A visit of ``peer`` found nothing changed."""
        streak = min(self._calm.get(peer, (0, 0))[0] + 1, self.cap.bit_length())
        self._calm[peer] = (streak, min(2**streak, self.cap) - 1)

    def stirred(self, peer: Any) -> None:
        """Something differed with ``peer`` (or its connection closed): every round due."""
        self._calm.pop(peer, None)

    def restart(self) -> None:
        """A session stored entries that gossip did not bring: every round due, with
        every peer."""
        self._calm.clear()


@dataclass(frozen=True, slots=True)
class SyncSummary:
    peers: int
    stored: int
    errors: tuple[str, ...]


class SyncScheduler:
    def __init__(
        self,
        client: SyncClient,
        *,
        emit: EventSink,
        reannounce: Callable[[bytes], Awaitable[None]],
        key_of: Callable[[Any], bytes | None],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._client = client
        self._jitter = jitter
        self._failures: dict[Any, int] = {}
        """Sessions with a peer that failed in a row (cleared by one that succeeds)."""
        self._emit = emit
        self._reannounce = reannounce
        self._key_of = key_of
        self._nursery: trio.Nursery | None = None
        self._pending: dict[Any, set[bytes] | None] = {}
        self._syncing: set[Any] = set()
        self._idle = trio.Event()
        self._idle.set()
        self._retries = 0
        """Retries waiting for their time."""
        self._settled = trio.Event()
        """Set when no session runs and no retry waits (then replaced)."""
        self._fetched: dict[bytes, set[bytes]] = {}
        self._peers = 0
        self._stored = 0
        self._errors: list[str] = []
        self.pace = RoundPace()
        """Which anti-entropy rounds are due (kept by the visits, restarted here)."""

    def attach(self, nursery: trio.Nursery | None) -> None:
        """Sessions run in ``nursery`` (None: the node stopped; requests are dropped)."""
        self._nursery = nursery

    def is_syncing(self, peer: Any) -> bool:
        return peer in self._syncing

    def request(self, peer: Any, feeds: Iterable[bytes] | None = None) -> None:
        """Ask ``peer`` for ``feeds`` (default: every wanted feed) soon."""
        if self._nursery is None:
            return
        if feeds is None or self._pending.get(peer, set()) is None:
            self._pending[peer] = None
        else:
            merged = self._pending.setdefault(peer, set())
            assert merged is not None
            merged.update(feeds)
        if peer not in self._syncing:
            if not self._syncing:
                self._idle = trio.Event()
            self._syncing.add(peer)
            self._nursery.start_soon(self._worker, peer)

    def note(self, event: EntriesStored) -> None:
        """Remember which feeds a session fetched, to announce their heads afterwards."""
        if event.via == "sync" and event.peer is not None and event.peer in self._fetched:
            self._fetched[event.peer].add(event.feed)

    async def _worker(self, peer: Any) -> None:
        key = self._key_of(peer)
        try:
            while peer in self._pending:
                feeds = self._pending.pop(peer)
                if key is not None:
                    self._fetched[key] = set()
                error: str | None = None
                cause: str | None = None
                stored = count = 0
                try:
                    report = await self._client.sync_with(
                        peer, None if feeds is None else sorted(feeds)
                    )
                    stored, count = report.stored, report.feeds
                except PeerMisbehaved as exc:
                    error, cause = str(exc), SYNC_PEER_BROKE_RULES
                    self._pending.pop(peer, None)
                except StoreError as exc:  # our disk, not the peer; the timer retries
                    error, cause = str(exc), SYNC_NOT_SAVED
                    self._emit(NodeWarning(f"Could not store synced posts: {exc}"))
                    self._pending.pop(peer, None)
                except Exception as exc:  # the peer went away, was busy or slow: retried
                    error, cause = f"{type(exc).__name__}: {exc}", SYNC_CUT_SHORT
                    logger.info("sync with %s failed: %s", peer, error)
                    self._pending.pop(peer, None)
                    self._retry_later(peer, feeds)
                else:
                    self._failures.pop(peer, None)
                if stored:  # gossip missed these: calm peers may have missed more
                    self.pace.restart()
                self._peers += 1
                self._stored += stored
                if error:
                    self._errors.append(error)
                if key is not None:
                    self._emit(SyncFinished(key, stored, count, error, cause))
                    for feed in self._fetched.pop(key, set()):
                        await self._reannounce(feed)
        finally:
            self._syncing.discard(peer)
            if not self._syncing:
                self._idle.set()
                self._settle()

    def _retry_later(self, peer: Any, feeds: set[bytes] | None) -> None:
        failures = self._failures.get(peer, 0) + 1
        if failures > RETRIES or self._nursery is None:
            self._failures.pop(peer, None)  # the anti-entropy round tries again
            return
        self._failures[peer] = failures
        delay = RETRY_FIRST * 2 ** (failures - 1) * (0.5 + self._jitter())
        self._retries += 1
        self._nursery.start_soon(self._retry, peer, feeds, delay)

    async def _retry(self, peer: Any, feeds: set[bytes] | None, delay: float) -> None:
        try:
            await trio.sleep(delay)
            if peer in self._failures:
                self.request(peer, feeds)
        finally:
            self._retries -= 1
            self._settle()

    def _settle(self) -> None:
        if not self._syncing and not self._retries:
            self._settled.set()
            self._settled = trio.Event()

    async def wait_settled(self) -> None:
        """Return once no session runs and no retry waits for its time."""
        while self._syncing or self._retries:
            await self._settled.wait()

    def forget(self, peer: Any) -> None:
        """The peer disconnected: no more retries (its next connection starts a session)."""
        self._failures.pop(peer, None)
        self.pace.stirred(peer)

    async def run_round(self, peers: Iterable[Any], timeout: float) -> SyncSummary:
        """Sync with ``peers`` and wait until every session has ended (or ``timeout``)."""
        self._peers, self._stored, self._errors = 0, 0, []
        for peer in peers:
            self.request(peer)
        await self.wait_idle(timeout)
        return SyncSummary(self._peers, self._stored, tuple(self._errors))

    async def wait_idle(self, timeout: float) -> None:
        with trio.move_on_after(timeout):
            while self._syncing:
                await self._idle.wait()
