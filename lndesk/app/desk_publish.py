"""How the desk publishes: through the running node when there is one, else offline.

Every feature that appends to my log (posts, follows, profiles, reading lists, blocks of
people I follow) goes through :class:`Publisher`, so an entry published from the app is
announced the same way as one from ``lndesk post``, and one published offline is synced
when the network is back.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import trio

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.local import LocalState
from lndesk.app.service import Service

if TYPE_CHECKING:
    from lndesk.app.node import AppNode

T = TypeVar("T")
Emit = Callable[[AnyEvent], None]

HOLDERS_CHECK_DELAYS = (1.0, 5.0)
"""Seconds after the latest publish at which peers are asked how far they hold my feed
(a sync of it with each), so "seen by N peers" follows gossip within seconds instead of
the next sync round. A publish while these checks are under way joins them: a stream of
posts costs each peer two syncs every few seconds, not two for every post."""


class NodeLink:
    """The running node, if any, and the nursery the desk's own tasks start in.

    Shared by the features that need the network; the runtime attaches the node once it
    has started and detaches it when it stops.
    """

    def __init__(self) -> None:
        self.node: AppNode | None = None
        self.nursery: trio.Nursery | None = None

    def attach(self, node: AppNode | None, nursery: trio.Nursery | None = None) -> None:
        self.node = node
        if nursery is not None:
            self.nursery = nursery


class Publisher:
    """Runs service actions that append to my log, online or offline."""

    def __init__(self, service: Service, link: NodeLink, local: LocalState, emit: Emit):
        self._service = service
        self._link = link
        self._local = local
        self._emit = emit
        self._own = service.public_key
        self._published_at = 0.0
        self._checking = False

    async def publish(self, action: Callable[[Service], T]) -> T:
        """``action(service)``, announced by the node if it runs (which reports
        ``EntriesStored(via="local")``), else published offline and synced later."""
        node = self._link.node
        if node is not None:
            result = await node.publish(action)
            self._check_holders_soon()
        else:
            result = action(self._service)
            self._emit(LocalChanged("published"))
        return result

    def _check_holders_soon(self) -> None:
        link = self._link
        if link.node is None or link.nursery is None:
            return
        self._published_at = trio.current_time()
        if self._checking:
            return  # the checks under way follow the latest publish
        self._checking = True

        async def check() -> None:
            last = -math.inf
            try:
                while True:  # rounds, until one saw no newer publish
                    for delay in HOLDERS_CHECK_DELAYS:
                        since = self._published_at
                        # At least the first delay apart, however fast posts come.
                        await trio.sleep_until(max(since + delay, last + HOLDERS_CHECK_DELAYS[0]))
                        last = trio.current_time()
                        if link.node is not None:
                            link.node.node.check_holders(self._own)
                    if self._published_at == since:
                        return
            finally:
                self._checking = False

        link.nursery.start_soon(check)

    def holds(self, peer: bytes, height: int) -> None:
        """A peer proved it holds my log up to ``height``: it counts in "seen by"."""
        if peer != self._own and self._local.set_holds(peer, self._own, height):
            self._emit(LocalChanged("holders"))
