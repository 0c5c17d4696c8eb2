"""Snippets of search results: the words around the matches, the matched words marked.

A snippet is what FTS5's ``snippet()`` gives for the document and the query (the
``search`` table keeps no text, so FTS5 cannot make it there), made here, in Python,
by the same steps as SQLite's ``fts5SnippetFunction``: the same tokens (``unicode61
remove_diacritics 2``, the tokenizer of ``search``), the same scores of windows of
SNIPPET_TOKENS tokens (a phrase's first match in a window 1000, every other 1, a window
that starts a sentence 100 more, the document's start 120), the same coalescing of
overlapping matches; windows scored by bisection or a sliding window, in time linear in
the text (FTS5 scores every window against every match: 16 s for a post of 16,000
matching words). Only for a query of several phrases and a text of up to LONG_TEXT
characters does FTS5 make it (:mod:`lndesk.store.snippet_table`), a little faster.

A text is first folded as unicode61 sees it (:mod:`lndesk.store.folding`): a string of
the same length whose words are one ``split`` and where a character's place is its
place in the text. Only the tokens of the shown window are looked at one by one.
tests/test_snippets.py checks the snippets against FTS5's.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import operator
import re
from collections.abc import Sequence
from dataclasses import dataclass

from lndesk.store.folding import SEPARATOR, folded, split_words, tokens
from lndesk.store.snippet_table import fts5_snippets, unmarked

SNIPPET_TOKENS = 24
ELLIPSIS = "…"
LONG_TEXT = 1000
"""Texts longer than this (in characters) get snippets made here whatever the query."""
LAZY_GROUPS = 2
"""Matches in a window up to which its tokens are looked for one match at a time;
with more, the window is split into tokens at once."""
_TOKEN_SPLIT = re.compile(f"([^{SEPARATOR}]+)")
"""Splits a folded text into [gap, token, gap, ..., token, rest]."""
_SENTENCE_END = re.compile(r"[.:][ \t\n\r]+")
"""Ends the gap before a token that starts a sentence (fts5SentenceFinderCb)."""


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
        return cls(unique, [counted[p] for p in unique], single, rest, words_only)


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
    rowid. For several phrases, FTS5 makes the snippets of texts up to LONG_TEXT
    characters (:mod:`lndesk.store.snippet_table`); every other one is made here."""
    query = _Query.of(phrases(terms))
    made = {}
    short = []
    for rowid, text in documents:
        if len(query.phrases) < 2 or len(text) > LONG_TEXT:
            made[rowid] = _snippet(text, query, SNIPPET_TOKENS)
        else:
            short.append((rowid, text))
    for rowid, marked in fts5_snippets(short, expression, SNIPPET_TOKENS, ELLIPSIS).items():
        made[rowid] = unmarked(marked)
    return made


def _snippet(text: str, query: _Query, size: int) -> Snippet:
    plain = text.isascii()
    folded_text = folded(text)
    start = 0
    groups: list[tuple[int, int]] = []
    if len(query.phrases) == 1:  # most queries: one word
        phrase = query.phrases[0]
        width = len(phrase.words)
        words = split_words(folded_text, plain)
        starts = phrase.positions(words)
        if len(words) > size and starts:
            firsts = _sentence_starts(text, folded_text)
            start = _best_of_one(firsts, len(words), starts, (width, query.weights[0]), size)
        groups = [(at, at) for at in starts] if width == 1 else _coalesced(starts, width)
    elif query.phrases:
        words = split_words(folded_text, plain)
        starts, phrase_of = _instances(words, query)
        if len(words) > size and starts:  # else every window starts at the first token
            firsts = _sentence_starts(text, folded_text)
            start = _best_of_many(firsts, len(words), starts, phrase_of, query=query, size=size)
        if query.words_only:
            groups = [(at, at) for at in dict.fromkeys(starts)]  # one a position
        else:
            widths = [len(query.phrases[number].words) for number in phrase_of]
            groups = _coalesced(starts, widths)
    return _highlight(text, folded_text, plain, groups=groups, start=start, size=size)


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


def _best_of_one(
    firsts: list[int], count: int, starts: list[int], phrase: tuple[int, int], size: int
) -> int:
    """The first token of the best window (fts5SnippetFunction's scoring loop) of a
    text of ``count`` tokens for a query of one phrase, (width, weight): ``width``
    tokens long, ``weight`` times in the query, with instances at ``starts``. The
    window at an instance scores 1000 and 1 for every other instance in it (each
    weighing ``weight``), a window that starts a sentence 100 more (120 the text's
    start). The windows at the instances are counted at once, and the first best of
    them and of the sentences' windows (each where FTS5's loop first scores it) wins,
    as it does in that loop."""
    width, weight = phrase
    ends = map(operator.add, starts, itertools.repeat(size))
    highs = list(map(bisect.bisect_left, itertools.repeat(starts), ends, itertools.count()))
    inside = list(map(operator.sub, highs, itertools.count()))
    most = max(inside)
    at = inside.index(most)
    best = (weight * (999 + most), -2 * at)  # score, then the earliest in the loop
    window = at
    for number, sentence in enumerate(firsts):
        first = bisect.bisect_right(starts, sentence)  # the first instance after it
        following = firsts[number + 1] if number + 1 < len(firsts) else count
        if first == len(starts) or starts[first] >= following:
            continue  # FTS5 never scores this sentence's window
        low = bisect.bisect_left(starts, sentence, 0, first)
        high = bisect.bisect_left(starts, sentence + size, low)
        score = weight * (999 + high - low) if high > low else 0
        score += 120 if sentence == 0 else 100
        if (score, -2 * first - 1) > best:
            best, window = (score, -2 * first - 1), -1 - sentence
    if window < 0:
        return -1 - window
    low, last = starts[window], starts[highs[window] - 1] + width
    start = low - _c_half(size - (last - low))
    return max(min(start, count - size), 0)


def _best_of_many(
    firsts: list[int],
    count: int,
    starts: list[int],
    phrase_of: list[int],
    *,
    query: _Query,
    size: int,
) -> int:
    """The first token of the best window (fts5SnippetFunction's scoring loop) of a
    text of ``count`` tokens with instances at ``starts`` (in FTS5's order) of the
    phrases ``phrase_of`` of ``query``. The window at each instance scores 1000 for
    each phrase in it and 1 for every other instance in it (each weighing its
    phrase's weight), counted by a window sliding over the instances; a window that
    starts a sentence 100 more (120 the text's start); the first best of those wins,
    as in that loop (a sentence's window is scored where the loop first scores it:
    again it scores the same, which never beats the best it already had; an instance
    at the position of the one before has its window)."""
    weights = query.weights
    counts = [0] * len(weights)
    distinct = inside = high = first_low = 0
    total = len(starts)
    best_score = best_start = window = 0
    previous = -1
    for low, at in enumerate(starts):
        if at == previous:
            continue
        if low:  # the instances before this position leave the window
            for phrase in phrase_of[first_low:low]:
                counts[phrase] -= 1
                inside -= weights[phrase]
                if not counts[phrase]:
                    distinct -= weights[phrase]
        first_low, previous = low, at
        limit = at + size
        while high < total and starts[high] < limit:
            phrase = phrase_of[high]
            if not counts[phrase]:
                distinct += weights[phrase]
            counts[phrase] += 1
            inside += weights[phrase]
            high += 1
        score = 999 * distinct + inside
        if score > best_score:
            end = starts[high - 1] + len(query.phrases[phrase_of[high - 1]].words)
            start = at - _c_half(size - (end - at))
            best_score, best_start, window = score, max(min(start, count - size), 0), low
    best = (best_score, -2 * window)  # score, then the earliest in the loop
    for number, sentence in enumerate(firsts):
        first = bisect.bisect_right(starts, sentence)  # the first instance after it
        following = firsts[number + 1] if number + 1 < len(firsts) else count
        if first == total or starts[first] >= following:
            continue  # FTS5 never scores this sentence's window
        low = bisect.bisect_left(starts, sentence, 0, first)
        high = bisect.bisect_left(starts, sentence + size, low)
        found = phrase_of[low:high]
        score = 999 * sum(weights[phrase] for phrase in set(found))
        score += sum(map(weights.__getitem__, found))
        score += 120 if sentence == 0 else 100
        if (score, -2 * first - 1) > best:
            best, best_start = (score, -2 * first - 1), sentence
    return best_start


def _sentence_starts(text: str, folded_text: str) -> list[int]:
    """The tokens that start a sentence: the first, and each after '.' or ':' and
    white space (counted between one sentence's start and the next)."""
    starts = [0]
    if "." not in text and ":" not in text:
        return starts
    count = 0
    counted = 0
    for end in _SENTENCE_END.finditer(text):
        at = end.end()
        if at < len(folded_text) and folded_text[at] != SEPARATOR:
            pieces = folded_text[counted:at].split(SEPARATOR)  # white space before `at`
            count += len(pieces) - pieces.count("")
            counted = at
            if count:
                starts.append(count)
    return starts


def _c_half(value: int) -> int:
    """value / 2 as C divides (towards zero)."""
    return -(-value // 2) if value < 0 else value // 2


def _coalesced(starts: list[int], widths: Sequence[int] | int) -> list[tuple[int, int]]:
    """(first, last) tokens of the instances at ``starts`` (in order) of ``widths``
    tokens, overlapping ones as one (CInstIter)."""
    if isinstance(widths, int):
        widths = [widths] * len(starts)
    groups: list[tuple[int, int]] = []
    for at, width in zip(starts, widths, strict=True):
        end = at + width - 1
        if groups and at <= groups[-1][1]:
            groups[-1] = (groups[-1][0], max(groups[-1][1], end))
        else:
            groups.append((at, end))
    return groups


def _highlight(
    text: str,
    folded_text: str,
    plain: bool,
    *,
    groups: list[tuple[int, int]],
    start: int,
    size: int,
) -> Snippet:
    """The window of ``size`` tokens from ``start``, its matches marked: what
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
        tokens = _Tokens(folded_text, plain, start, at)
        spans = []
        for first, final in shown:
            opened = tokens.start(first) - moved
            spans.append((opened, tokens.end(min(final, end)) - moved))
        last = tokens.end(end)
        if tokens.start(end + 1) == len(folded_text):
            last = -1
    shown_text = text[copied:] if last < 0 else text[copied:last] + ELLIPSIS  # -1: to the end
    return (ELLIPSIS + shown_text if start else shown_text), spans


class _Tokens:
    """Where the tokens of a folded text start and end, looked for in order, from
    token ``number``, which starts at ``at``, on, only as far as they are asked
    about (never backwards)."""

    def __init__(self, folded_text: str, plain: bool, number: int, at: int) -> None:
        self.text = folded_text
        self.plain = plain
        self.number = number
        self.at = at

    def start(self, number: int) -> int:
        """Where token ``number`` starts (the text's length: there is none)."""
        if number > self.number:
            rest = self.text[self.at :]
            self.at += _token_offset(rest, number - self.number, self.plain)
            self.number = number
        return self.at

    def end(self, number: int) -> int:
        """Where token ``number`` ends (-1: there is none)."""
        at = self.start(number)
        if at == len(self.text):
            return -1
        after = self.text.find(SEPARATOR, at)
        return len(self.text) if after < 0 else after


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
