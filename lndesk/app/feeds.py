"""The store, as the network node sees it (lndesk.p2p.ports.FeedSource)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lndesk.p2p.ports import Held
from lndesk.store.store import IngestResult, Store


class StoreFeeds:
    """Adapts a :class:`Store` to the node's FeedSource protocol.

    Held feeds are everything stored (re-serving is the point); wanted feeds are the
    ones the owner follows, plus the owner's own feed so that a restored identity can
    learn its log's height from peers before it publishes again.
    """

    def __init__(self, store: Store, own: bytes) -> None:
        self.store = store
        self.own = own

    def own_key(self) -> bytes:
        return self.own

    def held(self, key: bytes) -> Held:
        state = self.store.feed_state(key)
        return Held(state.height, state.max_seq, state.forked_at)

    def held_feeds(self) -> Iterable[bytes]:
        return [state.key for state in self.store.feeds() if state.max_seq > 0]

    def wanted_feeds(self) -> Iterable[bytes]:
        return [self.own, *(key for key in self.store.following(self.own) if key != self.own)]

    def stored_seqs(self, key: bytes, first: int, last: int) -> set[int]:
        return self.store.stored_seqs(key, first, last)

    def read_run(
        self, key: bytes, first: int, last: int, max_entries: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        return self.store.read_run(key, first, last, max_entries, max_bytes)

    def ingest(self, key: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> IngestResult:
        return self.store.ingest(key, items)
