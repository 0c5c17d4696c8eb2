"""``FeedSource.wants``, which the node asks for every head announcement it receives,
says of every key what ``wanted_feeds`` says: the own key and pseudonyms always, a
followed feed unless blocked, nothing else; and it follows follows, unfollows and
blocks as they change."""

from __future__ import annotations

from pathlib import Path

from inbox_helpers import signed
from store_helpers import make_identity

from lndesk.app.feeds import StoreFeeds
from lndesk.content import Content, Follow, Unfollow
from lndesk.store.store import Store

ME, ANN, BO, CY, FOX, DOT = (make_identity(n) for n in (61, 62, 63, 64, 65, 66))
KEYS = [who.public_key for who in (ME, ANN, BO, CY, FOX, DOT)]


class Own:
    """The own log, appended to one entry at a time."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.prev: bytes | None = None
        self.seq = 0

    def sign(self, content: Content) -> None:
        self.seq += 1
        entry, payload = signed(ME, self.seq, self.prev, content)
        self.store.ingest(ME.public_key, [(entry.raw, payload)])
        self.prev = entry.id


def agree(feeds: StoreFeeds) -> set[bytes]:
    """The wanted keys among ``KEYS``, after checking both answers agree on each."""
    wanted = set(feeds.wanted_feeds())
    for key in KEYS:
        assert feeds.wants(key) == (key in wanted), key.hex()[:8]
    return wanted & set(KEYS)


def test_wants_answers_as_the_wanted_list_does(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    try:
        blocked: set[bytes] = {CY.public_key}
        feeds = StoreFeeds(
            store,
            ME.public_key,
            lambda: frozenset(blocked | {ME.public_key}),  # the own key is never blocked
            pseudonyms=lambda: frozenset({FOX.public_key}),
        )
        own = Own(store)
        assert agree(feeds) == {ME.public_key, FOX.public_key}
        for who in (ANN, BO, CY):
            own.sign(Follow(who.public_key))
        assert agree(feeds) == {ME.public_key, FOX.public_key, ANN.public_key, BO.public_key}
        own.sign(Unfollow(BO.public_key))
        blocked.clear()
        assert agree(feeds) == {ME.public_key, FOX.public_key, ANN.public_key, CY.public_key}
        own.sign(Follow(BO.public_key))
        blocked.add(FOX.public_key)  # a pseudonym is wanted even if listed as blocked
        assert DOT.public_key not in agree(feeds)
        assert agree(feeds) == {KEYS[0], *KEYS[1:5]}
    finally:
        store.close()
