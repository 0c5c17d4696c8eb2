"""Dialling a lost peer again, with backoff (docs/protocol.md section 19).

A connection a node wants can break for reasons that pass: the peer restarted, was too
busy to answer for a while, or the network blipped. Nobody else mends it: the peer it
follows may not be able to dial back (behind a NAT, or it serves hundreds and waits to
be dialled), so a follower that lost its author or the node it reads from would stay
cut off until its next start.

Which peers are dialled again: those this node dialled itself (an address the user gave,
a bootstrap peer, the peer book, discovery) and those whose feeds it follows, unless
penalised. Each lost one is dialled after 1 s, then 2, 4, ... at most 300 s apart, each
wait drawn between half and one and a half times that (followers of a node that went
away all lose it at once and must not all come back in the same instant), until it is
connected again (by either side) or an hour has passed; the peer book dials it at the
next start. While the node holds ``high_watermark`` connections or more it waits
instead: the connection pruner would only close what it dials.

One task waits for every lost peer's next dial (at the first one due), and at most
``DIALS_AT_ONCE`` dials run at once, each in a task of its own that ends with the dial:
a task per lost peer, each waiting up to an hour, grew with every peer a node lost. At
most ``MAX_PENDING`` lost peers wait to be dialled again (the longest waiting are
forgotten first; the peer book still dials them at the next start), and at most
``MAX_DIALLED`` peers are remembered as dialled by this node (:class:`DialledPeers`).
"""

from __future__ import annotations

import heapq
import logging
import math
import random
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any

import trio

logger = logging.getLogger(__name__)

REDIAL_FIRST = 1.0
"""Seconds before the first dial of a lost peer (before jitter)."""
REDIAL_MAX = 300.0
"""Longest wait between two dials of a lost peer (before jitter)."""
REDIAL_GIVE_UP = 3600.0
"""Seconds after the loss at which a peer is no longer dialled again."""
MAX_PENDING = 1024
"""Lost peers waiting to be dialled again at most (the longest waiting forgotten first)."""
DIALS_AT_ONCE = 8
"""Dials of lost peers running at once at most."""


def redial_delay(attempt: int, jitter: float) -> float:
    """Seconds before dial number ``attempt`` (0 is the first) of a lost peer:
    1, 2, 4, ... capped at 300, times ``0.5 + jitter`` (``jitter`` in [0, 1))."""
    return min(REDIAL_MAX, REDIAL_FIRST * 2.0 ** min(attempt, 30)) * (0.5 + jitter)


MAX_DIALLED = 4096
"""Peers remembered as dialled by this node at most (the least recently dialled are
forgotten first; those it follows are still dialled again)."""


class DialledPeers:
    """The peers this node dialled itself and connected to (dialled again when lost), at
    most ``MAX_DIALLED``, the least recently dialled forgotten first: discovery finds and
    dials peers for the life of a node, and each was remembered for ever."""

    def __init__(self, most: int = MAX_DIALLED) -> None:
        self._most = most
        self._peers: OrderedDict[Any, None] = OrderedDict()

    def add(self, peer: Any) -> None:
        self._peers[peer] = None
        self._peers.move_to_end(peer)
        while len(self._peers) > self._most:
            self._peers.popitem(last=False)

    def clear(self) -> None:
        self._peers.clear()

    def __contains__(self, peer: object) -> bool:
        return peer in self._peers

    def __len__(self) -> int:
        return len(self._peers)


class _Lost:
    """A lost peer waiting to be dialled again."""

    __slots__ = ("attempt", "began", "dial", "due", "peer")

    def __init__(self, peer: Any, began: float) -> None:
        self.peer = peer
        self.began = began
        self.attempt = 0
        """Waits begun so far (the next wait is ``redial_delay(attempt, ...)``)."""
        self.due = math.inf
        """When it is next dialled (inf: being dialled now)."""
        self.dial: trio.CancelScope | None = None
        """The dial running now, if any."""


class Redials:
    """Dials lost peers again until they are back (see the module docstring)."""

    def __init__(
        self,
        dial: Callable[[Any], Awaitable[None]],
        *,
        wanted: Callable[[Any], bool],
        connected: Callable[[Any], bool],
        room: Callable[[], bool],
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._dial = dial
        self._wanted = wanted
        self._connected = connected
        self._room = room
        self._jitter = jitter
        self._nursery: trio.Nursery | None = None
        self._lost: OrderedDict[Any, _Lost] = OrderedDict()
        """The lost peers waiting to be dialled again, the longest waiting first."""
        self._due: list[tuple[float, int, _Lost]] = []
        """When each is next dialled (a heap; an entry whose peer's ``due`` differs, or
        that is no longer waiting, is left over and skipped)."""
        self._order = 0
        self._dialling = 0
        """Dials running now."""
        self._changed = trio.Event()
        """Set when a peer's next dial or a dial's end may change what to do next."""
        self.attempts = 0
        """Dials made so far (for tests and the log)."""
        self._settled = trio.Event()
        """Set when a peer stops waiting to be dialled again (then replaced)."""

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Redial in the background until cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                task_status.started()
                await self._dial_when_due(nursery)
        finally:
            self._nursery = None
            self._lost.clear()
            self._due.clear()
            self._dialling = 0

    def pending(self) -> set[Any]:
        """The lost peers waiting to be dialled again."""
        return set(self._lost)

    async def wait_settled(self) -> None:
        """Return once no lost peer waits to be dialled again."""
        while self._lost:
            await self._settled.wait()

    def _settle(self) -> None:
        self._settled.set()
        self._settled = trio.Event()

    def _change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()

    def lost(self, peer: Any) -> None:
        """``peer``'s last connection closed: dial it again if it is wanted."""
        if self._nursery is None or peer in self._lost or not self._wanted(peer):
            return
        entry = self._lost[peer] = _Lost(peer, trio.current_time())
        while len(self._lost) > MAX_PENDING:
            _, oldest = self._lost.popitem(last=False)
            self._forget(oldest)
            logger.info("forgot dialling %s again: too many lost peers", oldest.peer)
        self._schedule(entry)

    def back(self, peer: Any) -> None:
        """``peer`` is connected again (whoever dialled): stop dialling it."""
        entry = self._lost.pop(peer, None)
        if entry is not None:
            self._forget(entry)

    def _forget(self, entry: _Lost) -> None:
        if entry.dial is not None:
            entry.dial.cancel()
        self._settle()

    def _schedule(self, entry: _Lost) -> None:
        entry.due = trio.current_time() + redial_delay(entry.attempt, self._jitter())
        if len(self._due) > 2 * len(self._lost) + 16:  # drop what is left over
            self._due = [d for d in self._due if self._is_live(d)]
            heapq.heapify(self._due)
        self._order += 1
        heapq.heappush(self._due, (entry.due, self._order, entry))
        self._change()

    def _is_live(self, due: tuple[float, int, _Lost]) -> bool:
        entry = due[2]
        return self._lost.get(entry.peer) is entry and entry.due == due[0]

    async def _dial_when_due(self, nursery: trio.Nursery) -> None:
        """The one task that waits for every lost peer's next dial."""
        while True:
            while self._due and not self._is_live(self._due[0]):
                heapq.heappop(self._due)
            changed = self._changed
            if not self._due or self._dialling >= DIALS_AT_ONCE:
                await changed.wait()
                continue
            with trio.move_on_at(self._due[0][0]):
                await changed.wait()
                continue
            entry = heapq.heappop(self._due)[2]
            self._step(entry, nursery)

    def _step(self, entry: _Lost, nursery: trio.Nursery) -> None:
        """``entry``'s wait ended: give up, stop, wait again, or dial."""
        peer = entry.peer
        entry.attempt += 1
        if trio.current_time() - entry.began >= REDIAL_GIVE_UP:
            logger.info("gave up dialling %s again after %.0f s", peer, REDIAL_GIVE_UP)
            self.back(peer)
        elif self._connected(peer) or not self._wanted(peer):
            self.back(peer)
        elif not self._room():
            self._schedule(entry)
        else:
            entry.due = math.inf
            entry.dial = trio.CancelScope()
            self._dialling += 1
            nursery.start_soon(self._dial_once, entry, entry.dial)

    async def _dial_once(self, entry: _Lost, scope: trio.CancelScope) -> None:
        peer = entry.peer
        try:
            with scope:
                self.attempts += 1
                try:
                    await self._dial(peer)
                except Exception as exc:  # unreachable for now: try again later
                    logger.info("dialling %s again failed (try %d): %s", peer, entry.attempt, exc)
        finally:
            self._dialling -= 1
            entry.dial = None
            if self._lost.get(peer) is entry:
                if self._connected(peer):
                    logger.info("connected to %s again", peer)
                    self.back(peer)
                else:
                    self._schedule(entry)
            self._change()
