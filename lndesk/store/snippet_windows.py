"""Which window of a text FTS5's ``snippet()`` shows: the steps of SQLite's
``fts5SnippetFunction`` over a text's tokens and the instances of a query's phrases in
it (:mod:`lndesk.store.snippets`), in time linear in the text.
"""

from __future__ import annotations

import bisect
import itertools
import operator
import re
from collections.abc import Sequence
from typing import Protocol

from lndesk.store.folding import SEPARATOR

_SENTENCE_END = re.compile(r"[.:][ \t\n\r]+")
"""Ends the gap before a token that starts a sentence (fts5SentenceFinderCb)."""
FEW_INSTANCES = 32
"""Instances of a query's phrases in a text up to which each window is counted on its
own (else a window slides over them)."""


class Weights(Protocol):
    """A query's phrases as windows score them."""

    @property
    def weights(self) -> list[int]:
        """How many times the query holds each phrase."""

    @property
    def widths(self) -> list[int]:
        """How many tokens each phrase is long."""

    @property
    def unit(self) -> bool:
        """Whether every phrase is in the query once."""


def centred(first: int, width: int, count: int, size: int) -> int:
    """The first token of the window of ``size`` tokens FTS5 centres on a match from
    token ``first`` of ``width`` tokens, in a text of ``count`` tokens. (With one match
    and one sentence, this is the best window when the match is not in the first: the
    first scores 120, the match's 1000.)"""
    start = first - _c_half(size - width)
    return max(min(start, count - size), 0)


def best_of_one(
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
    return centred(low, last - low, count, size)


def best_of_many(
    firsts: list[int],
    count: int,
    starts: list[int],
    phrase_of: list[int],
    *,
    query: Weights,
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
    total = len(starts)
    if total <= FEW_INSTANCES:
        best_score, best_start, window = _best_of_few(count, starts, phrase_of, query, size)
    else:
        best_score, best_start, window = _best_sliding(count, starts, phrase_of, query, size)
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


def _best_sliding(
    count: int, starts: list[int], phrase_of: list[int], query: Weights, size: int
) -> tuple[int, int, int]:
    """The best window at an instance (score, first token, the instance's number) of
    :func:`best_of_many`, by a window sliding over the instances."""
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
            end = starts[high - 1] + query.widths[phrase_of[high - 1]]
            start = at - _c_half(size - (end - at))
            best_score, best_start, window = score, max(min(start, count - size), 0), low
    return best_score, best_start, window


def _best_of_few(
    count: int, starts: list[int], phrase_of: list[int], query: Weights, size: int
) -> tuple[int, int, int]:
    """:func:`_best_sliding` of a few instances: each window's counted at once."""
    weights = query.weights
    highs = map(
        bisect.bisect_left,
        itertools.repeat(starts),
        map(operator.add, starts, itertools.repeat(size)),
    )
    best_score = best_start = window = 0
    previous = -1
    for low, (at, high) in enumerate(zip(starts, highs, strict=True)):
        if at == previous:
            continue
        previous = at
        found = phrase_of[low:high]
        if query.unit:
            score = 999 * len(set(found)) + high - low
        else:
            score = 999 * sum(weights[phrase] for phrase in set(found))
            score += sum(map(weights.__getitem__, found))
        if score > best_score:
            end = starts[high - 1] + query.widths[phrase_of[high - 1]]
            start = at - _c_half(size - (end - at))
            best_score, best_start, window = score, max(min(start, count - size), 0), low
    return best_score, best_start, window


def sentence_starts(text: str, folded_text: str) -> list[int]:
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


def coalesced(starts: list[int], widths: Sequence[int] | int) -> list[tuple[int, int]]:
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
