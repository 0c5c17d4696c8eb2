"""The store, as the network node sees it (lndesk.p2p.ports.FeedSource)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from lndesk.app.inbox_quota import InboxGate
from lndesk.entry_refs import Ref, ref_of
from lndesk.p2p.ports import Held
from lndesk.store import views
from lndesk.store.forks import fork_pair, record_fork
from lndesk.store.helpful import takebacks, thread_marks
from lndesk.store.store import IngestResult, Store
from lndesk.store.threads import answerers, is_question, thread_replies


class StoreFeeds:
    """Adapts a :class:`Store` to the node's FeedSource protocol.

    Held feeds are everything stored (re-serving is the point); wanted feeds are the
    ones the owner follows, plus the owner's own feed so that a restored identity can
    learn its log's height from peers before it publishes again.

    Feeds the owner blocked (``blocked()``, asked afresh on every call) are as if
    absent: held at zero, neither served, listed, wanted nor stored. Ingesting one
    stores nothing and is not an error: the peer that sent it did nothing wrong.

    With an :class:`~lndesk.app.inbox_quota.InboxGate`, what people beyond the owner's
    follow hops send is bounded by the inbox quotas, and feeds held only as requests
    are neither served nor provided.
    """

    def __init__(
        self,
        store: Store,
        own: bytes,
        blocked: Callable[[], frozenset[bytes]] = frozenset,
        gate: InboxGate | None = None,
        *,
        pseudonyms: Callable[[], frozenset[bytes]] = frozenset,
    ) -> None:
        """``pseudonyms`` (asked afresh on every call) are the owner's other identities
        (lndesk.app.pseudonyms): wanted, never blocked, their questions' threads served
        like the owner's."""
        self.store = store
        self.own = own
        self._blocked = blocked
        self.gate = gate
        self._pseudonyms = pseudonyms

    def own_key(self) -> bytes:
        return self.own

    def inbox_keys(self) -> list[bytes]:
        return [self.own, *sorted(self._pseudonyms() - {self.own})]

    def fork_proof(self, key: bytes) -> tuple[bytes, bytes] | None:
        return fork_pair(self.store, key) if self.accepts(key) else None

    def record_fork(self, key: bytes, first: bytes, second: bytes) -> int:
        return record_fork(self.store, key, first, second)

    def accepts(self, key: bytes) -> bool:
        return key == self.own or key not in self._blocked() or key in self._pseudonyms()

    def held(self, key: bytes) -> Held:
        if not self.accepts(key):
            return Held(0, 0)
        return Held(*self.store.feed_limits(key))

    def serves(self, key: bytes) -> bool:
        return self.accepts(key) and (self.gate is None or self.gate.serves(key))

    def held_feeds(self) -> Iterable[bytes]:
        blocked = self._blocked() - {self.own}
        if self.gate is not None:
            blocked |= self.gate.unserved()
        return [
            state.key
            for state in self.store.feeds()
            if state.max_seq > 0 and state.key not in blocked
        ]

    def wanted_feeds(self) -> Iterable[bytes]:
        blocked = self._blocked() - {self.own}
        followed = self.store.following(self.own)
        mine = self.inbox_keys()
        return [*mine, *(key for key in followed if key not in mine and key not in blocked)]

    def wants(self, key: bytes) -> bool:
        if key == self.own or key in self._pseudonyms():
            return True
        return key not in self._blocked() and self.store.follows(self.own, key)

    def stored_seqs(self, key: bytes, first: int, last: int) -> set[int]:
        if not self.accepts(key):
            return set()
        return self.store.stored_seqs(key, first, last)

    def payload_holes(self, key: bytes, first: int, last: int, limit: int) -> list[int]:
        if not self.accepts(key):
            return []
        return self.store.payload_holes(key, first, last, limit)

    def read_run(
        self, key: bytes, first: int, last: int, max_entries: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        if not self.accepts(key):
            return []
        return self.store.read_run(key, first, last, max_entries, max_bytes)

    def ingest(self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> IngestResult:
        return self._ingest(key, items, replies=False)

    def ingest_replies(
        self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]
    ) -> IngestResult:
        """Replies a thread server named: kept even when they address only other people
        (they are part of the thread), but by authors outside the owner's circle only
        within the inbox quota, as requests (docs/protocol.md 32.3)."""
        return self._ingest(key, items, replies=True)

    def _ingest(
        self, key: bytes, items: Sequence[tuple[bytes, bytes | None]], *, replies: bool
    ) -> IngestResult:
        """Store what a peer sent of ``key``'s log, as far as the inbox gate admits it
        (``replies``: a thread server named them)."""
        if not self.accepts(key):
            return IngestResult(0, 0, 0)
        if self.gate is None:
            return self.store.ingest(key, items)
        admit = self.gate.admit_replies if replies else self.gate.admit
        requests = admit(key, items)
        if requests is None:
            return IngestResult(0, 0, 0)
        result = self.store.ingest(key, items)
        if requests and (result.stored or result.filled):
            self.gate.record(key, requests)
        return result

    def thread_replies(self, root: Ref, limit: int) -> tuple[int, list[Ref]]:
        # On the root author's node, the people they accepted join the audience, and
        # every answer to one of their questions that they show (docs/protocol.md 32.2).
        accepted: frozenset[bytes] = frozenset()
        if root.author == self.own or root.author in self._pseudonyms():
            accepted = self.gate.accepted() if self.gate is not None else frozenset()
            if is_question(self.store, root):
                accepted |= answerers(self.store, root.id)
        return thread_replies(
            self.store,
            root,
            limit,
            accepted=accepted,
            excluded=self._blocked() - {self.own},
            serves=self.serves,
        )

    def thread_marks(self, root: Ref, asked: Sequence[bytes]) -> list[Ref]:
        if not self.accepts(root.author):
            return []
        return [
            *thread_marks(self.store, root),
            *takebacks(self.store, root.author, asked),
        ]

    def profile_ref(self, key: bytes) -> Ref | None:
        if not self.accepts(key):
            return None
        found = views.profile_entry(self.store, key)
        if found is None or found.payload is None:
            return None
        return ref_of(found.entry)

    def addressed_to(self, key: bytes, since_ms: int, limit: int) -> list[Ref]:
        blocked = self._blocked() - {self.own}
        if self.gate is not None:
            blocked |= self.gate.unserved()
        refs = views.addressed_to(self.store, key, since_ms=since_ms, limit=limit)
        return [ref for ref in refs if ref[0] not in blocked and ref[0] != key]
