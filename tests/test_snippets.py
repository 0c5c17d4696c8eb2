"""Snippets made in Python (lndesk.store.snippets) are FTS5's own.

Every simple character is tokenized as SQLite's unicode61 tokenizer does it, and for
any simple text and query the snippet and its marks are those FTS5's snippet() gives
over a table with the text.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tracemalloc
from collections.abc import Iterator

import pytest
from fts5_snippets import fts5_snippet, fts5_snippets, unmarked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lndesk.store import folding
from lndesk.store import snippets as snippets_module
from lndesk.store.folding import SIMPLE_RANGES, fold, is_token_char, tokens
from lndesk.store.fulltext import TOKENIZE
from lndesk.store.search import query_terms, terms_expression
from lndesk.store.snippets import SNIPPET_TOKENS, phrases, snippet, snippets


def is_simple(text: str) -> bool:
    """Whether every character of ``text`` is in SIMPLE_RANGES (folded by Python's tables)."""
    return all(any(lo <= ord(c) <= hi for lo, hi in SIMPLE_RANGES) for c in text)


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


def test_texts_of_other_scripts_get_fts5s_snippets() -> None:
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


def test_a_long_text_of_any_script_gets_fts5s_snippet() -> None:
    # A post of 16,000 matching words: FTS5's snippet() takes seconds (it scores every
    # window against every match); the snippet is the one FTS5 gives for its start.
    for word in ("学习", "한국어", "mot\u0301", "ǅ", "the"):
        terms = query_terms(word)
        text = f"{word} " * 16_000
        made = snippets([(1, text), (2, f"{word} again")], terms, terms_expression(terms))
        assert made[1] == fts5_snippet(text[:6000], terms_expression(terms)), word
        assert made[2] == fts5_snippet(f"{word} again", terms_expression(terms)), word


def test_lists_without_words_show_the_first_words() -> None:
    long = "spaced practice " * 100
    documents = [(1, "spaced 学习"), (2, "spaced practice"), (3, long), (4, long + "学习")]
    made = snippets(documents, [], None)
    assert made[2] == ("spaced practice", []) and made[1] == ("spaced 学习", [])
    assert made[3] == made[4] == (" ".join(long.split()[:SNIPPET_TOKENS]) + "…", [])
    assert snippets([(5, "  . one, two ")], [], None) == {5: ("  . one, two ", [])}
    words = [f"w{n}" for n in range(SNIPPET_TOKENS)]
    assert snippets([(6, " ".join(words) + " . ")], [], None) == {6: (" ".join(words) + " . ", [])}


def test_a_word_many_times_in_the_query_is_counted_once() -> None:
    # FTS5 counts every phrase of a query, the same word 16 times too; a post of 32,768
    # such words held 524,288 instances (tens of MB) where 32,768 weighing 16 say it all.
    terms = query_terms("a " * 16)
    text = "a " * 32_768
    tracemalloc.start()
    try:
        made = snippets([(1, text)], terms, terms_expression(terms))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20
    assert made[1] == fts5_snippet("a " * 100, terms_expression(terms))
    for words in ("a a b ", "b a a ", "a b a a "):  # with another word, and weights
        assert_same_words("a b " * 20 + "b " * 30 + "a a b. " * 5, words)


def assert_same_words(text: str, words: str) -> None:
    terms = query_terms(words)
    assert snippet(text, phrases(terms)) == fts5_snippet(text, terms_expression(terms)), words


def test_the_folds_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    # Posts of ever new characters (Chinese, say) must not grow the table of folds
    # without end: past FOLDS_LIMIT the ones asked about are forgotten.
    monkeypatch.setattr(folding, "FOLDS_LIMIT", 100)
    monkeypatch.setattr(folding, "_folds", {})
    simple = len(folding._seed())
    for block in range(8):
        text = " ".join(chr(0x4E00 + block * 50 + n) for n in range(50))
        assert tokens(text) == text.split()
        assert len(folding._folds) <= simple + 100
    assert tokens("\u4e00 \u4e01") == ["\u4e00", "\u4e01"]  # asked about again


def texts_of_any_script() -> st.SearchStrategy[str]:
    # Letters, marks, digits, punctuation, symbols and separators of every plane; not
    # NUL, \x02 and \x03 (the index never holds them) nor surrogates.
    return st.text(
        st.characters(
            blacklist_categories=("Cs",), blacklist_characters="\x00\x02\x03", max_codepoint=0x2FFFF
        ),
        max_size=120,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts_of_any_script(), data=st.data())
def test_snippets_of_any_text_are_fts5_snippets(text: str, data: st.DataObject) -> None:
    # The tokenizer's own words of the text, one to three of them (a prefix, repeated or
    # quoted together too), highlighted as FTS5 highlights them.
    words = tokens(text)
    if not words:
        return
    picked = data.draw(st.lists(st.sampled_from(words), min_size=1, max_size=3))
    ending = data.draw(st.sampled_from(["", " "]))
    query = data.draw(st.sampled_from([" ".join(picked), '"' + " ".join(picked) + '"']))
    terms = query_terms(query + ending)
    expected = fts5_snippet(text, terms_expression(terms))
    if expected is not None:
        assert snippet(text, phrases(terms)) == expected, (text, query + ending)


def test_a_long_text_is_never_handed_to_fts5(monkeypatch: pytest.MonkeyPatch) -> None:
    # FTS5's snippet() of 16,000 matching words takes seconds: whatever the query, a
    # post of them must not stall every search that finds it, in any script.
    sent: list[str] = []
    real = snippets_module.fts5_snippets

    def counted(
        documents: list[tuple[int, str]], expression: str | None, size: int, ellipsis: str
    ) -> dict[int, str]:
        sent.extend(text for _, text in documents)
        return real(documents, expression, size, ellipsis)

    monkeypatch.setattr(snippets_module, "fts5_snippets", counted)
    for word in ("学习", "한국어", "mot\u0301", "the"):
        terms = query_terms(f"{word} {word}x {word}")
        text = f"{word} {word}x " * 8_000
        made = snippets([(1, text), (2, f"{word} {word}x")], terms, terms_expression(terms))
        # The short one only; none while the last word is typed in ASCII texts.
        assert sent == ([] if word.isascii() else [f"{word} {word}x"]), word
        sent.clear()
        assert made[1] == fts5_snippet(text[:6000], terms_expression(terms)), word
        assert made[2] == fts5_snippet(f"{word} {word}x", terms_expression(terms)), word


ASCII_WORDS = ["the", "There", "other", "a", "ab", "BA", "bab", "in", "inn", "x1", "42", "to"]
ASCII_GAPS = [" ", "  ", ", ", ". ", ".", ": ", "\n", ".\n\t ", " - ", "'", "_", "(", ") "]


@st.composite
def ascii_texts(draw: st.DrawFn) -> str:
    # Words found inside one another ("the" in "There" and "other", "a" in "bab"), in
    # any case, between gaps of punctuation and white space: what str.find meets.
    words = draw(st.lists(st.sampled_from(ASCII_WORDS), max_size=90))
    gaps = draw(st.lists(st.sampled_from(ASCII_GAPS), min_size=len(words) + 1))
    return "".join(g + w for g, w in zip(gaps, [*words, ""], strict=False))


@st.composite
def ascii_queries(draw: st.DrawFn) -> str:
    word = st.sampled_from(ASCII_WORDS).map(str.lower)
    term = st.one_of(
        word,
        st.lists(word, min_size=2, max_size=3).map(lambda ws: '"' + " ".join(ws) + '"'),
    )
    terms = draw(st.lists(term, min_size=1, max_size=3))
    return " ".join(terms) + draw(st.sampled_from(["", " "]))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=ascii_texts(), words=ascii_queries(), near=st.sampled_from([0, 12, 10_000]))
def test_snippets_of_ascii_texts_are_the_split_texts_and_fts5s(
    text: str, words: str, near: int
) -> None:
    # A short ASCII text is never split into words: its matches are found with
    # str.find (up to `near` places where a query's first word is found, else it is
    # split after all). Its snippet is the one of the text split into words, as every
    # text was before (LONG_TEXT -1: no text is short), and FTS5's.
    terms = query_terms(words)
    query = phrases(terms)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(snippets_module, "LONG_TEXT", -1)
        split = snippet(text, query)
    with pytest.MonkeyPatch.context() as patched:
        patched.setattr(snippets_module, "NEAR_MATCHES", near)
        assert snippet(text, query) == split, (text, words)
    expected = fts5_snippet(text, terms_expression(terms))
    if expected is not None:
        assert split == expected, (text, words)


def test_ascii_texts_are_never_split_unless_near_matches_abound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    split: list[str] = []
    real = snippets_module.split_words

    def counted(folded_text: str, plain: bool) -> list[str]:
        split.append(folded_text)
        return real(folded_text, plain)

    monkeypatch.setattr(snippets_module, "split_words", counted)
    text = "Spaced practice, then: retrieval practice beats rereading. " * 5
    for words in ("practice ", '"retrieval practice"', "spaced retr", "rereading "):
        terms = query_terms(words)
        made = snippets([(1, text)], terms, terms_expression(terms))
        assert made[1] == fts5_snippet(text, terms_expression(terms)), words
    assert split == []
    # "a" is in nearly every word: splitting the text costs less than finding them all.
    text = "A banana and a cat at a table, made of alabaster. " * 3
    terms = query_terms("a ")
    made = snippets([(1, text)], terms, terms_expression(terms))
    assert len(split) == 1
    assert made[1] == fts5_snippet(text, terms_expression(terms))
