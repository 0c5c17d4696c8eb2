"""When to run sync sessions: at most one outgoing session per peer, requests merged.

Connections, announcements, follows and the anti-entropy timer all ask for sessions;
a peer that is already being synced gets the request folded into its next session
instead of a second stream. After a session, the heads it fetched are announced again,
so peers that only this node reaches hear about them (store and forward).
"""

from __future__ import annotations

import logging
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
    ) -> None:
        self._client = client
        self._emit = emit
        self._reannounce = reannounce
        self._key_of = key_of
        self._nursery: trio.Nursery | None = None
        self._pending: dict[Any, set[bytes] | None] = {}
        self._syncing: set[Any] = set()
        self._idle = trio.Event()
        self._idle.set()
        self._fetched: dict[bytes, set[bytes]] = {}
        self._peers = 0
        self._stored = 0
        self._errors: list[str] = []

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
                except Exception as exc:  # the peer went away or refused; the timer retries
                    error, cause = f"{type(exc).__name__}: {exc}", SYNC_CUT_SHORT
                    logger.info("sync with %s failed: %s", peer, error)
                    self._pending.pop(peer, None)
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
