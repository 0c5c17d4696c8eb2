"""Entries found by the first bytes of their id, through an index (migration 5,
lndesk.store.idprefix): pending rows and folded ones alike."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest
from search_index import with_text_copy
from store_helpers import make_chain, make_identity, wire

from lndesk.content import Post
from lndesk.errors import UnknownEntryError
from lndesk.store import idprefix
from lndesk.store.idprefix import PREFIX_BYTES as ID_PREFIX_BYTES
from lndesk.store.index import Index
from lndesk.store.migrations import SCHEMA_VERSION
from lndesk.store.search import SearchQuery, search
from lndesk.store.store import INDEX_NAME, Store

ANN = make_identity(51)
BEN = make_identity(52)


def _rows_found(index: Index, prefix: bytes) -> list[bytes]:
    return [row.id for row in index.entries_by_id_prefix(prefix)]


def _plan(index: Index, prefix: bytes) -> str:
    """The query plan of the prefix lookup, as SQLite explains it."""
    statements: list[str] = []
    index.conn.set_trace_callback(statements.append)
    try:
        index.entries_by_id_prefix(prefix)
    finally:
        index.conn.set_trace_callback(None)
    (sql,) = [s for s in statements if "entry_ids" in s]
    return " | ".join(row[3] for row in index.conn.execute(f"EXPLAIN QUERY PLAN {sql}"))


@pytest.mark.parametrize("folded", [0, 1, 3], ids=["pending", "partly-folded", "folded"])
def test_every_prefix_length_finds_exactly_the_entries_it_starts(store: Store, folded: int) -> None:
    """Three batches of 100, of which ``folded`` are folded into the index proper."""
    chain = make_chain(BEN, 300)
    for start in range(0, 300, 100):
        store.ingest(BEN.public_key, wire(chain[start : start + 100]))
    if folded:
        store.index.begin()
        assert idprefix.fold(store.index.conn, 100 * folded) == 100 * folded
        store.index.commit()
    assert idprefix.pending(store.index.conn) == 300 - 100 * folded
    ids = sorted(entry.id for entry, _ in chain)
    for entry_id in ids[::7]:
        for length in (1, 2, 3, ID_PREFIX_BYTES, 5, 9, 32):
            prefix = entry_id[:length]
            expected = [i for i in ids if i.startswith(prefix)][:2]
            assert _rows_found(store.index, prefix) == expected, (length, prefix.hex())
    # Prefixes with no upper bound (all 0xff bytes), of every length around the index's.
    for prefix in (b"\xff", b"\xff" * 3, b"\xff" * 4, b"\xff" * 6):
        expected = [i for i in ids if i.startswith(prefix)][:2]
        assert _rows_found(store.index, prefix) == expected


def test_background_indexing_folds_the_pending_ids_and_reindex_leaves_none(
    store: Store,
) -> None:
    chain = make_chain(BEN, 50)
    store.ingest(BEN.public_key, wire(chain))
    assert idprefix.pending(store.index.conn) == 50
    store.index_text()
    assert idprefix.pending(store.index.conn) == 0
    folded = store.index.conn.execute("SELECT count(*) FROM entry_ids").fetchone()[0]
    assert folded == 50
    store.ingest(BEN.public_key, wire(chain))  # all duplicates: nothing new to find
    store.index_text()
    assert store.index.conn.execute("SELECT count(*) FROM entry_ids").fetchone()[0] == 50
    assert store.reindex() == 50
    assert idprefix.pending(store.index.conn) == 0
    last = chain[-1][0].id
    assert store.resolve(last[:3]).entry.id == last


def test_a_prefix_shared_by_two_entries_is_ambiguous_and_one_more_byte_decides(
    store: Store,
) -> None:
    chain = make_chain(BEN, 300)
    store.ingest(BEN.public_key, wire(chain))
    ids = sorted(entry.id for entry, _ in chain)
    # 300 random ids in 256 first bytes: some first byte is shared.
    first, second = next((a, b) for a, b in itertools.pairwise(ids) if a[0] == b[0])
    with pytest.raises(UnknownEntryError, match="more than one"):
        store.resolve(first[:1])
    common = next(n for n in range(1, 32) if first[n] != second[n])
    assert store.resolve(first[: common + 1]).entry.id == first
    assert store.resolve(second[: common + 1]).entry.id == second


@pytest.mark.parametrize("length", [1, 3, 4, 8, 32])
def test_the_lookup_searches_the_index_rather_than_scanning_the_entries(
    store: Store, length: int
) -> None:
    entry = store.publish(ANN, Post("find me by my id"))
    plan = _plan(store.index, entry.id[:length])
    assert "SEARCH entry_ids USING PRIMARY KEY (prefix" in plan
    assert "SEARCH e USING PRIMARY KEY (feed=? AND seq=?)" in plan
    # The pending runs' entries are read by primary key; only the runs (a few rows while
    # the indexer keeps up) are read in full.
    assert "SEARCH e2 USING PRIMARY KEY (feed=? AND seq>? AND seq<?)" in plan
    scanned = [step for step in plan.split(" | ") if step.startswith("SCAN")]
    assert scanned == ["SCAN p"]


def test_a_store_of_schema_4_migrates_and_finds_entries_and_text(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    with Store(directory) as store:
        entry = store.publish(ANN, Post("an old store's post about sourdough"))
        store.index_text()
        with_text_copy(store)
    # The index as lndesk with migrations 1-4 left it.
    conn = sqlite3.connect(directory / INDEX_NAME)
    conn.execute("DROP TABLE entry_ids")
    conn.execute("DROP TABLE entry_ids_pending")
    conn.execute("DROP TABLE questions")  # migration 6
    conn.execute("DROP TABLE reveals")  # migration 7
    conn.execute("PRAGMA user_version=4")
    conn.commit()
    conn.close()

    with Store(directory) as store:
        version = store.index.conn.execute("PRAGMA user_version").fetchone()[0]
        assert version == SCHEMA_VERSION
        # The entries stored before wait to be folded, and are found meanwhile.
        assert idprefix.pending(store.index.conn) == 1
        assert store.resolve(entry.id[:3]).entry.id == entry.id
        store.index_text()
        assert idprefix.pending(store.index.conn) == 0
        assert "SEARCH entry_ids USING PRIMARY KEY" in _plan(store.index, entry.id[:3])
        assert store.resolve(entry.id[:3]).entry.id == entry.id
        assert store.resolve(entry.id).entry.id == entry.id
        hits = search(store, SearchQuery("sourdough"), 10)
        assert [hit.entry.entry.id for hit in hits] == [entry.id]


def test_a_fold_splits_a_run_where_its_limit_falls(store: Store) -> None:
    chain = make_chain(BEN, 250)
    store.ingest(BEN.public_key, wire(chain[:200]))  # one run of 200
    store.ingest(BEN.public_key, wire(chain[200:]))  # and one of 50
    conn = store.index.conn
    store.index.begin()
    assert idprefix.fold(conn, 120) == 120
    assert idprefix.pending(conn) == 130
    assert conn.execute("SELECT count(*) FROM entry_ids").fetchone() == (120,)
    assert idprefix.fold(conn, 100) == 100  # the rest of the first run, then 20 of the next
    assert idprefix.pending(conn) == 30
    assert idprefix.fold(conn, None) == 30
    store.index.commit()
    assert idprefix.pending(conn) == 0
    folded = {seq for (seq,) in conn.execute("SELECT seq FROM entry_ids")}
    assert folded == set(range(1, 251))
    for entry, _ in chain[::25]:
        assert store.resolve(entry.id[:4]).entry.id == entry.id
