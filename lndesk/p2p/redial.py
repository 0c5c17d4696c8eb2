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
"""

from __future__ import annotations

import logging
import random
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


def redial_delay(attempt: int, jitter: float) -> float:
    """Seconds before dial number ``attempt`` (0 is the first) of a lost peer:
    1, 2, 4, ... capped at 300, times ``0.5 + jitter`` (``jitter`` in [0, 1))."""
    return min(REDIAL_MAX, REDIAL_FIRST * 2.0 ** min(attempt, 30)) * (0.5 + jitter)


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
        self._tasks: dict[Any, trio.CancelScope] = {}
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
                await trio.sleep_forever()
        finally:
            self._nursery = None
            self._tasks.clear()

    def pending(self) -> set[Any]:
        """The lost peers waiting to be dialled again."""
        return set(self._tasks)

    async def wait_settled(self) -> None:
        """Return once no lost peer waits to be dialled again."""
        while self._tasks:
            await self._settled.wait()

    def _settle(self) -> None:
        self._settled.set()
        self._settled = trio.Event()

    def lost(self, peer: Any) -> None:
        """``peer``'s last connection closed: dial it again if it is wanted."""
        if self._nursery is None or peer in self._tasks or not self._wanted(peer):
            return
        scope = trio.CancelScope()
        self._tasks[peer] = scope
        self._nursery.start_soon(self._redial, peer, scope)

    def back(self, peer: Any) -> None:
        """``peer`` is connected again (whoever dialled): stop dialling it."""
        scope = self._tasks.pop(peer, None)
        if scope is not None:
            scope.cancel()
            self._settle()

    async def _redial(self, peer: Any, scope: trio.CancelScope) -> None:
        try:
            with scope:
                began = trio.current_time()
                attempt = 0
                while True:
                    await trio.sleep(redial_delay(attempt, self._jitter()))
                    attempt += 1
                    if trio.current_time() - began >= REDIAL_GIVE_UP:
                        break
                    if self._connected(peer) or not self._wanted(peer):
                        return
                    if not self._room():
                        continue
                    self.attempts += 1
                    try:
                        await self._dial(peer)
                    except Exception as exc:  # unreachable for now: try again later
                        logger.info("dialling %s again failed (try %d): %s", peer, attempt, exc)
                        continue
                    if self._connected(peer):
                        logger.info("connected to %s again", peer)
                        return
                logger.info("gave up dialling %s again after %.0f s", peer, REDIAL_GIVE_UP)
        finally:
            if self._tasks.get(peer) is scope:
                del self._tasks[peer]
                self._settle()
