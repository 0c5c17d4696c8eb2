"""The full-text index without a copy of the text (lndesk.store.fulltext, migration 8).

Searches find what the index with texts found, with the same snippets; removing a
document leaves none of its words; an index with a copy of the text is staged again.
"""

from __future__ import annotations

import contextlib
import random
import sqlite3
from pathlib import Path

import pytest
from search_index import (
    CONTENTLESS,
    assert_words_are_the_documents,
    indexed_documents,
    indexed_texts,
    staged_documents,
    with_text_copy,
)
from store_helpers import BASE_MS, make_identity

from lndesk.content import Edit, ListItem, Post, ReadingList, Share, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.store import fulltext
from lndesk.store.migrations import SCHEMA_VERSION
from lndesk.store.purge import purge_payloads
from lndesk.store.search import SearchQuery, search
from lndesk.store.snippets import SNIPPET_TOKENS
from lndesk.store.store import Store

ANN = make_identity(61)
BEN = make_identity(62)
HOUR = 3_600_000
WORDS = (
    "spaced repetition retrieval practice interleaving feedback novices experts memory "
    "attention reading writing notes questions examples worked problems learning teaching "
    "the of and to a in is that for it"
).split()


def shelf(store: Store, posts: int = 60) -> None:
    """Posts of random words by two authors, with tags, an edit, a deleted post, a share
    with a comment and a reading list updated once."""
    rng = random.Random(7)
    at = iter(range(BASE_MS, BASE_MS + 10_000 * HOUR, HOUR))
    first = None
    for number in range(posts):
        author = (ANN, BEN)[number % 2]
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(5, 60)))
        tags = tuple(rng.sample(("memory", "reading", "Études"), rng.randint(0, 2)))
        entry = store.publish(author, Post(f"{text} number{number}", tags=tags), next(at))
        first = first or entry
    assert first is not None
    store.publish(ANN, Edit(ref_of(first), "spaced repetition, edited: retrieval first"), next(at))
    doomed = store.publish(BEN, Post("a remark about memory to delete"), next(at))
    store.publish(BEN, Tombstone(ref_of(doomed)), next(at))
    store.publish(BEN, Share(ref_of(first), comment="worth reading on memory"), next(at))
    books = ReadingList("Memory books", (ListItem(link="https://example.org/a", note="spaced"),))
    listed = store.publish(ANN, books, next(at))
    later = (ListItem(link="https://example.org/b", note="retrieval"),)
    updated = ReadingList("Memory books", later, of=ref_of(listed))
    store.publish(ANN, updated, next(at))


QUERIES = [
    SearchQuery("spaced"),
    SearchQuery("memory"),
    SearchQuery("retrieval practice"),
    SearchQuery('"worked examples"'),
    SearchQuery("learn"),
    SearchQuery("the", tag="memory"),
    SearchQuery("reading", author=ANN.public_key),
    SearchQuery("notes", type="post", since_ms=BASE_MS + 20 * HOUR),
    SearchQuery("", tag="études"),
    SearchQuery("", until_ms=BASE_MS + 30 * HOUR),
]


def results(store: Store) -> list[list[tuple[bytes, int, str, list[tuple[int, int]]]]]:
    return [
        [
            (h.entry.entry.author, h.entry.entry.seq, h.snippet, h.spans)
            for h in search(store, q, 50)
        ]
        for q in QUERIES
    ]


def test_snippets_are_those_of_an_index_with_the_texts(store: Store) -> None:
    shelf(store)
    store.index_text()
    documents = indexed_documents(store)
    # The index as it was: FTS5 keeping every text, and its own snippet().
    with contextlib.closing(sqlite3.connect(":memory:")) as kept:
        kept.execute(
            "CREATE VIRTUAL TABLE search USING fts5(text, facets, "
            f"tokenize = '{fulltext.TOKENIZE}', columnsize = 0)"
        )
        kept.executemany(
            "INSERT INTO search(rowid, text, facets) VALUES (?, ?, ?)",
            [(doc, d.text, d.facets) for doc, d in documents.items()],
        )
        for words in ("spaced", "retrieval practice", '"worked examples"', "learn"):
            expression = f"text : ({search_words(words)})"
            expected = [
                marked.replace("\x02", "").replace("\x03", "")
                for (marked,) in kept.execute(
                    "SELECT snippet(search, 0, '\x02', '\x03', '…', ?) FROM search "
                    "WHERE search MATCH ? ORDER BY rowid DESC LIMIT 50",
                    (SNIPPET_TOKENS, expression),
                )
            ]
            hits = search(store, SearchQuery(words), 50)
            assert [h.snippet for h in hits] == expected, words
            assert expected, words


def search_words(words: str) -> str:
    from lndesk.store.search import match_expression

    expression = match_expression(words)
    assert expression is not None
    return expression


def test_an_index_with_texts_is_staged_again_and_finds_the_same(tmp_path: Path) -> None:
    directory = tmp_path / "data"
    with Store(directory) as store:
        shelf(store)
        store.index_text()
        expected = results(store)
        texts = indexed_texts(store)
        with_text_copy(store)
        assert store.index.conn.execute("PRAGMA user_version").fetchone()[0] == CONTENTLESS - 1
    with Store(directory) as store:
        assert store.index.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        # Every document of the old table waits for the indexer, newest first, with the
        # entry its text is in: the edited post's text is its edit's.
        staged = staged_documents(store)
        assert sorted(d.text for d in staged) == texts
        assert [d.claimed_ms for d in staged] == sorted(
            (d.claimed_ms for d in staged), reverse=True
        )
        assert "spaced repetition, edited: retrieval first" in texts
        assert indexed_documents(store) == {}
        store.index_text()
        assert results(store) == expected
        assert_words_are_the_documents(store)
        migrated = sorted(
            (d.feed, d.seq, d.text, d.facets) for d in indexed_documents(store).values()
        )
        store.reindex()
        store.index_text()
        rebuilt = sorted(
            (d.feed, d.seq, d.text, d.facets) for d in indexed_documents(store).values()
        )
        assert migrated == rebuilt


def test_documents_crowding_one_millisecond_keep_their_words_apart(store: Store) -> None:
    entries = [
        store.publish(ANN, Post(f"crowded instant word{number}"), claimed_ms=BASE_MS)
        for number in range(150)
    ]
    store.index_text()
    rowids = sorted(indexed_documents(store))
    assert len(rowids) == 150 and len({r >> fulltext.SLOT_BITS for r in rowids}) == 1
    for entry in entries[::3]:
        store.publish(ANN, Tombstone(ref_of(entry)))
    for number in range(150, 200):
        store.publish(ANN, Post(f"crowded instant word{number}"), claimed_ms=BASE_MS)
    store.index_text()
    assert_words_are_the_documents(store)
    hits = search(store, SearchQuery("crowded"), 500)
    assert sorted(h.entry.entry.seq for h in hits) == sorted(
        [e.seq for e in entries if e.seq % 3 != 1] + list(range(201, 251))
    )
    assert [h.snippet for h in search(store, SearchQuery("word160 "))] == [
        "crowded instant word160"
    ]


@pytest.mark.parametrize("indexed", [False, True], ids=["staged", "indexed"])
def test_edits_and_list_updates_replace_the_words_of_the_document(
    store: Store, indexed: bool
) -> None:
    post = store.publish(ANN, Post("an early draft about mnemonics"))
    dusty = (ListItem(link="https://x.org", note="dusty"),)
    books = store.publish(ANN, ReadingList("Shelf", dusty))
    if indexed:
        store.index_text()
    store.publish(ANN, Edit(ref_of(post), "a final text about retrieval"))
    polished = (ListItem(link="https://x.org", note="polished"),)
    store.publish(ANN, ReadingList("Shelf", polished, of=ref_of(books)))
    store.index_text()
    assert_words_are_the_documents(store)
    assert indexed_texts(store) == ["Shelf\npolished", "a final text about retrieval"]
    assert search(store, SearchQuery("mnemonics")) == []
    assert search(store, SearchQuery("dusty")) == []


def test_forgotten_entries_leave_no_words(store: Store) -> None:
    kept = store.publish(BEN, Post("a question about flashcards, kept"))
    asked = store.publish(BEN, Post("a request about flashcards that expires"))
    edited = store.publish(BEN, Post("another request, first words"))
    edit = store.publish(BEN, Edit(ref_of(edited), "another request, edited about flashcards"))
    store.index_text()
    store.forget(BEN.public_key, [asked.seq, edited.seq, edit.seq])
    assert_words_are_the_documents(store)
    assert indexed_texts(store) == ["a question about flashcards, kept"]
    assert [h.entry.entry.seq for h in search(store, SearchQuery("flashcards"))] == [kept.seq]
    store.reindex()
    store.index_text()
    assert indexed_texts(store) == ["a question about flashcards, kept"]


def test_a_document_whose_text_is_gone_keeps_its_rowid_until_a_rebuild(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    post = store.publish(ANN, Post("ghostly words nobody can read back"))
    store.publish(ANN, Post("ordinary words"))
    store.index_text()
    # The log lost the payload while the index still holds the document (an index out of
    # step with its log): removing the document cannot tell FTS5 its words.
    (row,) = store.index.entry_rows("e.seq = ? AND f.key = ?", (post.seq, ANN.public_key))
    assert purge_payloads(store.log, [(row.offset, post.id)]) == 1
    store.publish(ANN, Tombstone(ref_of(post)))
    assert "cannot be read back to remove it from search" in caplog.text
    assert search(store, SearchQuery("ghostly")) == []
    held = store.index.conn.execute("SELECT seq FROM search_docs ORDER BY seq").fetchall()
    assert held == [(0,), (2,)]  # its rowid stays taken, by no entry
    store.reindex()
    store.index_text()
    assert_words_are_the_documents(store)
    assert indexed_texts(store) == ["ordinary words"]
