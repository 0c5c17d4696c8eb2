"""What the network layer needs from storage, declared here so p2p never imports the store.

The application wires its store into a node through an object with these methods (the
same idea as Syncthing's ``Model`` interface). Every method is called from the node's
trio thread, one at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from lndesk.entry_refs import Ref


@dataclass(frozen=True, slots=True)
class Held:
    """How much of one feed a node holds."""

    height: int
    """Entries 1..height are all held."""
    max_seq: int
    """The highest entry held; above ``height`` while a newest-first sync has a gap."""
    forked_at: int | None = None


class IngestOutcome(Protocol):
    @property
    def stored(self) -> int: ...
    @property
    def fork_at(self) -> int | None: ...
    @property
    def filled(self) -> int:
        """Held entries, stored without their payloads, whose payloads this run supplied."""
        ...


class FeedSource(Protocol):
    """Storage as the node sees it.

    A feed that is not accepted (its owner blocked it) is as if absent: it is held at
    zero, neither served, wanted nor listed, and ingesting it stores nothing.
    """

    def own_key(self) -> bytes:
        """The key of this node's own feed."""
        ...

    def inbox_keys(self) -> Sequence[bytes]:
        """The keys whose inboxes this node collects (asks peers for by inbox catch-up,
        docs/protocol.md 29.3): its own first, then its owner's pseudonyms."""
        ...

    def held(self, key: bytes) -> Held:
        """What is held of ``key`` (zeros when nothing)."""
        ...

    def held_feeds(self) -> Iterable[bytes]:
        """Every feed with at least one stored entry that :meth:`serves`: these are
        served and provided."""
        ...

    def serves(self, key: bytes) -> bool:
        """Whether ``key``'s feed is served to peers and provided in the DHT. False for
        a feed held only through this node's inbox: requests from people beyond the
        owner's follow hops (docs/protocol.md 28.6), and for blocked feeds."""
        ...

    def wanted_feeds(self) -> Iterable[bytes]:
        """Feeds this node asks peers for: the ones it follows, and its own."""
        ...

    def wants(self, key: bytes) -> bool:
        """Whether ``key`` is one of :meth:`wanted_feeds`, without listing them (asked
        for every head announcement received)."""
        ...

    def stored_seqs(self, key: bytes, first: int, last: int) -> set[int]:
        """Sequence numbers held of ``key`` with first <= seq <= last."""
        ...

    def payload_holes(self, key: bytes, first: int, last: int, limit: int) -> list[int]:
        """Seqs of held entries of ``key``, first <= seq <= last, whose payloads are
        missing: stored without them, and not deleted by a tombstone (at most ``limit``,
        ascending). Ingesting such an entry again with its payload fills the hole."""
        ...

    def read_run(
        self, key: bytes, first: int, last: int, max_entries: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        """Held entries from ``first`` on, ascending and contiguous, as (seq, entry, payload).

        Stops at the first gap, at ``last``, or when the count or the size of entries plus
        payloads would pass the caps (at least one entry is returned if ``first`` is held).
        """
        ...

    def ingest(self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> IngestOutcome:
        """Authenticate and store a contiguous ascending run of ``key``'s entries.

        Raises an :class:`lndesk.errors.EntryError` if the run is not proven to be
        ``key``'s (the sender is then penalised) or a :class:`lndesk.errors.StoreError`
        for a local problem.
        """
        ...

    def addressed_to(self, key: bytes, since_ms: int, limit: int) -> list[Ref]:
        """Held entries addressed to ``key`` (docs/protocol.md 10.10), newest first.

        At most ``limit`` references, of entries whose claimed time is ``since_ms`` or
        later; never an entry by ``key`` itself, nor one of a feed not accepted.
        """
        ...

    def profile_ref(self, key: bytes) -> Ref | None:
        """The held entry that set ``key``'s current profile (None: none is held)."""
        ...

    def accepts(self, key: bytes) -> bool:
        """Whether entries of ``key``'s feed may be stored and served (False: blocked)."""
        ...

    def ingest_replies(
        self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]
    ) -> IngestOutcome:
        """:meth:`ingest` for replies a thread server named (docs/protocol.md 32.3): kept
        like context even when they address only other people; blocks and the inbox
        quota for entries addressed to the owner still apply."""
        ...

    def thread_replies(self, root: Ref, limit: int) -> tuple[int, list[Ref]]:
        """(how many held replies under ``root`` are in its author's audience, the
        newest ``limit`` of them, newest first) (docs/protocol.md 32.2): by the root's
        author, people within their two follow hops, or (on the author's own node)
        people they accepted; never of a feed not accepted or not served."""
        ...

    def thread_marks(self, root: Ref, asked: Sequence[bytes]) -> list[Ref]:
        """The root author's counting ``helpful`` marks under ``root`` held with their
        payloads and not taken back (the newest 16), then the author's tombstones of the
        marks whose ids are ``asked`` (docs/protocol.md 32.6); none if the root's author
        is not accepted. A server names them only if it :meth:`serves` that author."""
        ...
