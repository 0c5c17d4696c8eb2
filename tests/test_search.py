"""Full-text search: turning a person's words into a safe query, and what it finds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from search_index import matching
from store_helpers import BASE_MS, make_identity

import lndesk.store.search as search_module
import lndesk.store.store as store_module
from lndesk.content import Edit, ListItem, Post, ReadingList, Reply, Share, Tombstone
from lndesk.entry_refs import PostKey, ref_of
from lndesk.errors import UsageError
from lndesk.store.search import MAX_TERMS, SearchHit, SearchQuery, match_expression, search
from lndesk.store.store import Store

ANN = make_identity(41)
BEN = make_identity(42)
HOUR = 3_600_000


def found(store: Store, text: str = "", **filters: object) -> list[PostKey]:
    hits = search(store, SearchQuery(text, **filters), 50)  # type: ignore[arg-type]
    return [(hit.entry.entry.author, hit.entry.entry.seq) for hit in hits]


def marked(hit: SearchHit) -> list[str]:
    return [hit.snippet[start:end] for start, end in hit.spans]


# --- the query ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expression"),
    [
        ("spaced repetition", '"spaced" "repetition" *'),
        ("spaced repetition ", '"spaced" "repetition"'),
        ('"spaced repetition" works', '"spaced repetition" "works" *'),
        ('"spaced repetition"', '"spaced repetition"'),
        ('an "unclosed phrase', '"an" "unclosed phrase"'),
        ("NOT this OR that", '"NOT" "this" "OR" "that" *'),
        ("col:umn (a*) ^b", '"col:umn" "(a*)" "^b"'),
        ("nul\x00 byte", '"nul" "byte" *'),
        ('say "hi"there', '"say" "hi" "there" *'),
        ("learn ab", '"learn" "ab"'),  # too short to be a prefix
        ("c++", '"c++"'),
        ("e-lea", '"e-lea" *'),
        ("!!! ... learn", '"learn" *'),
        ("", None),
        ("   ", None),
        ('"" !!!', None),
    ],
)
def test_words_become_a_quoted_query(text: str, expression: str | None) -> None:
    assert match_expression(text) == expression


def test_too_many_words_or_too_long_a_text_is_a_usage_error() -> None:
    assert match_expression(" ".join(["w"] * MAX_TERMS)) is not None
    with pytest.raises(UsageError, match="at most"):
        match_expression(" ".join(["w"] * (MAX_TERMS + 1)))
    with pytest.raises(UsageError, match="longer than"):
        match_expression("x" * 501)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(alphabet=st.characters(codec="utf-8"), max_size=60))
def test_no_text_makes_an_fts5_syntax_error(store: Store, text: str) -> None:
    try:
        search(store, SearchQuery(text, type="post"), 5)
    except UsageError:
        pass
    except sqlite3.Error as exc:  # pragma: no cover - the failure this test looks for
        pytest.fail(f"{text!r} reached SQLite as bad syntax: {exc}")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (SearchQuery(""), "nothing to search for"),
        (SearchQuery("  ", hidden=frozenset({ANN.public_key})), "nothing to search for"),
        (SearchQuery("x", type="follow"), "not a type of entry"),
        (SearchQuery("x", tag="two words"), "not a usable tag"),
        (SearchQuery("x", author=b"short"), "public key"),
        (SearchQuery("x", since_ms=10, until_ms=5), "start date is after"),
    ],
)
def test_queries_that_cannot_be_searched_say_why(
    store: Store, query: SearchQuery, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as caught:
        search(store, query)
    assert caught.value.describe()


def test_limits_must_be_sensible(store: Store) -> None:
    for limit, offset in ((0, 0), (501, 0), (10, -1)):
        with pytest.raises(UsageError):
            search(store, SearchQuery("x"), limit, offset)


# --- what it finds ------------------------------------------------------------------------


@pytest.fixture
def library(store: Store) -> Store:
    """Ann and Ben post about learning, an hour apart, oldest first."""
    at = iter(range(BASE_MS, BASE_MS + 100 * HOUR, HOUR))
    store.publish(ANN, Post("Spaced repetition beats cramming", tags=("Memory",)), next(at))
    store.publish(BEN, Post("Retrieval practice and spaced repetition", tags=("memory",)), next(at))
    store.publish(ANN, Post("École maternelle: learning through play", tags=("early",)), next(at))
    store.publish(BEN, Post("Worked examples for novices"), next(at))
    return store


def test_all_words_must_match_newest_first(library: Store) -> None:
    a, b = ANN.public_key, BEN.public_key
    assert found(library, "spaced repetition") == [(b, 1), (a, 1)]
    assert found(library, "repetition cramming") == [(a, 1)]
    assert found(library, "repetition novices") == []
    assert found(library, '"spaced repetition"') == [(b, 1), (a, 1)]
    assert found(library, '"repetition spaced"') == []
    assert found(library, "ecole") == [(a, 2)]  # diacritics do not matter
    assert found(library, "ÉCOLE MATERNELLE") == [(a, 2)]
    assert found(library, "retr") == [(b, 1)]  # the last word is a prefix
    assert found(library, "retr ") == []  # ... unless it is finished


def test_snippets_mark_the_matched_words(library: Store) -> None:
    (hit,) = search(library, SearchQuery("cramming spaced"))
    assert hit.snippet == "Spaced repetition beats cramming"
    assert marked(hit) == ["Spaced", "cramming"]
    (hit,) = search(library, SearchQuery("learn"))
    assert marked(hit) == ["learning"]
    (hit,) = search(library, SearchQuery('"spaced repetition"', author=ANN.public_key))
    assert marked(hit) == ["Spaced repetition"]


def test_a_long_text_is_cut_around_the_match(store: Store) -> None:
    words = [f"word{n}" for n in range(200)]
    words[150] = "needle"
    store.publish(ANN, Post(" ".join(words) + "\x02 control\x03 characters"))
    (hit,) = search(store, SearchQuery("needle"))
    assert len(hit.snippet) < 300 and hit.snippet.startswith("…")
    assert marked(hit) == ["needle"]
    (hit,) = search(store, SearchQuery("control characters"))
    assert "\x02" not in hit.snippet and marked(hit) == ["control", "characters"]


def test_filters_narrow_the_matches(library: Store) -> None:
    a, b = ANN.public_key, BEN.public_key
    assert found(library, "repetition", author=a) == [(a, 1)]
    assert found(library, "repetition", tag="#MEMORY") == [(b, 1), (a, 1)]
    assert found(library, "learning", tag="memory") == []
    assert found(library, "repetition", hidden=frozenset({b})) == [(a, 1)]
    assert found(library, "repetition", since_ms=BASE_MS + HOUR) == [(b, 1)]
    assert found(library, "repetition", until_ms=BASE_MS + HOUR - 1) == [(a, 1)]
    assert found(library, "repetition", since_ms=BASE_MS, until_ms=BASE_MS) == [(a, 1)]
    assert found(library, "repetition", type="reply") == []
    assert found(library, "repetition", author=make_identity(99).public_key) == []


def test_filters_alone_list_newest_first(library: Store) -> None:
    a, b = ANN.public_key, BEN.public_key
    assert found(library, author=b) == [(b, 2), (b, 1)]
    assert found(library, "  ", tag="memory") == [(b, 1), (a, 1)]
    assert found(library, since_ms=BASE_MS + 2 * HOUR) == [(b, 2), (a, 2)]
    hits = search(library, SearchQuery("", until_ms=BASE_MS))
    assert [(h.snippet, h.spans) for h in hits] == [("Spaced repetition beats cramming", [])]
    assert len(search(library, SearchQuery("", author=a))[0].snippet) > 0


def test_paging_with_limit_and_offset(library: Store) -> None:
    everything = found(library, since_ms=0)
    assert len(everything) == 4
    pages = [search(library, SearchQuery("", since_ms=0), 3, offset) for offset in (0, 3)]
    assert [(h.entry.entry.author, h.entry.entry.seq) for p in pages for h in p] == everything


def test_entries_claimed_in_the_future_are_held_back(store: Store) -> None:
    store.publish(ANN, Post("from the future"), claimed_ms=store_module.now_ms() + 24 * HOUR)
    assert found(store, "future") == []
    assert found(store, "future", until_ms=2**62) == []


def test_deleted_entries_leave_the_index(library: Store) -> None:
    gone = library.feed_entries(ANN.public_key)[-1].entry  # "Spaced repetition beats ..."
    library.publish(ANN, Tombstone(ref_of(gone)))
    assert found(library, "cramming") == []
    assert found(library, "repetition") == [(BEN.public_key, 1)]
    library.reindex()
    assert found(library, "cramming") == []


def test_the_current_version_is_searched_and_the_original_is_the_hit(library: Store) -> None:
    original = library.feed_entries(BEN.public_key)[-1].entry  # "Retrieval practice ..."
    library.publish(BEN, Edit(ref_of(original), "Interleaving mixes topics", tags=("mixing",)))
    assert found(library, "retrieval") == []
    hits = search(library, SearchQuery("interleaving", tag="mixing", type="post"))
    assert [(h.entry.entry.seq, h.entry.entry.type, marked(h)) for h in hits] == [
        (1, "post", ["Interleaving"])
    ]
    assert found(library, "", tag="memory") == [(ANN.public_key, 1)]


def test_replies_shares_and_reading_lists_are_searchable(library: Store) -> None:
    first = library.feed_entries(ANN.public_key)[-1].entry
    at = iter(range(BASE_MS + 20 * HOUR, BASE_MS + 30 * HOUR, HOUR))
    library.publish(BEN, Reply("Agreed about cramming", ref_of(first), ref_of(first)), next(at))
    library.publish(BEN, Share(ref_of(first), "A classic on cramming"), next(at))
    library.publish(BEN, Share(ref_of(first)), next(at))  # no comment: nothing to search
    title = "Cramming reading"
    lst = library.publish(ANN, ReadingList(title, (ListItem(link="https://x.org"),)), next(at))
    update = library.publish(
        ANN,
        ReadingList(
            "Memory reading", (ListItem(link="https://x.org", note="on cramming"),), of=ref_of(lst)
        ),
        next(at),
    )
    hits = search(library, SearchQuery("cramming", since_ms=BASE_MS + 10 * HOUR))
    assert [h.entry.entry.type for h in hits] == ["readinglist", "share", "reply"]
    assert hits[0].entry.entry.seq == update.seq  # the list's current state
    assert found(library, "cramming", type="share") == [(BEN.public_key, 4)]
    assert found(library, "memory reading", type="readinglist") == [(ANN.public_key, update.seq)]
    assert found(library, '"cramming reading"') == []  # the first title is gone


def test_the_same_results_after_a_rebuild(tmp_path: Path, library: Store) -> None:
    queries = ["spaced", "ecole", "worked exam", "memory"]
    before = [found(library, q) for q in queries]
    library.reindex()
    assert [found(library, q) for q in queries] == before


def test_documents_claiming_one_millisecond_all_get_a_place(store: Store) -> None:
    for number in range(40):
        store.publish(ANN, Post(f"same instant {number}"), claimed_ms=BASE_MS)
    hits = search(store, SearchQuery("instant"), 100)
    assert sorted(h.entry.entry.seq for h in hits) == list(range(1, 41))
    store.publish(ANN, Tombstone(ref_of(hits[0].entry.entry)))
    assert len(search(store, SearchQuery("instant"), 100)) == 39


# --- indexing later: staged text ------------------------------------------------------------


def in_index(store: Store, words: str) -> list[int]:
    """Seqs of the documents the FTS5 table itself matches (no search, so no indexing)."""
    return sorted(seq for _, seq in matching(store, words))


def staged(store: Store) -> list[tuple[int, int]]:
    """(seq, seq of the entry holding the text) of the staged documents."""
    rows = store.index.conn.execute("SELECT seq, source FROM search_pending ORDER BY seq")
    return [(seq, source) for seq, source in rows]


def test_stored_text_is_staged_until_it_is_indexed(store: Store) -> None:
    for number in range(5):
        store.publish(ANN, Post(f"staged note {number}"))
    assert store.text_pending() == 5
    assert in_index(store, "staged") == []
    assert store.index_text(limit=2) == 3  # the oldest staged first
    assert in_index(store, "staged") == [1, 2]
    assert store.index_text() == 0
    assert in_index(store, "staged") == [1, 2, 3, 4, 5]
    assert staged(store) == [] and store.text_pending() == 0
    assert store.index_text() == 0  # nothing to do


def test_a_search_indexes_a_small_backlog_first(library: Store) -> None:
    assert library.text_pending() == 4
    hits = search(library, SearchQuery("spaced"))
    assert len(hits) == 2 and hits.pending == 0
    assert library.text_pending() == 0


def test_a_search_leaves_a_large_backlog_to_the_indexer(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search_module, "FLUSH_LIMIT", 3)
    for number in range(3):
        store.publish(ANN, Post(f"early note {number}"), BASE_MS + number * HOUR)
    assert search(store, SearchQuery("note")).pending == 0  # 3: indexed first
    for number in range(3, 7):
        store.publish(ANN, Post(f"late note {number}"), BASE_MS + number * HOUR)
    hits = search(store, SearchQuery("note"))
    assert (len(hits), hits.pending) == (3, 4)  # what is indexed; "still indexing 4 posts"
    assert [h.entry.entry.seq for h in hits] == [3, 2, 1]
    assert store.index_text(limit=10) == 0
    hits = search(store, SearchQuery("note"))
    assert (len(hits), hits.pending) == (7, 0)


def test_staged_text_follows_edits_and_deletions_before_it_is_indexed(store: Store) -> None:
    draft = store.publish(ANN, Post("first draft"))
    store.publish(ANN, Edit(ref_of(draft), "second draft"))
    regret = store.publish(ANN, Post("a regrettable remark"))
    store.publish(ANN, Tombstone(ref_of(regret)))
    assert staged(store) == [(1, 2)]  # the post, with the text of its edit
    assert found(store, "draft") == [(ANN.public_key, 1)]
    assert in_index(store, "second") == [1] and in_index(store, "first") == []
    assert found(store, "regrettable") == []


def test_the_search_command_indexes_the_whole_backlog_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lndesk.app.actions import ACTIONS
    from lndesk.app.service import Service, create_identity

    monkeypatch.setattr(search_module, "FLUSH_LIMIT", 2)  # a search alone would not
    create_identity(tmp_path / "data")
    with Service(tmp_path / "data") as service:
        for number in range(7):
            service.post(f"backlog note {number}")
        assert service.store.text_pending() == 7
        done = ACTIONS["search"](service, {"query": "backlog", "limit": 50})
        assert (len(done["hits"]), done["indexed"], done["pending"]) == (7, 7, 0)


def test_a_query_without_words_or_filters_is_empty() -> None:
    assert SearchQuery("").empty()
    assert SearchQuery("", hidden=frozenset({ANN.public_key})).empty()  # hiding is no filter
    assert not SearchQuery("x").empty()
    for name, value in (
        ("author", ANN.public_key),
        ("tag", "a"),
        ("type", "post"),
        ("since_ms", 0),
        ("until_ms", 0),
    ):
        assert not SearchQuery("", **{name: value}).empty()  # type: ignore[arg-type]
