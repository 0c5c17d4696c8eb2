"""Snippets made in Python (lndesk.store.snippets) are FTS5's own.

Every simple character is tokenized as SQLite's unicode61 tokenizer does it, and for
any simple text and query the snippet and its marks are those FTS5's snippet() gives
over a table with the text.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lndesk.store import snippets as snippets_module
from lndesk.store.fulltext import TOKENIZE
from lndesk.store.search import query_terms, terms_expression
from lndesk.store.snippets import (
    LONG_TEXT,
    SIMPLE_RANGES,
    SNIPPET_TOKENS,
    fold,
    fts5_snippets,
    is_simple,
    is_token_char,
    phrases,
    snippet,
    snippets,
    tokens,
    unmarked,
)


@pytest.fixture(scope="module")
def kept() -> Iterator[sqlite3.Connection]:
    """A table with texts, as ``search`` was before it kept none: FTS5's snippets."""
    with contextlib.closing(sqlite3.connect(":memory:")) as conn:
        conn.execute(
            "CREATE VIRTUAL TABLE kept USING fts5(text, facets, "
            f"tokenize = '{TOKENIZE}', columnsize = 0)"
        )
        conn.execute("CREATE VIRTUAL TABLE kept_words USING fts5vocab(kept, instance)")
        yield conn


def fts5_words(conn: sqlite3.Connection, texts: list[str]) -> list[list[str]]:
    """The tokens FTS5 indexes for each text."""
    conn.executemany("INSERT INTO kept(rowid, text, facets) VALUES (?, ?, '')", enumerate(texts, 1))
    try:
        words: list[list[str]] = [[] for _ in texts]
        for doc, term in conn.execute(
            "SELECT doc, term FROM kept_words WHERE col = 'text' ORDER BY doc, offset"
        ):
            words[doc - 1].append(term)
        return words
    finally:
        conn.execute("DELETE FROM kept")


def test_every_simple_character_is_tokenized_as_sqlite_does(kept: sqlite3.Connection) -> None:
    simple = [chr(c) for lo, hi in SIMPLE_RANGES for c in range(lo, hi + 1)]
    simple = [c for c in simple if c not in "\x00\x01"]  # NUL ends SQLite's text
    texts = [f"q{c}z" for c in simple]
    for char, words in zip(simple, fts5_words(kept, texts), strict=True):
        expected = [f"q{fold(char)}z"] if is_token_char(char) else ["q", "z"]
        assert words == expected, f"U+{ord(char):04X}"
        assert tokens(f"q{char}z") == expected, f"U+{ord(char):04X}"


def test_characters_tokenized_otherwise_are_not_simple() -> None:
    # Letters SQLite folds its own way, an emoji newer than its tables, a combining mark,
    # Chinese: their texts go to FTS5.
    for char in ("Ǡ", "\u212b", "🙂", "\u0301", "学"):
        assert not is_simple(f"text with {char}")
    assert is_simple("Études, naïve, Ελληνικά, кириллица: “quoted” — 👍 ❤")


TEXTS = [
    "Spaced repetition beats cramming",
    "the of and to a in is that for it " * 6,
    "Retrieval practice. Then spacing: interleaving.  New sentence after two spaces.\n"
    "Worked examples help novices; experts learn from problems. " * 3,
    "  leading space, trailing dots...   ",
    "Études de café: naïve Ελληνικά КИРИЛЛИЦА “quoted” — 👍 ❤ 2nd ½ µs",
    "!!! ???",
    "",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "words",
    ["the", "spaced rep", "cram", '"worked examples"', "the the", "etudes cafe", "кирил", "S"],
)
def test_snippets_are_fts5_snippets(kept: sqlite3.Connection, text: str, words: str) -> None:
    assert_same(kept, text, words)


def assert_same(kept: sqlite3.Connection, text: str, words: str) -> None:
    terms = query_terms(words)
    query = phrases(terms)
    assert is_simple(text)
    expected = fts5_snippets([(1, text)], terms_expression(terms))
    if not expected:  # FTS5 finds no match: a search never shows the text for these words
        return
    assert snippet(text, query) == unmarked(expected[1]), (text, words)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        # The document's first sentence scores 120 more, a later one 100: the first wins
        # over a later one with one match more.
        ("x x " + "a " * 30 + "a. x x x " + "b " * 30, "x "),
        # A window whose last phrase runs past its end (C divides towards zero).
        ("a " * 30 + "x y " + "a " * 21 + "x y " + "a " * 30, '"x y"'),
        # Matches across a sentence's end, and at the very end.
        ("one two. three: four " * 10 + "one", "one"),
    ],
)
def test_fine_points_are_fts5s(kept: sqlite3.Connection, text: str, words: str) -> None:
    assert_same(kept, text, words)


SIMPLE_WORDS = [
    "the",
    "a",
    "spaced",
    "Spacing",
    "café",
    "cafe",
    "x1",
    "42",
    "\u03bd\u03b1\u03b9",
    "\u0434\u0430",
    "ok",
]
GAPS = [" ", "  ", ", ", ". ", ".", ": ", ":", "\n", ".\n\t ", " — ", "'", "-", "…", " “", "” "]


@st.composite
def texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(SIMPLE_WORDS), min_size=0, max_size=80))
    gaps = draw(st.lists(st.sampled_from(GAPS), min_size=len(words) + 1, max_size=len(words) + 1))
    return "".join(g + w for g, w in zip(gaps, [*words, ""], strict=True))


@st.composite
def queries(draw: st.DrawFn) -> str:
    terms = draw(
        st.lists(
            st.one_of(
                st.sampled_from(SIMPLE_WORDS),
                st.sampled_from(SIMPLE_WORDS).map(lambda w: w[:2]),
                st.lists(st.sampled_from(SIMPLE_WORDS), min_size=2, max_size=3).map(
                    lambda ws: '"' + " ".join(ws) + '"'
                ),
            ),
            min_size=1,
            max_size=4,
        )
    )
    ending = draw(st.sampled_from(["", " "]))
    return " ".join(terms) + ending


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts(), words=queries())
def test_random_snippets_are_fts5_snippets(kept: sqlite3.Connection, text: str, words: str) -> None:
    assert_same(kept, text, words)


def test_a_text_of_many_matches_gets_fts5s_snippet(kept: sqlite3.Connection) -> None:
    # FTS5 scores every window against every match (1,500 matches: 0.1 s, 30,000: a
    # minute); here a window slides over them.
    assert_same(kept, "the " * 1500, "the the")
    query = phrases(query_terms("the the"))
    made, spans = snippet("the " * 30_000, query)
    assert made == "the " * (SNIPPET_TOKENS - 1) + "the…"
    assert spans == [(n * 4, n * 4 + 3) for n in range(SNIPPET_TOKENS)]


def test_short_texts_get_fts5_snippets() -> None:
    terms = query_terms("学习")
    documents = [(1, "我们 学习 spaced"), (2, "学习 again")]
    made = snippets(documents, terms, terms_expression(terms))
    assert made == {1: ("我们 学习 spaced", [(3, 5)]), 2: ("学习 again", [(0, 2)])}


def test_every_other_character_is_tokenized_as_sqlite_does(kept: sqlite3.Connection) -> None:
    # Beyond the simple ranges SQLite itself says what a character is: checked in a
    # text of its own for every combining mark, every third character of the first
    # plane and every one of the emoji blocks.
    other = [
        chr(c)
        for c in [*range(0x300, 0x370), *range(0x80, 0x10000, 3), *range(0x1F000, 0x1FB00)]
        if not 0xD800 <= c <= 0xDFFF and not is_simple(chr(c))
    ]
    texts = [f"q{c}z {c}" for c in other]
    for text, words in zip(texts, fts5_words(kept, texts), strict=True):
        assert tokens(text) == words, f"U+{ord(text[1]):04X}"


OTHER_WORDS = [
    "学习",
    "学",
    "習う",
    "한국어",
    "مرحبا",
    "हिन्दी",
    "Ǡb",
    "e\u0301",
    "ẞ",
    "ǅ",
    "ﬁ",
    "\uff41\uff42",  # fullwidth ab
]
OTHER_GAPS = [" ", ". ", "、", "。", ": ", "\u3000", " \u0301 ", "…", " 🙂 "]


@st.composite
def other_texts(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(OTHER_WORDS + SIMPLE_WORDS), max_size=80))
    gaps = draw(st.lists(st.sampled_from(OTHER_GAPS + GAPS), min_size=len(words) + 1))
    return "".join(g + w for g, w in zip(gaps, [*words, ""], strict=False))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=other_texts(),
    words=st.lists(st.sampled_from(OTHER_WORDS), min_size=1, max_size=3).map(" ".join),
)
def test_snippets_of_other_scripts_are_fts5_snippets(
    kept: sqlite3.Connection, text: str, words: str
) -> None:
    terms = query_terms(words)
    expected = fts5_snippets([(1, text)], terms_expression(terms))
    if expected:
        assert snippet(text, phrases(terms)) == unmarked(expected[1]), (text, words)


def test_a_long_text_of_any_script_is_not_handed_to_fts5(
    kept: sqlite3.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # FTS5's snippet() of 16,000 matching words takes seconds: a post of them must not
    # stall every search that finds it, whatever its script.
    sent: list[str] = []
    real = snippets_module.fts5_snippets

    def counted(documents: list[tuple[int, str]], expression: str | None) -> dict[int, str]:
        sent.extend(text for _, text in documents)
        return real(documents, expression)

    monkeypatch.setattr(snippets_module, "fts5_snippets", counted)
    for word in ("学习", "한국어", "mot\u0301", "ǅ"):
        terms = query_terms(word)
        text = f"{word} " * 16_000
        made = snippets([(1, text), (2, f"{word} again")], terms, terms_expression(terms))
        assert sum(map(len, sent)) <= LONG_TEXT, word
        sent.clear()
        assert made[1] == unmarked(real([(1, text[:6000])], terms_expression(terms))[1])


def test_long_texts_and_lists_without_words_are_made_here(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = []
    real = snippets_module.fts5_snippets

    def counted(documents: list[tuple[int, str]], expression: str | None) -> dict[int, str]:
        sent.extend(rowid for rowid, _ in documents)
        return real(documents, expression)

    monkeypatch.setattr(snippets_module, "fts5_snippets", counted)
    long = "spaced practice " * (LONG_TEXT // 10)
    documents = [(1, "spaced 学习"), (2, "spaced practice"), (3, long), (4, long + "学习")]
    terms = query_terms("spaced")
    made = snippets(documents, terms, terms_expression(terms))
    assert sent == [1, 2]
    assert made[3] == snippet(long, phrases(terms))
    assert made[4] == unmarked(real([(4, long + "学习")], terms_expression(terms))[4])
    assert made[1] == ("spaced 学习", [(0, 6)]) and made[2] == ("spaced practice", [(0, 6)])
    sent.clear()
    made = snippets(documents, [], None)
    assert sent == []
    assert made[2] == ("spaced practice", []) and made[1] == ("spaced 学习", [])
    assert made[3] == (" ".join(long.split()[:SNIPPET_TOKENS]) + "…", [])
