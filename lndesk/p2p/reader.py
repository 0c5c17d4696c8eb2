"""The reader's side of one sync session, after ``have``: asks in flight, answers in order.

The server answers ``get`` requests in the order it receives them, so every ``batch``
and ``done`` belongs to the oldest ask in flight (docs/protocol.md section 20.3). The
reader keeps up to ``depth`` asks in flight: one on ``/lndesk/sync/1``, which allows
no second ``get`` before the ``done`` of the first; more on ``/lndesk/sync/2``
(section 20.14), across the feeds of the session, so that the server's reads, the
network and the reader's checks overlap. Each feed is a
:class:`~lndesk.p2p.read_feed.FeedRead` (what to ask), each ask's answer a state of
:mod:`lndesk.p2p.read_states` (what a frame does).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Sequence

import trio

from lndesk.p2p.config import Limits
from lndesk.p2p.events import SyncProgress
from lndesk.p2p.holes import HoleAsks
from lndesk.p2p.ports import Held
from lndesk.p2p.read_feed import FeedRead
from lndesk.p2p.read_states import Ask, ReadContext
from lndesk.p2p.sessions import SessionRefused
from lndesk.p2p.wire import Ack, Done, Error, FeedHave, Get, Message

Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class FeedLocks:
    """One lock per feed: two sessions (with two peers) never fetch one feed at once."""

    def __init__(self) -> None:
        self._locks: defaultdict[bytes, trio.Lock] = defaultdict(trio.Lock)

    def __getitem__(self, key: bytes) -> trio.Lock:
        return self._locks[key]


class SessionRead:
    """Reads the offered feeds of one session, keeping up to ``depth`` asks in flight."""

    def __init__(
        self,
        ctx: ReadContext,
        limits: Limits,
        offers: Sequence[FeedHave],
        *,
        locks: FeedLocks,
        hole_asks: HoleAsks,
        newest_first: bool,
        depth: int = 1,
    ) -> None:
        self.ctx = ctx
        self.limits = limits
        self.depth = depth
        self._offers = deque(offers)
        self._locks = locks
        self._hole_asks = hole_asks
        self._newest_first = newest_first
        self._reading: list[FeedRead] = []
        self.in_flight: deque[Ask] = deque()
        self.stored = 0
        self.feeds = 0
        self.acked: dict[bytes, int] = {}
        """The height of the last ``ack`` sent per feed (what the server remembers)."""

    async def run(self, send: Send, flush: Callable[[], Awaitable[None]], receive: Receive) -> None:
        """Ask (with ``send``, then ``flush``) and take the answers (from ``receive``)
        until every offered feed is read."""
        try:
            while await self._ask(send, flush):
                await self._take(await receive(), send)
        finally:
            for feed in self._reading:
                feed.release()

    async def _ask(self, send: Send, flush: Callable[[], Awaitable[None]]) -> bool:
        """Fill the asks in flight up to ``depth``; False when all is read."""
        while len(self.in_flight) < self.depth:
            ask = self._next_ask()
            if ask is None and not await self._open_feed():
                break
            if ask is not None:
                self.in_flight.append(ask)
                await send(Get(ask.key, ask.first, ask.last))
        await flush()
        return bool(self.in_flight)

    def _next_ask(self) -> Ask | None:
        """The next ask of the feeds being read, oldest feed first."""
        for feed in list(self._reading):
            ask = feed.next_ask()
            if isinstance(ask, Ask):
                return ask
            if ask is None:
                self._reading.remove(feed)
                self.stored += feed.stored
                self.feeds += 1
        return None

    async def _open_feed(self) -> bool:
        """Start reading the next offered feed; False if there is none to start now.

        With asks in flight a feed another session is fetching is not waited for (it
        is taken up once nothing is in flight): waiting while holding other feeds'
        locks could deadlock two sessions.
        """
        if not self._offers:
            return False
        lock = self._locks[self._offers[0].key]
        if self.in_flight or self._reading:
            try:
                lock.acquire_nowait()
            except trio.WouldBlock:
                return False
        else:
            await lock.acquire()
        offer = self._offers.popleft()
        try:
            feed = FeedRead(
                self.ctx,
                offer,
                self.limits,
                lock,
                self._hole_asks,
                newest_first=self._newest_first,
            )
        except BaseException:
            lock.release()
            raise
        self._reading.append(feed)
        return True

    async def _take(self, message: Message, send: Send) -> None:
        """One frame of the server's answer to the oldest ask in flight."""
        ask = self.in_flight[0]
        if isinstance(message, Done):
            self.in_flight.popleft()
            ask.feed.ended(ask, ask.state.done(self.ctx, ask))
            return
        if isinstance(message, Error):
            raise SessionRefused(f"the peer ended the session: {message.code}: {message.message}")
        ask.state = await ask.state.take(self.ctx, ask, message)
        held = self.ctx.source.held(ask.key)
        self.acked[ask.key] = held.height
        await send(Ack(held.height))
        if ask.state.progress and self.ctx.peer_key is not None:
            self.ctx.events(
                SyncProgress(self.ctx.peer_key, ask.key, _progress(held), ask.feed.offer.max_seq)
            )


def _progress(held: Held) -> int:
    return held.max_seq if held.height == held.max_seq else held.height
