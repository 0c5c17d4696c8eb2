"""Payloads that arrive after their entries: holes, and filling them (lndesk.store.fill).

An entry stored without its payload, which no tombstone deleted, is a hole: the store
lists it, a later copy with the payload fills it (appended to the log, the index
repointed), and a rebuild of the index from the log keeps the payload.
"""

from __future__ import annotations

import random
from pathlib import Path

from learning_helpers import busy_feeds, deliver_in_order, derived_state, orders
from search_index import assert_words_are_the_documents, indexed_texts
from store_helpers import (
    check_feed,
    make_chain,
    make_entry,
    make_identity,
    post_text,
    wire,
    without_payloads,
)

from lndesk.content import Edit, Tombstone, encode_content
from lndesk.entry_refs import ref_of
from lndesk.store.fill import split_fills
from lndesk.store.logfile import KIND_ENTRY, LogFile, encode_record
from lndesk.store.records import index_item
from lndesk.store.store import LOG_NAME, Store
from lndesk.store.verify import verify_store

ANN = make_identity(41)
KEY = ANN.public_key


def texts(store: Store) -> dict[int, str | None]:
    return {
        item.entry.seq: (post_text(item.payload) if item.payload is not None else None)
        for item in store.feed_entries(KEY, limit=100)
    }


def search_texts(store: Store) -> list[str]:
    store.index_text()
    assert_words_are_the_documents(store)
    return indexed_texts(store)


def test_a_stripped_feed_is_held_with_holes_and_filled_by_a_full_copy(data_dir: Path) -> None:
    chain = make_chain(ANN, 5, text="ann says")
    with Store(data_dir) as store:
        stripped = store.ingest(KEY, without_payloads(chain))
        assert (stripped.stored, stripped.filled) == (5, 0)
        assert store.payload_holes(KEY, 1, 10, 100) == [1, 2, 3, 4, 5]
        assert set(texts(store).values()) == {None}
        assert search_texts(store) == []

        full = store.ingest(KEY, wire(chain[1:4]))
        assert (full.stored, full.duplicates, full.filled) == (0, 0, 3)
        assert store.payload_holes(KEY, 1, 10, 100) == [1, 5]
        assert texts(store) == {1: None, 2: "ann says 2", 3: "ann says 3", 4: "ann says 4", 5: None}
        assert search_texts(store) == ["ann says 2", "ann says 3", "ann says 4"]
        again = store.ingest(KEY, wire(chain[1:4]))
        assert (again.filled, again.duplicates) == (0, 3)
        check_feed(store, KEY)
        assert store.reindex() == 5
        assert store.payload_holes(KEY, 1, 10, 100) == [1, 5]
        assert texts(store)[3] == "ann says 3"
        assert search_texts(store) == ["ann says 2", "ann says 3", "ann says 4"]
    with Store(data_dir) as reopened:
        assert reopened.warnings == []
        run = reopened.read_run(KEY, 1, 5, 10, 1 << 20)
        assert [payload is not None for _, _, payload in run] == [False, True, True, True, False]
        reopened.ingest(KEY, wire(chain))
        assert reopened.payload_holes(KEY, 1, 10, 100) == []
        report = verify_store(reopened)
        assert (report.ok, report.entries, report.payloads) == (True, 5, 5)
    # The log holds each filled payload once more, after the entry's first record.
    records = [r for r in LogFile(data_dir / LOG_NAME).scan() if hasattr(r, "entry")]
    assert len(records) == 10


def test_a_reindex_fills_holes_within_one_batch_of_records(data_dir: Path) -> None:
    chain = make_chain(ANN, 3)
    with Store(data_dir) as store:
        store.ingest(KEY, without_payloads(chain))
        store.ingest(KEY, wire(chain))
    (data_dir / "index.sqlite3").unlink()
    with Store(data_dir) as rebuilt:
        assert rebuilt.payload_holes(KEY, 1, 3, 10) == []
        assert texts(rebuilt) == {1: "entry 1", 2: "entry 2", 3: "entry 3"}
        assert rebuilt.index.count_entries() == 3


def test_a_deleted_entry_is_not_a_hole_and_is_never_filled(store: Store) -> None:
    post, payload = make_entry(ANN, 1, None, text="regret")
    tomb_payload = encode_content(Tombstone(ref_of(post)))
    tomb, _ = make_entry(ANN, 2, post.id, type="tombstone", payload=tomb_payload)
    store.ingest(KEY, [(post.raw, None), (tomb.raw, tomb_payload)])
    assert store.payload_holes(KEY, 1, 2, 10) == []
    result = store.ingest(KEY, [(post.raw, payload)])
    assert (result.filled, result.duplicates) == (0, 1)
    assert b"regret" not in (store.directory / LOG_NAME).read_bytes()
    store.reindex()
    assert store.payload_holes(KEY, 1, 2, 10) == []


def test_a_tombstone_arriving_after_a_hole_closes_it(store: Store) -> None:
    post, _ = make_entry(ANN, 1, None, text="regret")
    tomb_payload = encode_content(Tombstone(ref_of(post)))
    tomb, _ = make_entry(ANN, 2, post.id, type="tombstone", payload=tomb_payload)
    store.ingest(KEY, [(post.raw, None)])
    assert store.payload_holes(KEY, 1, 2, 10) == [1]
    store.ingest(KEY, [(tomb.raw, tomb_payload)])
    assert store.payload_holes(KEY, 1, 2, 10) == []


def test_a_filled_edit_of_a_deleted_post_is_closed_not_stored(store: Store) -> None:
    post, post_payload = make_entry(ANN, 1, None, text="first")
    edit_payload = encode_content(Edit(ref_of(post), "secret edit"))
    edit, _ = make_entry(ANN, 2, post.id, type="edit", payload=edit_payload)
    tomb_payload = encode_content(Tombstone(ref_of(post)))
    tomb, _ = make_entry(ANN, 3, edit.id, type="tombstone", payload=tomb_payload)
    store.ingest(KEY, [(post.raw, post_payload), (edit.raw, None), (tomb.raw, tomb_payload)])
    assert store.payload_holes(KEY, 1, 3, 10) == [2]  # what it edits is unknown yet
    result = store.ingest(KEY, [(edit.raw, edit_payload)])
    assert result.filled == 0
    assert store.payload_holes(KEY, 1, 3, 10) == []
    assert b"secret edit" not in (store.directory / LOG_NAME).read_bytes()
    store.reindex()  # the log says the hole is closed: a PURGED record of the edit
    assert store.payload_holes(KEY, 1, 3, 10) == []


def tag_totals(store: Store) -> list[tuple[str, int]]:
    return list(store.index.conn.execute("SELECT tag, n FROM tag_totals ORDER BY tag"))


def test_a_filled_edit_shows_as_the_current_version(store: Store) -> None:
    post, post_payload = make_entry(ANN, 1, None, text="first")
    edit_payload = encode_content(Edit(ref_of(post), "second", tags=("memory",)))
    edit, _ = make_entry(ANN, 2, post.id, type="edit", payload=edit_payload)
    store.ingest(KEY, [(post.raw, None), (edit.raw, edit_payload)])
    assert search_texts(store) == ["second"]
    assert tag_totals(store) == [("memory", 1)]
    store.ingest(KEY, [(post.raw, post_payload)])
    assert search_texts(store) == ["second"]
    assert tag_totals(store) == [("memory", 1)]
    assert store.payload_holes(KEY, 1, 2, 10) == []
    store.reindex()
    assert search_texts(store) == ["second"]
    assert tag_totals(store) == [("memory", 1)]


def test_the_edit_of_a_deleted_post_is_not_a_hole(store: Store) -> None:
    post, post_payload = make_entry(ANN, 1, None, text="first")
    edit_payload = encode_content(Edit(ref_of(post), "second"))
    edit, _ = make_entry(ANN, 2, post.id, type="edit", payload=edit_payload)
    tomb_payload = encode_content(Tombstone(ref_of(post)))
    tomb, _ = make_entry(ANN, 3, edit.id, type="tombstone", payload=tomb_payload)
    store.ingest(KEY, [(post.raw, post_payload), (edit.raw, edit_payload)])
    store.ingest(KEY, [(tomb.raw, tomb_payload)])
    assert store.payload_holes(KEY, 1, 3, 10) == []
    store.reindex()
    assert store.payload_holes(KEY, 1, 3, 10) == []


def test_only_a_record_of_the_same_entry_fills_a_hole(store: Store) -> None:
    chain = make_chain(ANN, 2)
    store.ingest(KEY, without_payloads(chain))
    other, other_payload = make_entry(ANN, 2, chain[0][0].id, text="another branch")
    same = index_item(0, 0, chain[1][0], chain[1][1])
    forked = index_item(0, 0, other, other_payload)
    assert split_fills(store.index, [forked]) == ([forked], [])
    assert split_fills(store.index, [same]) == ([], [same])


def test_a_fill_appended_but_not_yet_indexed_is_indexed_on_open(data_dir: Path) -> None:
    """A crash between the fill's durable append and its index write: the next open
    indexes what lies past the index's log_end, and the hole is filled."""
    chain = make_chain(ANN, 2)
    with Store(data_dir) as store:
        store.ingest(KEY, without_payloads(chain))
        entry, payload = chain[1]
        store.log.append([encode_record(KIND_ENTRY, 7, entry.raw, payload)])
        assert store.payload_holes(KEY, 1, 2, 10) == [1, 2]  # the index has not seen it
    with Store(data_dir) as reopened:
        assert reopened.payload_holes(KEY, 1, 2, 10) == [1]
        assert texts(reopened)[2] == "entry 2"


def test_derived_state_is_the_same_when_payloads_come_after_their_entries(
    tmp_path: Path,
) -> None:
    """Half the entries of busy feeds (edits, lists, tombstones, follows, profiles) first
    arrive without payloads, in random order; then every entry arrives whole, in random
    order. The index ends as if every entry had come whole, oldest first, and a rebuild
    from the log agrees."""
    feeds = busy_feeds()
    with Store(tmp_path / "whole") as store:
        deliver_in_order(store, feeds, orders(feeds)["oldest first"])
        expected = derived_state(store)
    every = orders(feeds)["oldest first"]
    for seed in range(12):
        rng = random.Random(seed)
        stripped = rng.sample(every, len(every) // 2)
        whole = rng.sample(every, len(every))
        with Store(tmp_path / f"late-{seed}") as store:
            for author, seq in stripped:
                entry, _ = feeds[author].entries[seq - 1]
                store.ingest(feeds[author].key, [(entry.raw, None)])
            deliver_in_order(store, feeds, whole)
            assert derived_state(store) == expected, f"seed {seed}"
            for feed in feeds:
                assert store.payload_holes(feed.key, 1, 100, 100) == []
            store.reindex()
            assert derived_state(store) == expected, f"rebuilt, seed {seed}"
