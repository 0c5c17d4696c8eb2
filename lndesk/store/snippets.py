"""Snippets of search results: the words around the matches, the matched words marked.

A snippet is what FTS5's ``snippet()`` gives for the document and the query (the
``search`` table keeps no text, so FTS5 cannot make it there). For a text longer than
LONG_TEXT characters, or a listing without words, it is made here, in Python, by the
same steps as SQLite's ``fts5SnippetFunction``: the same tokens (``unicode61
remove_diacritics 2``, the tokenizer of ``search``), the same scores of windows of
SNIPPET_TOKENS tokens (a phrase's first match in a window 1000, every other 1, a window
that starts a sentence 100 more, the document's start 120), the same coalescing of
overlapping matches; but where FTS5 scores every window against every match (a post of
16,000 matching words took it 16 s), a window slides over them here, in time linear in
the text whatever it holds. A shorter text goes, with the query, into a table in memory
tokenized as ``search`` is, where FTS5 itself makes its snippet (the fragments depend
on the document and the query alone), a little faster at that size.

SIMPLE_RANGES are the characters whose tokens Python forms exactly as unicode61 does:
Latin, Greek and Cyrillic letters (lowercased; Latin ones without their diacritics),
digits, punctuation and common symbols and emoji. tests/test_snippets.py checks each of
them against SQLite's own tokenizer, and the snippets against FTS5's. What unicode61
does with any other character (Chinese, other scripts, combining marks, newer symbols)
SQLite itself is asked (:mod:`lndesk.store.unicode61`).
"""

from __future__ import annotations

import bisect
import functools
import itertools
import re
import sqlite3
import threading
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lndesk.store import unicode61
from lndesk.store.fulltext import TOKENIZE

SNIPPET_TOKENS = 24
START, END = "\x02", "\x03"
"""Marks of a match in FTS5's snippet(); indexed text never holds them (fulltext.clean)."""
ELLIPSIS = "…"
LONG_TEXT = 1000
"""Texts longer than this (in characters) get snippets made here."""

SIMPLE_RANGES = (
    (0x0000, 0x01DF),
    (0x01E4, 0x01ED),
    (0x01F0, 0x01FB),
    (0x0200, 0x02FF),
    (0x0370, 0x0377),
    (0x037A, 0x037E),
    (0x0384, 0x038A),
    (0x038C, 0x038C),
    (0x038E, 0x03A1),
    (0x03A3, 0x0527),
    (0x1E00, 0x1EFF),
    (0x2000, 0x2064),
    (0x206A, 0x2071),
    (0x2074, 0x208E),
    (0x2090, 0x209C),
    (0x20A0, 0x20B9),
    (0x2100, 0x212A),
    (0x212C, 0x2189),
    (0x2190, 0x23F3),
    (0x2400, 0x2426),
    (0x2440, 0x244A),
    (0x2460, 0x26FF),
    (0x2701, 0x27BF),
    (0xFE00, 0xFE0F),
    (0x1F300, 0x1F320),
    (0x1F330, 0x1F335),
    (0x1F337, 0x1F37C),
    (0x1F380, 0x1F393),
    (0x1F3A0, 0x1F3C4),
    (0x1F3C6, 0x1F3CA),
    (0x1F3E0, 0x1F3F0),
    (0x1F400, 0x1F43E),
    (0x1F440, 0x1F440),
    (0x1F442, 0x1F4F7),
    (0x1F4F9, 0x1F4FC),
    (0x1F500, 0x1F53D),
    (0x1F540, 0x1F543),
    (0x1F550, 0x1F567),
    (0x1F5FB, 0x1F640),
    (0x1F645, 0x1F64F),
    (0x1F680, 0x1F6C5),
)
"""Characters (first, last) whose tokens ``fold`` forms as unicode61 does. Left out in
these blocks: characters Python's and SQLite's Unicode tables disagree on (SQLite's
predate many emoji), and letters unicode61 folds another way (Ǡ, Ǣ, Ǯ, Ǽ, Ǿ keep their
marks; the Ångström sign)."""

_ASCII_SPLIT = re.compile("([0-9A-Za-z]+)")
"""Splits an ASCII text as _Tables.split does, faster."""
_ANY_SPLIT = re.compile(f"([^{unicode61.SEPARATOR}]+)")
"""Splits a text translated by unicode61.translation into gaps and tokens."""
_SENTENCE_END = re.compile(r"[.:][ \t\n\r]+")
"""Ends the gap before a token that starts a sentence (fts5SentenceFinderCb)."""


def is_token_char(char: str) -> bool:
    """Whether unicode61 keeps ``char`` in a token (categories L*, N*; Co is not simple)."""
    return unicodedata.category(char)[0] in "LN"


def fold(char: str) -> str:
    """A token character as unicode61 (remove_diacritics 2) indexes it: lowercased (the
    simple case folding where it is one character: the micro sign is mu, the long s is
    s), Latin letters
    without their diacritics."""
    folded = char.casefold()
    if len(folded) != 1:
        folded = char.lower()
    code = ord(char)
    if code <= 0x024F or 0x1E00 <= code <= 0x1EFF:
        decomposed = unicodedata.normalize("NFD", folded)
        folded = "".join(c for c in decomposed if not unicodedata.combining(c))
    return folded


def _class(codes: Iterable[tuple[int, int]]) -> str:
    return "".join(f"\\U{lo:08x}-\\U{hi:08x}" for lo, hi in codes)


def _runs(codes: Iterable[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1:
            runs[-1] = (runs[-1][0], code)
        else:
            runs.append((code, code))
    return runs


@dataclass(frozen=True, slots=True)
class _Tables:
    split: re.Pattern[str]
    """Splits a simple text into [gap, token, gap, token, ..., gap]."""
    outside: re.Pattern[str]
    """Finds a character that is not simple."""
    folding: dict[int, str]


@functools.cache
def _tables() -> _Tables:
    simple = [c for lo, hi in SIMPLE_RANGES for c in range(lo, hi + 1)]
    tokens = [c for c in simple if is_token_char(chr(c))]
    folding = {c: f for c in tokens if (f := fold(chr(c))) != chr(c)}
    return _Tables(
        re.compile(f"([{_class(_runs(tokens))}]+)"),
        re.compile(f"[^{_class(SIMPLE_RANGES)}]"),
        folding,
    )


def is_simple(text: str) -> bool:
    """Whether every character of ``text`` is simple (tokenized by Python's tables)."""
    return text.isascii() or _tables().outside.search(text) is None


def tokens(text: str) -> list[str]:
    """The tokens of a text as unicode61 indexes them."""
    return _split(text)[1]


def _split(text: str) -> tuple[list[int], list[str]]:
    """The lengths of a text's pieces, [gap, token, gap, token, ..., gap], and its
    tokens as unicode61 indexes them."""
    if text.isascii():
        parts = _ASCII_SPLIT.split(text)
        return list(map(len, parts)), _folded(parts[1::2], True)
    tables = _tables()
    if tables.outside.search(text) is None:
        parts = tables.split.split(text)
        return list(map(len, parts)), _folded(parts[1::2], False)
    # Not simple: SQLite says what each character is (lndesk.store.unicode61).
    parts = _ANY_SPLIT.split(text.translate(unicode61.translation(set(text))))
    sizes = [len(parts[0])]
    words = []
    for at in range(1, len(parts), 2):
        word = parts[at].replace(unicode61.DROPPED, "")
        if word:
            words.append(word)
            sizes += (len(parts[at]), len(parts[at + 1]))
        else:  # only characters folded to none: no token, a gap
            sizes[-1] += len(parts[at]) + len(parts[at + 1])
    return sizes, words


def _folded(words: list[str], ascii_only: bool) -> list[str]:
    if not words:
        return []
    joined = "\x01".join(words)  # a control character never is in a token
    return (joined.lower() if ascii_only else joined.translate(_tables().folding)).split("\x01")


@dataclass(frozen=True, slots=True)
class Phrase:
    """A quoted term of a query: its tokens, the last one a prefix when ``prefix``."""

    words: tuple[str, ...]
    prefix: bool

    def positions(self, words: Sequence[str]) -> list[int]:
        """Where the phrase matches in a document of tokens ``words``."""
        if not self.words:  # a term without a token: FTS5 finds no instance of it
            return []
        *lead, last = self.words
        if not lead:  # one word: most queries
            if self.prefix:
                return [at for at, word in enumerate(words) if word.startswith(last)]
            return [at for at, word in enumerate(words) if word == last]
        size = len(self.words)
        found = []
        for at in range(len(words) - size + 1):
            word = words[at + size - 1]
            if not (word.startswith(last) if self.prefix else word == last):
                continue
            if all(words[at + i] == lead[i] for i in range(len(lead))):
                found.append(at)
        return found


def phrases(terms: Sequence[tuple[str, bool]]) -> list[Phrase]:
    """The phrases of a query's (term, prefix) terms."""
    return [Phrase(tuple(tokens(term)), prefix) for term, prefix in terms]


Snippet = tuple[str, list[tuple[int, int]]]
"""A snippet's text and the (start, end) character offsets of its marked words."""


def snippet(text: str, query: Sequence[Phrase], size: int = SNIPPET_TOKENS) -> Snippet:
    """FTS5's snippet of ``text`` for a query of ``query`` phrases (all in the
    text column), ``size`` tokens long, without its marks and with where they were."""
    sizes, words = _split(text)
    count = len(words)
    # Phrase instances in FTS5's order: by position, then by phrase.
    found = sorted(
        (at, number, len(phrase.words))
        for number, phrase in enumerate(query)
        for at in phrase.positions(words)
    )
    offsets = list(itertools.accumulate(sizes))
    firsts = _sentence_starts(text, offsets, count) if count > size and found else []
    best = _best_start(firsts, count, found, len(query), size)
    groups = _coalesced(found)
    return _highlight(text, offsets=offsets, count=count, groups=groups, start=best, size=size)


def _best_start(
    firsts: list[int],
    count: int,
    found: list[tuple[int, int, int]],
    phrase_count: int,
    size: int,
) -> int:
    """The first token of the best window (fts5SnippetFunction's scoring loop)."""
    best_score = 0
    best_start = 0
    windows = _Windows(found, phrase_count, size)
    sentences = _Windows(found, phrase_count, size)
    first = 0
    for at, _, _ in found:
        score, low, last = windows.score(at)
        if score > best_score:
            start = low - _c_half(size - (last - low))
            if start + size > count:
                start = count - size
            best_score, best_start = score, max(start, 0)
        if firsts:
            while first < len(firsts) - 1 and firsts[first + 1] <= at:
                first += 1
            if firsts[first] < at:
                score = sentences.score(firsts[first])[0]
                score += 120 if firsts[first] == 0 else 100
                if score > best_score:
                    best_score, best_start = score, firsts[first]
    return best_start


def _sentence_starts(text: str, offsets: list[int], count: int) -> list[int]:
    """The tokens that start a sentence: the first, and each after '.' or ':' and
    white space (``offsets[2 * n]`` is where token n starts)."""
    starts = [0] if count else []
    for end in _SENTENCE_END.finditer(text):
        at = end.end()
        token = bisect.bisect_left(offsets, at, 0, 2 * count)
        if token % 2 == 0 and token < 2 * count and offsets[token] == at and token:
            starts.append(token // 2)
    return starts


class _Windows:
    """Scores of windows of ``size`` tokens starting at positions that never decrease
    (fts5SnippetScore), kept as a sliding window over the instances: a text of
    thousands of matches costs time in proportion, not squared."""

    def __init__(self, found: list[tuple[int, int, int]], phrase_count: int, size: int) -> None:
        self.found = found
        self.size = size
        self.low = self.high = 0
        self.counts = [0] * phrase_count
        self.distinct = 0

    def score(self, start: int) -> tuple[int, int, int]:
        """(score, first instance's position, last instance's end) of the window at
        ``start``."""
        found, counts = self.found, self.counts
        while self.low < len(found) and found[self.low][0] < start:
            if self.low < self.high:
                phrase = found[self.low][1]
                counts[phrase] -= 1
                self.distinct -= counts[phrase] == 0
            self.low += 1
        self.high = max(self.high, self.low)
        while self.high < len(found) and found[self.high][0] < start + self.size:
            phrase = found[self.high][1]
            self.distinct += counts[phrase] == 0
            counts[phrase] += 1
            self.high += 1
        if self.high == self.low:
            return 0, -1, 0
        last, _, width = found[self.high - 1]
        inside = self.high - self.low
        return 999 * self.distinct + inside, found[self.low][0], last + width


def _c_half(value: int) -> int:
    """value / 2 as C divides (towards zero)."""
    return -(-value // 2) if value < 0 else value // 2


def _coalesced(found: list[tuple[int, int, int]]) -> list[tuple[int, int]]:
    """(first, last) tokens of the instances, overlapping ones as one (CInstIter)."""
    groups: list[tuple[int, int]] = []
    for at, _, width in found:
        end = at + width - 1
        if groups and at <= groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], end))
        else:
            groups.append((at, end))
    return groups


def _highlight(
    text: str,
    *,
    offsets: list[int],
    count: int,
    groups: list[tuple[int, int]],
    start: int,
    size: int,
) -> Snippet:
    """The window of ``size`` tokens from ``start``, its matches marked: what
    fts5HighlightCb gives as snippet() calls it, one match at a time rather than one
    token (``offsets[2 * n]`` and ``offsets[2 * n + 1]`` are where token n starts and
    ends)."""
    last = start + size - 1
    end = min(last, count - 1)
    pieces: list[str] = [ELLIPSIS] if start > 0 else []
    length = len(pieces[0]) if pieces else 0
    spans: list[tuple[int, int]] = []
    copied = offsets[2 * start] if start and start <= end else 0
    for first, final in groups:
        if first < start:
            continue
        if first > end:
            break
        piece = text[copied : offsets[2 * first]]
        pieces.append(piece)
        opened = length + len(piece)
        # A match running past the window is cut at its end (the last token is in it).
        copied = offsets[2 * min(final, end) + 1]
        piece = text[offsets[2 * first] : copied]
        pieces.append(piece)
        length = opened + len(piece)
        spans.append((opened, length))
    if last >= count - 1:
        pieces.append(text[copied:])
    else:
        pieces.append(text[copied : offsets[2 * last + 1]])
        pieces.append(ELLIPSIS)
    return "".join(pieces), spans


def fts5_snippets(documents: Sequence[tuple[int, str]], expression: str | None) -> dict[int, str]:
    """FTS5's snippet() of each (rowid, text) document for the words of the FTS5 query
    ``expression`` (None: none), by rowid, its matches marked with START and END: the
    documents go into a table of their own in memory, tokenized as ``search`` is. (A
    document matches through its words; filters match the other column, which
    changes nothing in a snippet of the first.)"""
    if not documents:
        return {}
    match = f"text : ({expression})" if expression else 'facets : "all"'
    conn = _shown_table()
    try:
        # In rowid order: FTS5 then writes the batch as one segment, not one per document.
        conn.executemany(
            "INSERT INTO shown(rowid, text, facets) VALUES (?, ?, 'all')", sorted(documents)
        )
        rows = conn.execute(
            "SELECT rowid, snippet(shown, 0, ?, ?, ?, ?) FROM shown WHERE shown MATCH ?",
            (START, END, ELLIPSIS, SNIPPET_TOKENS, match),
        ).fetchall()
        return {int(rowid): str(marked) for rowid, marked in rows}
    finally:
        conn.rollback()  # the table is empty again for the next search


_local = threading.local()


def _shown_table() -> sqlite3.Connection:
    """This thread's database in memory with the empty table ``shown`` (made once: a
    search runs on the node's thread, and making the table costs more than using it)."""
    conn: sqlite3.Connection | None = getattr(_local, "shown", None)
    if conn is None:
        conn = sqlite3.connect(":memory:")
        conn.execute(
            "CREATE VIRTUAL TABLE shown USING fts5(text, facets, "
            f"tokenize = '{TOKENIZE}', columnsize = 0)"
        )
        conn.commit()
        _local.shown = conn
    return conn


def unmarked(marked: str) -> Snippet:
    """A snippet without its match marks, and where the marks were (FTS5 closes every
    mark it opens)."""
    if START not in marked:
        return marked.replace(END, ""), []
    pieces = marked.split(START)
    text = [pieces[0].replace(END, "")]
    length = len(text[0])
    spans: list[tuple[int, int]] = []
    for piece in pieces[1:]:
        inside, _, after = piece.partition(END)
        spans.append((length, length + len(inside)))
        after = after.replace(END, "")
        text += (inside, after)
        length += len(inside) + len(after)
    return "".join(text), spans


def snippets(
    documents: Sequence[tuple[int, str]],
    terms: Sequence[tuple[str, bool]],
    expression: str | None,
) -> dict[int, Snippet]:
    """The snippet of each (rowid, text) document for the (term, prefix) ``terms`` of
    a query, whose FTS5 query is ``expression`` (None: no words), by rowid.

    Made here for a text longer than LONG_TEXT characters, whatever its script (FTS5
    scores every window against every match: a text of thousands of matches takes it
    seconds), or for a query without words (nothing to score); FTS5 makes the others, a
    little faster."""
    query = phrases(terms)
    made: dict[int, Snippet] = {}
    other = []
    for rowid, text in documents:
        if not query or len(text) > LONG_TEXT:
            made[rowid] = snippet(text, query)
        else:
            other.append((rowid, text))
    for rowid, marked in fts5_snippets(other, expression).items():
        made[rowid] = unmarked(marked)
    return made
