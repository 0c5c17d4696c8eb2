"""Threads of recent questions, fetched in the background (docs/protocol.md 32.3).

A reader who follows Ann receives the answers to Ann's questions live, on Ann's inbox
topic, while it is online. What it missed (it was offline, or the answer came before it
followed Ann) it asks peers for: every ``interval`` seconds (the node's periodic sync
round) the newest ``MAX_THREADS`` questions of the last ``RECENT_DAYS`` days by people
it follows are fetched with thread fetch from the connected peers, the asker's node
first. A round with no peer connected asks nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import trio

from lndesk.app.service import Service
from lndesk.p2p.node import Node
from lndesk.store.store import now_ms
from lndesk.store.threads import followed_questions

logger = logging.getLogger(__name__)

RECENT_DAYS = 7
"""Questions claimed within this many days are watched."""
MAX_THREADS = 20
"""At most this many questions are fetched per round."""
DAY_MS = 24 * 60 * 60 * 1000


class ThreadWatch:
    """Fetches the threads of recent questions of followed people (module docstring)."""

    def __init__(
        self,
        service: Service,
        node: Node,
        interval: float,
        *,
        clock: Callable[[], int] = now_ms,
    ) -> None:
        self._service = service
        self._node = node
        self.interval = interval
        self._clock = clock
        self.rounds = 0
        """Rounds that asked peers, so far."""
        self.round_done = trio.Event()
        """Set after each round that asked peers (replaced by a fresh one as it starts)."""

    async def run(self) -> None:
        await self._node.started.wait()
        while True:
            if self._node.host.get_connected_peers():
                await self.fetch_round()
            await trio.sleep(self.interval)

    async def fetch_round(self) -> int:
        """Fetch the threads of recent questions once; returns how many replies were stored."""
        self.round_done = trio.Event()
        since = self._clock() - RECENT_DAYS * DAY_MS
        store = self._service.store
        roots = followed_questions(store, self._service.public_key, since, MAX_THREADS)
        stored = 0
        for root in roots:
            result = await self._node.fetch_thread(root)
            stored += result.stored
            if result.asked:  # what "not fetched yet" compares with (lndesk.app.desk_threads)
                self._service.local.keep_thread_total(root.id, result.reported, self._clock())
        if stored:
            logger.info("fetched %d replies to %d recent questions", stored, len(roots))
        self.rounds += 1
        self.round_done.set()
        return stored
