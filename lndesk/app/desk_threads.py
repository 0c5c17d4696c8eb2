"""Threads travel with their root: asking peers for a thread's replies, and what the
app knows of how many there are (docs/protocol.md 32).

Opening a thread asks connected peers (the root author's node first) which replies
they show under the root, and fetches them. A reply count then says what is known:
``known`` replies held here, and ``reported``, the most a peer said it holds at the
latest fetch that reached one ("3 answers, 2 more not fetched yet" when ``reported`` is
above ``known``). ``reported`` is kept in the device's local state
(:meth:`lndesk.app.local.LocalState.keep_thread_total`), so a thread opened again, or
after a restart, still says it; ``known`` is counted afresh each time, so replies
fetched later (by this view, the background fetch of recent questions, or sync) take
their part off "not fetched yet".
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from lndesk.app.desk_publish import NodeLink
from lndesk.app.service import Service
from lndesk.entry_refs import Ref
from lndesk.store.reading import now_ms
from lndesk.store.threads import known_replies

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ThreadCounts:
    """How many replies of a thread are known."""

    known: int
    """Replies held here (and shown)."""
    reported: int
    """The most replies a peer reported holding under the root (0: none asked yet)."""
    asked: int = 0
    """Peers that answered the fetch these counts come from (0: no fetch, nobody could
    be asked, or every peer asked failed)."""

    @property
    def not_fetched(self) -> int:
        """Replies a peer reported beyond those held here."""
        return max(0, self.reported - self.known)


class Threads:
    """Fetching threads from peers, and their reply counts (see the module docstring)."""

    def __init__(self, service: Service, link: NodeLink) -> None:
        self._service = service
        self._link = link

    def counts(self, root: Ref) -> ThreadCounts:
        """What is known of ``root``'s replies now, without asking anyone: those held,
        and what peers reported at the latest fetch that reached one.

        Reads the store beside Service, as the other Desk features' reads do: one
        bounded count on the index, nothing for the service to guard."""
        return ThreadCounts(
            known_replies(self._service.store, root.id), self._service.local.thread_total(root.id)
        )

    async def fetch_thread(self, root: Ref) -> ThreadCounts:
        """Ask connected peers for ``root``'s replies and fetch those not held; offline,
        only what is held is counted. New replies arrive as stored entries (the lists
        refresh on them)."""
        node = self._link.node
        asked = 0
        if node is not None:
            result = await node.node.fetch_thread(root)
            logger.info(
                "thread %s: %d peers asked, %d replies reported, %d fetched, %d marks",
                root.id.hex()[:8],
                result.asked,
                result.reported,
                result.stored,
                result.marks,
            )
            asked = result.asked
            if asked:
                self._service.local.keep_thread_total(root.id, result.reported, now_ms())
        return replace(self.counts(root), asked=asked)
