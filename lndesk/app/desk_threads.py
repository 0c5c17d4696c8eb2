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

Both counts are of the whole thread, as a peer's ``total`` is (docs/protocol.md 32.1):
every reply whose ``root`` names the post, nested replies included. A question's card
and its thread's heading both take them from :func:`thread_counts` and compare them with
:func:`not_fetched`, so the two say the same.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from lndesk.app.desk_publish import NodeLink
from lndesk.app.local import LocalState
from lndesk.app.service import Service
from lndesk.entry_refs import Ref
from lndesk.store.reading import StoreReader, now_ms
from lndesk.store.threads import known_replies

logger = logging.getLogger(__name__)


def not_fetched(reported: int, known: int) -> int:
    """Replies a peer reported beyond the ``known`` ones held here ("2 more not fetched
    yet"); both are counts of the whole thread (see the module docstring)."""
    return max(0, reported - known)


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
        return not_fetched(self.reported, self.known)


def thread_counts(reader: StoreReader, local: LocalState, root_id: bytes) -> ThreadCounts:
    """What is known of the replies under the root ``root_id`` without asking anyone:
    those held (every reply in the thread, as a peer's ``total`` counts them) and the
    total peers reported at the latest fetch that reached one (kept on the device).

    Reads the index beside Service, as the other Desk features' reads do: one bounded
    count, nothing for the service to guard."""
    return ThreadCounts(known_replies(reader, root_id), local.thread_total(root_id))


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
        return thread_counts(self._service.store, self._service.local, root.id)

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
