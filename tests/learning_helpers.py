"""Helpers for the tests of the index's learning state: fixed people, chains signed
per author and delivered in any order, and the index's derived tables compared across
arrival orders.

Test modules import this as ``learning_helpers``, as they import ``store_helpers``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from search_index import indexed_documents, staged_documents
from store_helpers import BASE_MS, STEP_MS, make_identity

from lndesk.content import (
    Content,
    Edit,
    Follow,
    Helpful,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Reply,
    Share,
    Tombstone,
    Unfollow,
    encode_content,
)
from lndesk.entry import Entry, create_entry
from lndesk.entry_refs import PostKey, ref_of
from lndesk.identity import Identity
from lndesk.store import views
from lndesk.store.store import Store, StoredEntry

ME = make_identity(21)
ANN = make_identity(22)  # I follow Ann
BEN = make_identity(23)  # Ann follows Ben: two hops from me
CY = make_identity(24)  # nobody follows Cy
DI = make_identity(25)


class Author:
    """Signs a chain of contents for one identity; entries are stored when the test says."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.key = identity.public_key
        self.entries: list[tuple[Entry, bytes]] = []

    def sign(self, content: Content, claimed_ms: int | None = None) -> Entry:
        seq = len(self.entries) + 1
        prev = self.entries[-1][0].id if self.entries else None
        payload = encode_content(content)
        entry = create_entry(
            self.identity,
            seq=seq,
            prev=prev,
            claimed_ms=BASE_MS + seq * STEP_MS if claimed_ms is None else claimed_ms,
            type=content.type,
            payload=payload,
        )
        self.entries.append((entry, payload))
        return entry

    def deliver(self, store: Store, *seqs: int) -> None:
        """Store these entries, one ingest each, in the order given (all if none)."""
        for seq in seqs or range(1, len(self.entries) + 1):
            entry, payload = self.entries[seq - 1]
            store.ingest(self.key, [(entry.raw, payload)])


def shown(items: Iterable[StoredEntry]) -> list[PostKey]:
    return [(item.entry.author, item.entry.seq) for item in items]


def listing(store: Store, kind: str, **extra: object) -> list[PostKey]:
    query = views.ListQuery(kind, ME.public_key, **extra)  # type: ignore[arg-type]
    return shown(views.page(store, query, views.NEWEST, 100))


def derived_state(store: Store) -> dict[str, object]:
    """Every payload-derived table of the index, keyed by author key instead of feed id."""
    conn = store.index.conn
    keys = dict(conn.execute("SELECT feed, key FROM feeds").fetchall())

    def rows(sql: str, *feed_columns: int) -> list[tuple[object, ...]]:
        found = []
        for row in conn.execute(sql):
            values = list(row)
            for column in feed_columns:
                values[column] = keys.get(values[column], values[column])
            found.append(tuple(values))
        return sorted(found, key=repr)

    return {
        "entries": rows("SELECT feed, seq, deleted, payload_state FROM entries", 0),
        "feeds": rows("SELECT key, name, bio, profile_seq FROM feeds"),
        "follows": rows("SELECT src, dst, seq, active FROM follows", 0, 1),
        "tags": rows("SELECT tag, feed, seq FROM tags", 1),
        "tag_totals": rows("SELECT feed, tag, n FROM tag_totals", 0),
        "refs": rows("SELECT target, kind, feed, seq FROM refs", 2),
        "addressed": rows("SELECT key, feed, seq, kind FROM addressed", 1),
        "edit_claims": rows("SELECT feed, edit_seq, seq, ref_id FROM edit_claims", 0),
        "edits": rows("SELECT feed, seq, edit_seq FROM edits", 0),
        "list_versions": rows("SELECT feed, seq, first_seq, first_id FROM list_versions", 0),
        "lists": rows("SELECT feed, first_seq, latest_seq, title FROM lists", 0),
        "questions": rows("SELECT feed, seq, claimed_ms FROM questions", 0),
        # Staged or indexed, a document is the same document (see search_documents).
        "search": search_documents(store),
        "purges": rows("SELECT offset FROM purges"),
    }


def search_documents(store: Store) -> list[tuple[object, ...]]:
    """The full-text documents, indexed and staged alike, by author key: a document is in
    exactly one of the two tables."""
    keys = dict(store.index.conn.execute("SELECT feed, key FROM feeds").fetchall())
    both = [*indexed_documents(store).values(), *staged_documents(store)]
    documents = [(keys[d.feed], d.seq, d.text, _facets_by_key(d.facets, keys)) for d in both]
    assert len({(key, seq) for key, seq, *_ in documents}) == len(documents), "in both tables"
    return sorted(documents, key=repr)


def _facets_by_key(facets: object, keys: dict[int, bytes]) -> str:
    """Facet tokens with the author's feed id (local to one index) as its key."""
    tokens = str(facets).split()
    return " ".join(keys[int(t[1:])].hex() if t.startswith("a") else t for t in tokens)


def busy_feeds() -> list[Author]:
    """Two feeds using every derived kind of entry, with deletions of each."""
    me, ann = Author(ME), Author(ANN)
    p1 = me.sign(Post("on retrieval practice", tags=("Memory",), mentions=(ANN.public_key,)))
    me.sign(Profile("Me"))  # 2
    me.sign(Follow(ANN.public_key))  # 3
    me.sign(Follow(BEN.public_key))  # 4
    a1 = ann.sign(Reply("agreed", ref_of(p1), ref_of(p1), tags=("memory",)))
    ann.sign(Share(ref_of(p1), "worth a read"))  # 2
    first = ann.sign(ReadingList("Ann's list", (ListItem(ref=ref_of(p1), note="classic"),)))
    ann.sign(Edit(ref_of(a1), "agreed, with a caveat", tags=("caveats",)))  # 4
    me.sign(Edit(ref_of(p1), "on retrieval practice, revised", mentions=(CY.public_key,)))  # 5
    me.sign(Profile("Me, renamed"))  # 6
    me.sign(Unfollow(BEN.public_key))  # 7
    me.sign(Tombstone(ref_of(me.entries[5][0])))  # 8: deletes the second profile
    me.sign(Tombstone(ref_of(me.entries[6][0])))  # 9: deletes the unfollow
    ann.sign(ReadingList("Ann's list, v2", (), of=ref_of(first)))  # 5
    ann.sign(Tombstone(ref_of(ann.entries[1][0])))  # 6: deletes the share
    ann.sign(Post("to be deleted, with an edit", tags=("temp",)))  # 7
    ann.sign(Edit(ref_of(ann.entries[6][0]), "edited before deletion"))  # 8
    ann.sign(Tombstone(ref_of(ann.entries[6][0])))  # 9
    ann.sign(Tombstone(ref_of(ann.entries[8][0])))  # 10: a tombstone of a tombstone
    question = me.sign(Post("which book first?", question=True))  # 10
    answer = ann.sign(Reply("this one", ref_of(question), ref_of(question)))  # 11
    other = ann.sign(Reply("or that one", ref_of(question), ref_of(question)))  # 12
    ann.sign(Helpful(ref_of(answer), ref_of(question)))  # 13: not the asker's, no effect
    me.sign(Helpful(ref_of(answer), ref_of(question)))  # 11
    taken_back = me.sign(Helpful(ref_of(other), ref_of(question)))  # 12
    me.sign(Tombstone(ref_of(taken_back)))  # 13: un-marks the other answer
    return [me, ann]


def deliver_in_order(
    store: Store, feeds: Sequence[Author], order: list[tuple[int, int]], index_every: int = 0
) -> None:
    """Deliver entries in ``order``; with ``index_every`` n, index one staged document of
    full-text after every n-th delivery (as the background indexer would, in between)."""
    for number, (author, seq) in enumerate(order, 1):
        feeds[author].deliver(store, seq)
        if index_every and number % index_every == 0:
            store.index_text(limit=1)


def orders(feeds: Sequence[Author]) -> dict[str, list[tuple[int, int]]]:
    every = [(n, seq) for n, feed in enumerate(feeds) for seq in range(1, len(feed.entries) + 1)]
    shuffled = {}
    for seed in range(3):
        picked = list(every)
        random.Random(seed).shuffle(picked)
        shuffled[f"random {seed}"] = picked
    return {"oldest first": every, "newest first": every[::-1], **shuffled}
