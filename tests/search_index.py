"""Helpers for the tests of the full-text index (lndesk.store.fulltext): what it holds.

The ``search`` table keeps words, not texts, so a test reads a document's text back from
the log through ``search_docs`` (as a search does), and checks that the words FTS5 holds
are exactly those of the documents it lists: a document removed with the wrong text would
leave its words behind, and they would match later searches.
"""

from __future__ import annotations

import contextlib
import sqlite3

from lndesk.store.fulltext import TOKENIZE, Document, FullText
from lndesk.store.store import Store

CONTENTLESS = 8
"""The migration that made ``search`` contentless."""
OLD_SLOT_BITS = 20
"""The slot bits of the rowids of the table before it."""


def indexed_documents(store: Store) -> dict[int, Document]:
    """Every indexed document by rowid, its text read from the log."""
    conn = store.index.conn
    text = FullText(conn, store._payload_content)
    found = {}
    for doc, feed, seq, source in conn.execute("SELECT doc, feed, seq, source FROM search_docs"):
        document = text.document(feed, seq, source)
        assert document is not None, f"the text of indexed entry {feed}/{seq} cannot be read"
        found[doc] = document
    return found


def indexed_texts(store: Store) -> list[str]:
    return sorted(d.text for d in indexed_documents(store).values())


def staged_documents(store: Store) -> list[Document]:
    return FullText(store.index.conn, store._payload_content).staged(2**31)[0]


def matching(store: Store, words: str) -> list[tuple[int, int]]:
    """(feed, seq) of the documents the FTS5 table itself matches (no search, so no
    indexing first), in rowid order."""
    rows = store.index.conn.execute(
        "SELECT d.feed, d.seq FROM search s JOIN search_docs d ON d.doc = s.rowid "
        "WHERE search MATCH ? ORDER BY s.rowid",
        (words,),
    )
    return [(feed, seq) for feed, seq in rows]


def words(conn: sqlite3.Connection, table: str) -> list[tuple[int, str, int, int]]:
    """(rowid, term, column, offset) of every word instance FTS5 ``table`` holds."""
    vocab = f"temp.{table}_words"
    conn.execute(f"DROP TABLE IF EXISTS {vocab}")
    conn.execute(f"CREATE VIRTUAL TABLE {vocab} USING fts5vocab(main, {table}, instance)")
    try:
        return sorted(conn.execute(f"SELECT doc, term, col, offset FROM {vocab}"))
    finally:
        conn.execute(f"DROP TABLE {vocab}")


def assert_words_are_the_documents(store: Store) -> None:
    """The words ``search`` holds are exactly the words of the documents ``search_docs``
    lists, as a fresh index of them would hold (no word of a removed document is left)."""
    documents = indexed_documents(store)
    with contextlib.closing(sqlite3.connect(":memory:")) as fresh:
        fresh.execute(
            "CREATE VIRTUAL TABLE search USING fts5(text, facets, content = '', "
            f"tokenize = '{TOKENIZE}', columnsize = 0)"
        )
        fresh.executemany(
            "INSERT INTO search(rowid, text, facets) VALUES (?, ?, ?)",
            [(doc, d.text, d.facets) for doc, d in sorted(documents.items())],
        )
        expected = words(fresh, "search")
    assert words(store.index.conn, "search") == expected, "the index holds words of no document"


def with_text_copy(store: Store) -> None:
    """Turn ``store``'s index back into what lndesk wrote before migration CONTENTLESS:
    ``search`` with a copy of every text and feed and seq in it, rowids of 20 slot bits."""
    documents = indexed_documents(store)
    conn = store.index.conn
    rows = {}
    for d in documents.values():
        rowid = d.claimed_ms << OLD_SLOT_BITS | (
            ((d.feed * 0x9E3779B1) ^ (d.seq * 0x85EBCA77)) & ((1 << OLD_SLOT_BITS) - 1)
        )
        while rowid in rows:
            rowid += 1
        rows[rowid] = (rowid, d.text, d.facets, d.feed, d.seq)
    conn.executescript(
        f"""
        BEGIN;
        DROP TABLE search;
        DROP TABLE search_docs;
        CREATE VIRTUAL TABLE search USING fts5(
            text, facets, feed UNINDEXED, seq UNINDEXED,
            tokenize = "{TOKENIZE}", columnsize = 0
        );
        INSERT INTO search(search, rank) VALUES ('automerge', 8);
        PRAGMA user_version = {CONTENTLESS - 1};
        COMMIT;
        """
    )
    conn.executemany(
        "INSERT INTO search(rowid, text, facets, feed, seq) VALUES (?, ?, ?, ?, ?)",
        sorted(rows.values()),
    )
