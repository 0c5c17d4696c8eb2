"""Snippets of search results: the words around the matches, the matched words marked.

A snippet is what FTS5's ``snippet()`` gives for the document and the query (the
``search`` table keeps no text, so FTS5 cannot make it there), made here, in Python,
by the same steps as SQLite's ``fts5SnippetFunction``: the same tokens (``unicode61
remove_diacritics 2``, the tokenizer of ``search``), the same scores of windows of
SNIPPET_TOKENS tokens (a phrase's first match in a window 1000, every other 1, a window
that starts a sentence 100 more, the document's start 120), the same coalescing of
overlapping matches; windows scored (:mod:`lndesk.store.snippet_windows`) in time linear
in the text (FTS5 scores every window against every match: 16 s for a post of 16,000
matching words). Only for a query of several whole words or phrases and a text of up to
LONG_TEXT characters does FTS5 make it (:mod:`lndesk.store.snippet_table`), a little
faster.

Most texts are ASCII and short: their words are never split. A phrase's first word is
looked for with ``str.find`` in the lowercased text, the text's *shape* (a token
character _MARK, any other a space) says where tokens start and end, a match's token
number is the count of token starts before it, and its marks are where it was found.
Any other text is first folded as unicode61 sees it (:mod:`lndesk.store.folding`): a
string of the same length whose words are one ``split`` and where a character's place
is its place in the text; only the tokens of the shown window are looked at one by one.
tests/test_snippets.py checks the snippets against FTS5's.
"""

from __future__ import annotations

import bisect
import collections
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lndesk.store.folding import SEPARATOR, folded, split_words, tokens
from lndesk.store.snippet_table import fts5_snippets, unmarked
from lndesk.store.snippet_windows import (
    best_of_many,
    best_of_one,
    centred,
    coalesced,
    sentence_starts,
)

SNIPPET_TOKENS = 24
ELLIPSIS = "…"
LONG_TEXT = 1000
"""Texts longer than this (in characters) get snippets made here whatever the query."""
NEAR_MATCHES = 12
"""Places in an ASCII text where a query's first words are found, even inside other
words, up to which they are looked for one by one (else the text is split)."""
LAZY_GROUPS = 2
"""Matches in a window up to which its tokens are looked for one match at a time;
with more, the window is split into tokens at once."""
_TOKEN_SPLIT = re.compile(f"([^{SEPARATOR}]+)")
"""Splits a folded text into [gap, token, gap, ..., token, rest]."""
_MARK = "w"
_TOKEN_START = SEPARATOR + _MARK
_ASCII_SHAPES = {c: _MARK if chr(c).isalnum() else SEPARATOR for c in range(128)}
"""An ASCII text's *shape*: a token character _MARK, a separator SEPARATOR. It stands
for the folded text (the same tokens, where they are); the lowercased text gives the
tokens' characters."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """A quoted term of a query: its tokens, the last one a prefix when ``prefix``."""

    words: tuple[str, ...]
    prefix: bool

    def positions(self, words: list[str]) -> list[int]:
        """Where the phrase matches in a document of tokens ``words``: in time linear in
        the document (times the phrase's length for a phrase of several words)."""
        if not self.words:  # a term without a token: FTS5 finds no instance of it
            return []
        size = len(self.words)
        first = self.words[0]
        if size == 1:  # one word: most queries
            if self.prefix:
                matches = map(str.startswith, words, itertools.repeat(first))
                return list(itertools.compress(itertools.count(), matches))
            return _indexes(words, first)
        middle, last = list(self.words[1:-1]), self.words[-1]
        end = len(words) - size
        found = []
        for at in _indexes(words, first):
            if at > end:
                break
            word = words[at + size - 1]
            if not (word.startswith(last) if self.prefix else word == last):
                continue
            if not middle or words[at + 1 : at + size - 1] == middle:
                found.append(at)
        return found


def _indexes(words: list[str], word: str) -> list[int]:
    """Where ``word`` is in ``words`` (list.index compares in C)."""
    found = []
    at = -1
    index = words.index
    try:
        while True:
            at = index(word, at + 1)
            found.append(at)
    except ValueError:
        return found


def phrases(terms: Sequence[tuple[str, bool]]) -> list[Phrase]:
    """The phrases of a query's (term, prefix) terms."""
    return [Phrase(tuple(tokens(term)), prefix) for term, prefix in terms]


Snippet = tuple[str, list[tuple[int, int]]]
"""A snippet's text and the (start, end) character offsets of its marked words."""


@dataclass(frozen=True, slots=True)
class _Query:
    """A query's phrases as snippets score them, worked out once for all its texts. A
    phrase the query holds k times has k instances at each of its positions: they are
    counted once, weighing k (a text of 32,000 words and a query of one word 16 times
    is 32,000 instances, not 512,000)."""

    phrases: list[Phrase]
    """Each phrase once."""
    weights: list[int]
    """How many times the query holds each."""
    single: dict[str, int]
    """The phrases of one word, not a prefix, by that word (found in one pass)."""
    rest: list[int]
    """The other phrases."""
    words_only: bool
    """Whether every phrase is one token long."""
    unit: bool
    """Whether every phrase is in the query once."""
    firsts: tuple[str, ...]
    """The phrases' first words."""
    widths: list[int]
    """How many tokens each phrase is long."""
    typing: bool
    """Whether a phrase is a prefix (the last word, while it is typed)."""

    @classmethod
    def of(cls, query: Sequence[Phrase]) -> _Query:
        counted = collections.Counter(query)
        unique = list(counted)
        single = {}
        rest = []
        for number, phrase in enumerate(unique):
            if len(phrase.words) == 1 and not phrase.prefix:
                single[phrase.words[0]] = number
            else:
                rest.append(number)
        words_only = all(len(phrase.words) == 1 for phrase in unique)
        weights = [counted[p] for p in unique]
        firsts = tuple(phrase.words[0] for phrase in unique if phrase.words)
        unit = max(weights, default=1) == 1
        widths = [len(phrase.words) for phrase in unique]
        typing = any(phrase.prefix for phrase in unique)
        return cls(unique, weights, single, rest, words_only, unit, firsts, widths, typing)


def snippet(text: str, query: Sequence[Phrase], size: int = SNIPPET_TOKENS) -> Snippet:
    """FTS5's snippet of ``text`` for a query of ``query`` phrases (all in the
    text column), ``size`` tokens long, without its marks and with where they were.
    Without phrases: the text's first ``size`` tokens."""
    return _snippet(text, _Query.of(query), size)


def snippets(
    documents: Sequence[tuple[int, str]],
    terms: Sequence[tuple[str, bool]],
    expression: str | None,
) -> dict[int, Snippet]:
    """The snippet of each (rowid, text) document for the (term, prefix) ``terms`` of
    a query (none: a listing without words), whose FTS5 query is ``expression``, by
    rowid. For several phrases, none a prefix, FTS5 makes the snippets of texts up to
    LONG_TEXT characters (:mod:`lndesk.store.snippet_table`: about a fifth faster for
    two words than here), and of any such text when a phrase is a prefix unless it is
    ASCII (here: about as fast, and FTS5 looks a prefix up in its terms); every other
    one is made here."""
    query = _query(tuple(terms))
    made = {}
    short = []
    for rowid, text in documents:
        if len(query.phrases) < 2 or len(text) > LONG_TEXT or (query.typing and text.isascii()):
            made[rowid] = _snippet(text, query, SNIPPET_TOKENS)
        else:
            short.append((rowid, text))
    for rowid, marked in fts5_snippets(short, expression, SNIPPET_TOKENS, ELLIPSIS).items():
        made[rowid] = unmarked(marked)
    return made


@functools.lru_cache(maxsize=32)
def _query(terms: tuple[tuple[str, bool], ...]) -> _Query:
    """A query's phrases worked out once: typed a letter at a time, or paged through,
    the same words come again and again."""
    return _Query.of(phrases(terms))


def _snippet(text: str, query: _Query, size: int) -> Snippet:
    plain = text.isascii()
    if plain and len(text) <= LONG_TEXT and query.phrases:  # most texts
        made = _ascii_snippet(text, query, size)
        if made is not None:
            return made
    folded_text = folded(text)
    if not query.phrases:
        return _lead(text, folded_text, plain, size), []
    words = split_words(folded_text, plain)
    count = len(words)
    start = 0
    if len(query.phrases) == 1:  # most queries: one word
        phrase = query.phrases[0]
        width = len(phrase.words)
        starts = phrase.positions(words)
        if count > size and starts:
            firsts = sentence_starts(text, folded_text)
            start = best_of_one(firsts, count, starts, (width, query.weights[0]), size)
        groups = [(at, at) for at in starts] if width == 1 else coalesced(starts, width)
    else:
        starts, phrase_of = _instances(words, query)
        if count > size and starts:  # else every window starts at the first token
            firsts = sentence_starts(text, folded_text)
            start = best_of_many(firsts, count, starts, phrase_of, query=query, size=size)
        if query.words_only:
            groups = [(at, at) for at in dict.fromkeys(starts)]  # one a position
        else:
            widths = [len(query.phrases[number].words) for number in phrase_of]
            groups = coalesced(starts, widths)
    return _highlight(text, folded_text, plain, groups=groups, start=start, size=size, count=count)


def _ascii_snippet(text: str, query: _Query, size: int) -> Snippet | None:
    """:func:`_snippet` of an ASCII text of up to LONG_TEXT characters, its words
    never split: each phrase's first word is looked for with ``str.find`` in the
    lowercased text, a match's token number is the count of token starts before it in
    the text's shape, and the marks are where the matches were found. None: the
    query's first words are found inside more than NEAR_MATCHES words (as "a" or "in"
    are), where splitting the text into words costs less."""
    lowered = text.lower()
    if sum(map(lowered.count, query.firsts)) > NEAR_MATCHES:
        return None
    shape = text.translate(_ASCII_SHAPES)
    count = shape.count(_TOKEN_START) + shape.startswith(_MARK)
    if len(query.phrases) == 1:
        found = _matches(lowered, shape, query.phrases[0])
        phrase_of = [0] * len(found)
    else:
        instances = []  # FTS5's order: by position, then by phrase
        for number, phrase in enumerate(query.phrases):
            instances += [(at, number, end) for at, end in _matches(lowered, shape, phrase)]
        instances.sort()
        found = [(at, end) for at, _, end in instances]
        phrase_of = [number for _, number, _ in instances]
    if not found:
        return _lead(text, shape, True, size), []
    starts = _token_numbers(shape, [at for at, _ in found])
    start = 0
    if count > size:  # else every window starts at the first token
        firsts = sentence_starts(text, shape)
        if len(firsts) == 1 and 0 < starts[-1] < size:
            start = 0  # the first window holds every match, and scores 120 more than any
        elif len(query.phrases) > 1:
            start = best_of_many(firsts, count, starts, phrase_of, query=query, size=size)
        elif len(starts) == 1 and len(firsts) == 1:  # one window to score: the first
            width = len(query.phrases[0].words)  # scores 120, the match's 1000
            start = 0 if starts[0] < size else centred(starts[0], width, count, size)
        else:
            one = (len(query.phrases[0].words), query.weights[0])
            start = best_of_one(firsts, count, starts, one, size)
    widths = [len(query.phrases[number].words) for number in phrase_of]
    window = (start, size, count)
    return _ascii_window(text, shape, window=window, starts=starts, found=found, widths=widths)


def _ascii_window(
    text: str,
    shape: str,
    *,
    window: tuple[int, int, int],
    starts: list[int],
    found: list[tuple[int, int]],
    widths: list[int],
) -> Snippet:
    """:func:`_highlight` of an ASCII text of ``shape``: the window (start, size) of a
    text of ``count`` tokens, the matches found at ``found`` (their first and last
    characters), from tokens ``starts``, ``widths`` tokens long, marked."""
    start, size, count = window
    end = start + size - 1
    at = _token_offset(shape, start, True) if start else 0
    last = -1  # where the window's last token ends (-1: the text's end)
    if end + 1 < count:
        skipped = _skip(end - start).match(shape, at if start else shape.find(_MARK))
        last = len(shape) if skipped is None else shape.find(SEPARATOR, skipped.end())
    spans: list[tuple[int, int, bool]] = []  # (first, last character, in the window)
    group_last = -1  # the last token of the group before (CInstIter coalesces them)
    for first, (opened, closed), width in zip(starts, found, widths, strict=True):
        final = first + width - 1
        if first <= group_last:  # overlaps the group before
            if final > group_last:
                group_last = final
                if spans and spans[-1][2]:
                    spans[-1] = (spans[-1][0], closed if final <= end else last, True)
            continue
        group_last = final
        if start <= first <= end:
            spans.append((opened, closed if final <= end else last, True))
        elif first > end:
            break
        else:
            spans.append((0, 0, False))  # a group before the window
    moved = at - len(ELLIPSIS) if start else 0  # where the text's characters go
    marks = [(opened - moved, closed - moved) for opened, closed, shown in spans if shown]
    shown_text = text[at:] if last < 0 else text[at:last] + ELLIPSIS
    return (ELLIPSIS + shown_text if start else shown_text), marks


def _matches(lowered: str, shape: str, phrase: Phrase) -> list[tuple[int, int]]:
    """Where ``phrase`` matches in an ASCII text (``lowered``, its ``shape``): where
    its first token starts and its last ends."""
    if not phrase.words:  # a term without a token: FTS5 finds no instance of it
        return []
    first, *others = phrase.words
    whole = others or not phrase.prefix  # the first word ends where a token ends
    length = len(first)
    found = []
    find = lowered.find
    at = find(first)
    while at >= 0:
        end = at + length
        if (not at or shape[at - 1] == SEPARATOR) and (not whole or shape[end : end + 1] != _MARK):
            if others:
                end = _follow(lowered, shape, end, phrase)
            elif not whole:  # a prefix: to its token's end
                end = shape.find(SEPARATOR, end)
                end = len(shape) if end < 0 else end
            if end >= 0:
                found.append((at, end))
                at = find(first, at + length)
                continue
        at = find(first, at + 1)
    return found


def _follow(lowered: str, shape: str, end: int, phrase: Phrase) -> int:
    """Where the rest of ``phrase`` ends if it is in the tokens after the one ending
    at ``end`` (-1: it is not)."""
    last = len(phrase.words) - 1
    for number, word in enumerate(phrase.words[1:], 1):
        at = shape.find(_MARK, end)
        if at < 0 or not lowered.startswith(word, at):
            return -1
        end = at + len(word)
        if shape[end : end + 1] == _MARK:  # the token goes on
            if number < last or not phrase.prefix:
                return -1
            end = shape.find(SEPARATOR, end)
            end = len(shape) if end < 0 else end
    return end


def _token_numbers(shape: str, offsets: list[int]) -> list[int]:
    """The numbers of the tokens that start at ``offsets`` (in order) of a text of
    ``shape``: the token starts before each are counted, from the one before on."""
    numbers = []
    number = previous = 0
    starts_token = shape.startswith(_MARK)  # whether a token starts at ``previous``
    for at in offsets:
        if at > previous:
            number += starts_token + shape.count(_TOKEN_START, previous, at)
            previous, starts_token = at, True
        numbers.append(number)
    return numbers


def _instances(words: list[str], query: _Query) -> tuple[list[int], list[int]]:
    """The positions of every phrase instance in FTS5's order (by position, then by
    phrase), and the number of each one's phrase."""
    single = query.single
    starts = list(itertools.compress(itertools.count(), map(single.__contains__, words)))
    phrase_of = [single[words[at]] for at in starts]
    if not query.rest:
        return starts, phrase_of
    bits = len(query.phrases).bit_length()
    keys = [at << bits | number for at, number in zip(starts, phrase_of, strict=True)]
    for number in query.rest:
        keys += [at << bits | number for at in query.phrases[number].positions(words)]
    keys.sort()
    mask = (1 << bits) - 1
    return [key >> bits for key in keys], [key & mask for key in keys]


def _highlight(
    text: str,
    folded_text: str,
    plain: bool,
    *,
    groups: list[tuple[int, int]],
    start: int,
    size: int,
    count: int,
) -> Snippet:
    """The window of ``size`` tokens from ``start`` of a text of ``count`` tokens, its
    matches marked: what
    fts5HighlightCb gives as snippet() calls it, one match at a time rather than one
    token. Only the tokens up to the window's end are looked for.

    The snippet is one piece of the text: from the window's first token (from the
    text's start for the first window) to its last (the text's end if none follows).
    A match running past the window is cut at its end (the last token is in it)."""
    if not groups:  # the first tokens (start is 0)
        return _lead(text, folded_text, plain, size), []
    end = start + size - 1
    low = bisect.bisect_left(groups, (start, -1))
    shown = groups[low : bisect.bisect_left(groups, (end + 1, -1), low)]
    at = _token_offset(folded_text, start, plain)
    copied = at if start else 0
    moved = copied - len(ELLIPSIS) if start else 0  # where the text's characters go
    if len(shown) > LAZY_GROUPS:  # the window's tokens, and the one after, at once
        parts = _TOKEN_SPLIT.split(folded_text[at:], size + 1)
        # Token start + n starts at bounds[2n + 1] and ends at bounds[2n + 2].
        bounds = list(itertools.accumulate(map(len, parts), initial=at))
        spans = [
            (
                bounds[2 * (first - start) + 1] - moved,
                bounds[2 * (min(last, end) - start) + 2] - moved,
            )
            for first, last in shown
        ]
        last = bounds[2 * size] if len(parts) > 2 * size + 1 else -1
    else:  # one match at a time
        tokens = _Tokens(folded_text, start, at)
        spans = []
        for first, final in shown:
            opened = tokens.start(first) - moved
            spans.append((opened, tokens.end(min(final, end)) - moved))
        last = -1 if end + 1 >= count else tokens.end(end)
    shown_text = text[copied:] if last < 0 else text[copied:last] + ELLIPSIS  # -1: to the end
    return (ELLIPSIS + shown_text if start else shown_text), spans


class _Tokens:
    """Where the tokens of a folded text start and end, looked for in order, from
    token ``number``, which starts at ``at``, on, only as far as they are asked
    about (never backwards): a regular expression skips the tokens between."""

    def __init__(self, folded_text: str, number: int, at: int) -> None:
        self.text = folded_text
        self.number = number
        self.at = at

    def start(self, number: int) -> int:
        """Where token ``number`` starts (the text's length: there is none)."""
        if number > self.number:
            skipped = _skip(number - self.number).match(self.text, self.at)
            self.at = len(self.text) if skipped is None else skipped.end()
            self.number = number
        return self.at

    def end(self, number: int) -> int:
        """Where token ``number`` ends (-1: there is none)."""
        at = self.start(number)
        if at == len(self.text):
            return -1
        after = self.text.find(SEPARATOR, at)
        return len(self.text) if after < 0 else after


@functools.lru_cache(maxsize=64)
def _skip(count: int) -> re.Pattern[str]:
    """Matches ``count`` tokens and the gap after each, from a token's start (a window
    asks for fewer than SNIPPET_TOKENS + 2)."""
    return re.compile(f"[^{SEPARATOR}]++{SEPARATOR}++" * count)  # unrolled: twice as fast


def _lead(text: str, folded_text: str, plain: bool, size: int) -> str:
    """The text's first ``size`` tokens, and ELLIPSIS if more follow."""
    if plain:
        rest = folded_text.split(None, size)
        if len(rest) <= size:
            return text
        cut = len(folded_text[: len(folded_text) - len(rest[-1])].rstrip())
    else:
        parts = _TOKEN_SPLIT.split(folded_text, size)
        if len(parts) < 2 * size + 1 or not parts[-1].strip(SEPARATOR):
            return text
        cut = len(folded_text) - len(parts[-1])
    return text[:cut] + ELLIPSIS


def _token_offset(folded_text: str, number: int, plain: bool) -> int:
    """Where token ``number`` (from 0) of a folded text starts (its length: there is
    no such token); in time linear in ``number``, not in the text."""
    if plain:
        parts = folded_text.split(None, number)  # the last: from token number on
        if len(parts) <= number:
            return len(folded_text)
        return len(folded_text) - len(parts[-1])
    if not number:  # (split's maxsplit 0 splits everywhere)
        return len(folded_text) - len(folded_text.lstrip(SEPARATOR))
    parts = _TOKEN_SPLIT.split(folded_text, number)  # the last: the gap before it, and on
    rest = parts[-1].lstrip(SEPARATOR)
    if len(parts) < 2 * number + 1 or not rest:
        return len(folded_text)
    return len(folded_text) - len(rest)
