"""Which ids a feed's stored tombstones name (``Index.tombstoned_ids``) is the same
whether the feed's tombstone targets are read whole (it has no more of them than ids
asked about) or the ids are looked up among them, and a newest-first batch below a
tombstone that names one of its entries stores that entry deleted."""

from __future__ import annotations

import itertools
from pathlib import Path

from learning_helpers import ANN, Author

from lndesk.content import Post, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.store.store import Store


def every_named_id(store: Store, key: bytes) -> set[bytes]:
    """The targets of ``key``'s stored tombstones, read without the index's shortcut."""
    return {
        bytes(row[0])
        for row in store.index.conn.execute(
            "SELECT r.target FROM refs r JOIN feeds f ON f.feed = r.feed "
            "WHERE f.key = ? AND r.kind = 'tombstone'",
            (key,),
        )
    }


def test_the_ids_named_are_found_with_few_or_many_tombstones_per_id_asked(
    tmp_path: Path,
) -> None:
    with Store(tmp_path / "data") as store:
        posts = [store.publish(ANN, Post(f"note {n}")) for n in range(8)]
        assert store.index.tombstoned_ids(ANN.public_key, [p.id for p in posts]) == set()
        for post in posts[:4]:
            store.publish(ANN, Tombstone(ref_of(post)))
        named = every_named_id(store, ANN.public_key)
        assert named == {p.id for p in posts[:4]}
        ids = [p.id for p in posts]
        # Every subset of one to four ids: fewer, as many and more ids than tombstones.
        for size in range(1, 5):
            for asked in itertools.combinations(ids, size):
                found = store.index.tombstoned_ids(ANN.public_key, list(asked))
                assert found == named & set(asked), f"asked {size} ids"
        assert store.index.tombstoned_ids(ANN.public_key, []) == set()
        assert store.index.tombstoned_ids(b"\x01" * 32, ids) == set()


def test_an_entry_a_stored_tombstone_names_arrives_deleted_newest_first(
    tmp_path: Path,
) -> None:
    ann = Author(ANN)
    posts = [ann.sign(Post(f"note {n}")) for n in range(6)]
    for post in posts[1:4]:
        ann.sign(Tombstone(ref_of(post)))
    wire = [(entry.raw, payload) for entry, payload in ann.entries]
    with Store(tmp_path / "data") as store:
        store.ingest(ANN.public_key, wire[6:])  # the tombstones first
        store.ingest(ANN.public_key, wire[:6])  # then the posts below them
        deleted = dict(
            store.index.conn.execute(
                "SELECT e.seq, e.deleted FROM entries e JOIN feeds f ON f.feed = e.feed "
                "WHERE f.key = ? AND e.seq <= 6",
                (ANN.public_key,),
            ).fetchall()
        )
        assert deleted == {1: 0, 2: 1, 3: 1, 4: 1, 5: 0, 6: 0}
