"""Which stored posts are questions: the ``questions`` table (migration 6), kept at
ingest and read by every list of questions (docs/protocol.md 10.1, 10.8, 32.5).

A post is a question when its **current version** asks: the post's own ``question``,
or that of its latest edit that takes effect (an edit decides for a post, never for a
reply). The derivation (:mod:`lndesk.store.derive`) writes a row for every stored, not
deleted post whose current version asks, with its payload or its edit's, and removes it
when a tombstone deletes the post, an edit takes the question back, or an expired
request is forgotten. So "is it a question" is an index lookup, and a list of open or
answered questions walks the questions, newest first, however many posts are stored.

Indexes older than migration 6 are filled once when they are opened
(:func:`lndesk.store.asked.backfill`): the migration leaves a marker in ``meta`` and
the store reads the current version of every post it holds (a payload read from the log
each), in the same transaction that removes the marker. ``lndesk reindex`` rebuilds the
table with the rest of the index.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from lndesk.entry_refs import Ref
from lndesk.store.index import EntryRow
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.shown import feed_id, feed_ids, marks, visible_until

QuestionState = Literal["all", "open", "answered"]
Cursor = tuple[int, int, int]
NEWEST: Cursor = (2**63 - 1, 0, 0)

_ANSWERED = (
    "EXISTS (SELECT 1 FROM refs h WHERE h.target = e.id AND h.kind = 'helped' AND h.feed = e.feed)"
)
"""Entry ``e``, a question, is answered: its author marked an answer (10.12)."""


def state_term(state: QuestionState) -> str | None:
    """The SQL term that keeps questions in ``state`` (entry ``e``, a question), or None
    for all of them."""
    if state == "all":
        return None
    return _ANSWERED if state == "answered" else f"NOT {_ANSWERED}"


@dataclass(frozen=True, slots=True)
class QuestionFilter:
    """Which questions a list shows (every field narrows it)."""

    state: QuestionState = "all"
    hidden: frozenset[bytes] = frozenset()
    """Authors left out (muted, blocked)."""
    author: bytes | None = None
    tag: str | None = None
    """A tag in the index's normal form, carried by the current version."""
    since_ms: int | None = None
    until_ms: int | None = None


def question_rows(
    store: StoreReader, which: QuestionFilter, older_than: Cursor, limit: int
) -> list[EntryRow]:
    """Up to ``limit`` questions strictly older than ``older_than`` by the timeline
    cursor, newest first. The inner query walks ``questions_by_time`` and stops at
    ``limit``; each question costs a primary-key lookup and, for a state, one of
    ``refs``."""
    hidden = feed_ids(store, which.hidden)
    terms = ["(q.claimed_ms, q.feed, q.seq) < (?, ?, ?)", "q.claimed_ms <= ?"]
    params: list[object] = [*older_than, visible_until()]
    if hidden:
        terms.append(f"q.feed NOT IN ({marks(len(hidden))})")
        params += hidden
    if which.author is not None:
        terms.append("q.feed = ?")
        params.append(feed_id(store, which.author))
    if which.since_ms is not None:
        terms.append("q.claimed_ms >= ?")
        params.append(which.since_ms)
    if which.until_ms is not None:
        terms.append("q.claimed_ms <= ?")
        params.append(which.until_ms)
    if which.tag is not None:
        terms.append("(q.feed, q.seq) IN (SELECT feed, seq FROM tags WHERE tag = ?)")
        params.append(which.tag)
    state = state_term(which.state)
    if state is not None:
        terms.append(state)
    inner = (
        "SELECT q.feed, q.seq FROM questions q "  # noqa: S608 - placeholders and constants
        "JOIN entries e ON e.feed = q.feed AND e.seq = q.seq "
        f"WHERE {' AND '.join(terms)} "
        "ORDER BY q.claimed_ms DESC, q.feed DESC, q.seq DESC LIMIT ?"
    )
    params.append(limit)
    # The unary + keeps SQLite from walking every entry by time: the few rows the inner
    # query chose are looked up by their key, then sorted.
    return store.index.entry_rows(
        f"(e.feed, e.seq) IN ({inner})",
        params,
        "ORDER BY +e.claimed_ms DESC, e.feed DESC, e.seq DESC",
    )


def question_page(
    store: StoreReader, which: QuestionFilter, older_than: Cursor, limit: int
) -> list[StoredEntry]:
    """:func:`question_rows`, loaded."""
    return store.load_listed(question_rows(store, which, older_than, limit))


def own_question_ids(store: StoreReader, own: bytes) -> frozenset[bytes]:
    """The ids of every stored question of ``own``."""
    rows = store.index.conn.execute(
        "SELECT e.id FROM questions q JOIN entries e ON e.feed = q.feed AND e.seq = q.seq "
        "WHERE q.feed = ?",
        (feed_id(store, own),),
    )
    return frozenset(bytes(row[0]) for row in rows)


def held_question(store: StoreReader, ref: Ref) -> bool:
    """Whether the entry ``ref`` names is held as a question (in its current version)."""
    row = store.index.conn.execute(
        "SELECT 1 FROM questions q JOIN entries e ON e.feed = q.feed AND e.seq = q.seq "
        "JOIN feeds f ON f.feed = q.feed WHERE f.key = ? AND q.seq = ? AND e.id = ?",
        (ref.author, ref.seq, ref.id),
    ).fetchone()
    return row is not None
