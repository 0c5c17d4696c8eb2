"""Full-text search over everything stored, newest first.

A person's words become a safe FTS5 query: every word and every "quoted phrase" is
quoted (so no input is FTS5 syntax), all must match, and the last word also matches as
a prefix while it is being typed (``lea`` finds "learning", from three letters on).
Filters (author, tag, type) are tokens of the same query (:mod:`lndesk.store.fulltext`),
dates a rowid range.

**Order: newest first** (by claimed time, as the timeline; entries claiming the same
millisecond come in no particular order). Every hit contains every word, and in a
stream of posts people look for "what was said about this, lately" far more than for
the single best match; newest-first also costs a page however many entries match, where
ranking by relevance (bm25) has to score every match first.

**What is indexed.** Storing an entry only stages its text (:mod:`lndesk.store.fulltext`);
the node's indexer moves staged text into the index in the background. A search first
indexes a backlog of up to FLUSH_LIMIT documents itself, so what was just published or
came in a small sync is found; with more waiting, it searches what is indexed and says
how much is not (``SearchHits.pending``: "still indexing N posts").
"""

from __future__ import annotations

import logging
import re
import sqlite3
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lndesk.content_fields import is_blank_text, normalize_tag
from lndesk.entry import KEY_SIZE
from lndesk.errors import ContentError, UsageError
from lndesk.search_query import SearchQuery
from lndesk.store.fulltext import (
    MAX_TIME_MS,
    QUESTION_FACET,
    FullText,
    author_token,
    bucket,
    clean_query,
    searchable_text,
    tag_token,
    type_token,
)
from lndesk.store.index import EntryRow
from lndesk.store.questions import QuestionState, state_term
from lndesk.store.shown import feed_id, feed_ids, marks, visible_until
from lndesk.store.snippets import snippets
from lndesk.store.store import Store, StoredEntry

log = logging.getLogger(__name__)

SEARCH_TYPES = ("post", "reply", "share", "readinglist")
MAX_QUERY_CHARS = 500
MAX_TERMS = 16
MAX_LIMIT = 500
MIN_PREFIX = 3
"""A last word shorter than this matches as a whole word only: the index has no prefix
index (it would double the cost of indexing), and a prefix of one or two letters
matches so many words that merging them takes hundreds of milliseconds."""
LEAD_CHARS = 200
_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')
RECENT_HITS = 200
"""Hits whose entries and texts a store keeps read (a page is 20; a payload at most
64 KiB)."""
FLUSH_LIMIT = 5000
"""A search indexes a backlog of up to this many staged documents first (about 0.1 s);
a larger one is the background indexer's."""


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One match. ``entry`` is what the timeline shows for it: a post or reply as first
    published (its current, edited text is what matched: see ``current_versions``), a
    share, or a reading list's current state. ``snippet`` is plain text around the
    match; ``spans`` are (start, end) character offsets of the matched words in it."""

    entry: StoredEntry
    snippet: str
    spans: list[tuple[int, int]]


class SearchHits(list[SearchHit]):
    """The matches of a search, newest first, and ``pending``: how many stored documents
    were still waiting to be indexed when it ran, so it could not find them (0: it
    covered everything stored). A front end shows "still indexing N posts"."""

    __slots__ = ("pending",)

    def __init__(self, hits: Iterable[SearchHit] = (), pending: int = 0) -> None:
        super().__init__(hits)
        self.pending = pending


def search(
    store: Store,
    query: SearchQuery,
    limit: int = 20,
    offset: int = 0,
    *,
    asked: QuestionState | None = None,
) -> SearchHits:
    """The matches of ``query``, newest first: ``limit`` of them after skipping ``offset``.
    ``asked``: only questions (:mod:`lndesk.store.questions`) in that state.

    Indexes up to FLUSH_LIMIT staged documents first (more are left to the background
    indexer: ``pending`` of the result says how many were not searched).

    Raises UsageError for a query that cannot be searched (nothing to look for, a tag
    or type that cannot be, dates the wrong way round) with what to change.
    """
    if not 1 <= limit <= MAX_LIMIT or offset < 0:
        raise UsageError(f"ask for 1 to {MAX_LIMIT} results from an offset of 0 or more")
    terms = query_terms(query.text)
    facets = _facets(store, query)
    low, high = _rowid_range(query)
    if not terms and facets == [] and query.since_ms is None and query.until_ms is None:
        raise UsageError(
            "there is nothing to search for",
            "Type a word, or choose an author, a tag, a type or dates to list.",
        )
    pending = store.text_pending()
    if 0 < pending <= FLUSH_LIMIT:
        try:
            pending = store.index_text(FLUSH_LIMIT)
        except (OSError, sqlite3.OperationalError) as exc:  # a full disk: search what is indexed
            log.warning("could not index %d documents before a search: %s", pending, exc)
    if facets is None or low > high:
        return SearchHits((), pending)  # an author never heard of, or no time to search
    page = (limit, offset)
    hits = _matches(store, query, terms, facets, (low, high), page=page, asked=asked)
    return SearchHits(hits, pending)


def _matches(
    store: Store,
    query: SearchQuery,
    terms: list[tuple[str, bool]],
    facets: list[str],
    rowids: tuple[int, int],
    *,
    page: tuple[int, int],
    asked: QuestionState | None,
) -> list[SearchHit]:
    low, high = rowids
    limit, offset = page
    hidden = feed_ids(store, query.hidden)
    exclude = f" AND d.feed NOT IN ({marks(len(hidden))})" if hidden else ""
    join = ""
    if asked is not None:  # each question's match a primary-key lookup (and one of refs)
        join = " JOIN questions q ON q.feed = d.feed AND q.seq = d.seq"
        state = state_term(asked)  # of entry e, which every hit's row joins
        if state is not None:
            exclude += f" AND {state}"
        facets = [*facets, QUESTION_FACET]
    words = terms_expression(terms)
    parts = ([f"text : ({words})"] if words else []) + [f'facets : "{t}"' for t in facets]
    match = " AND ".join(parts)
    conn = store.index.conn
    # The index holds no text: it finds the documents and their entries, the log (or the
    # hits shown lately) gives their text.
    if parts:
        rows = conn.execute(
            f"SELECT s.rowid, d.source, {_ROW} FROM search s "  # noqa: S608 - only '?'
            f"JOIN search_docs d ON d.doc = s.rowid {_ENTRY}{join} "
            f"WHERE search MATCH ? AND s.rowid BETWEEN ? AND ?{exclude} "
            "ORDER BY s.rowid DESC LIMIT ? OFFSET ?",
            (match, low, high, *hidden, limit, offset),
        ).fetchall()
    else:  # dates alone: every document, and search_docs lists them
        rows = conn.execute(
            f"SELECT d.doc, d.source, {_ROW} FROM search_docs d {_ENTRY}{join} "  # noqa: S608
            f"WHERE d.doc BETWEEN ? AND ?{exclude} ORDER BY d.doc DESC LIMIT ? OFFSET ?",
            (low, high, *hidden, limit, offset),
        ).fetchall()
    recent = _recent_hits(store)
    shown = []
    for rowid, *columns in rows:
        if columns[-2]:  # deleted
            continue
        key = tuple(columns)  # the source and the entry's row: all a hit shows
        found = recent.get(key)
        if found is None:
            source, key_, feed, seq, id_, claimed, received, type_, state, at, _, name = columns
            row = EntryRow(key_, feed, seq, id_, claimed, received, type_, state, at, False, name)
            found = _read(store, row, source)
            recent.put(key, found)
        if found[1] is not None:
            shown.append((rowid, found[0], found[1]))
    if parts:
        made = snippets([(rowid, text) for rowid, _, text in shown], terms, words)
    else:  # dates alone
        made = {rowid: (_lead(text), []) for rowid, _, text in shown}
    return [SearchHit(stored, *made.get(rowid, ("", []))) for rowid, stored, _ in shown]


_ROW = (
    "f.key, e.feed, e.seq, e.id, e.claimed_ms, e.received_ms, e.type, e.payload_state, "
    "e.offset, e.deleted, f.name"
)
"""The columns of an EntryRow."""
_ENTRY = "JOIN entries e ON e.feed = d.feed AND e.seq = d.seq JOIN feeds f ON f.feed = e.feed"
_Found = tuple[StoredEntry, str | None]


def _read(store: Store, row: EntryRow, source: int) -> _Found:
    """A hit's entry and its document's text: the entry's own (read with it), or a
    later edit's (``source``)."""
    stored = store.load(row)
    if source == row.seq:
        return stored, searchable_text(stored.content)
    document = FullText(store.index.conn, store._payload_content).document(
        row.feed, row.seq, source
    )
    return stored, None if document is None else document.text


class _Recent:
    """The entries and documents of the last RECENT_HITS hits read, by their source
    and their entry's row (as the query gives them, a plain tuple): searches typed a
    letter at a time show the same posts again. A row names everything a hit shows
    that can change (deleted, the payload's state, the author's name, where the record
    is), so a hit whose entry changed is read again."""

    def __init__(self) -> None:
        self.hits: OrderedDict[tuple[object, ...], _Found] = OrderedDict()

    def get(self, key: tuple[object, ...]) -> _Found | None:
        found = self.hits.get(key)
        if found is not None:
            self.hits.move_to_end(key)
        return found

    def put(self, key: tuple[object, ...], found: _Found) -> None:
        self.hits[key] = found
        if len(self.hits) > RECENT_HITS:
            self.hits.popitem(last=False)


_recent: weakref.WeakKeyDictionary[Store, _Recent] = weakref.WeakKeyDictionary()


def _recent_hits(store: Store) -> _Recent:
    recent = _recent.get(store)
    if recent is None:
        recent = _recent[store] = _Recent()
    return recent


def match_expression(text: str) -> str | None:
    """The FTS5 query for a person's words (None: no word to look for).

    Every word and phrase is quoted (FTS5 operators and punctuation lose their meaning);
    the last word, if the text does not end with a space or a quote, is a prefix.
    Words without a letter or digit are dropped: they match nothing.
    """
    return terms_expression(query_terms(text))


def query_terms(text: str) -> list[tuple[str, bool]]:
    """A person's words and "quoted phrases", each with whether it is a prefix (the
    last word while it is typed), as :func:`match_expression` quotes them."""
    if len(text) > MAX_QUERY_CHARS:
        raise UsageError(
            f"the search text is longer than {MAX_QUERY_CHARS} characters",
            "Search for a few distinctive words.",
        )
    text = clean_query(text)
    terms: list[tuple[str, bool]] = []
    for match in _TERM.finditer(text):
        phrase, word = match.group(1), match.group(2)
        term = phrase if phrase is not None else word
        if any(ch.isalnum() for ch in term):
            terms.append((term, word is not None))
    if len(terms) > MAX_TERMS:
        raise UsageError(
            f"a search can have at most {MAX_TERMS} words or phrases",
            "Leave out common words; quote a phrase to search for it as one.",
        )
    if not terms:
        return []
    last, bare = terms[-1]
    prefix = bare and not text[-1:].isspace() and _trailing_alnum(last) >= MIN_PREFIX
    return [(term, False) for term, _ in terms[:-1]] + [(last, prefix)]


def terms_expression(terms: Sequence[tuple[str, bool]]) -> str | None:
    """The FTS5 query of :func:`query_terms` (None: no term)."""
    if not terms:
        return None
    return " ".join(
        '"' + term.replace('"', '""') + '"' + (" *" if prefix else "") for term, prefix in terms
    )


def _facets(store: Store, query: SearchQuery) -> list[str] | None:
    tokens = []
    if query.author is not None:
        if len(query.author) != KEY_SIZE:
            raise UsageError("the author to search must be a public key")
        feed = feed_id(store, query.author)
        if feed < 0:
            return None
        tokens.append(author_token(feed))
    if query.type is not None:
        if query.type not in SEARCH_TYPES:
            raise UsageError(
                f"{query.type!r} is not a type of entry to search",
                f"Choose one of: {', '.join(SEARCH_TYPES)}.",
            )
        tokens.append(type_token(query.type))
    if query.tag is not None and not is_blank_text(query.tag):
        try:
            tag = normalize_tag(query.tag)
        except ContentError as exc:
            raise UsageError(exc.message, exc.hint) from None
        tokens.append(tag_token(tag))
    return tokens


def _rowid_range(query: SearchQuery) -> tuple[int, int]:
    """Rowids of documents claimed from ``since_ms`` to ``until_ms``, held back ones not."""
    since, until = query.since_ms, query.until_ms
    if since is not None and until is not None and since > until:
        raise UsageError("the search's start date is after its end date", "Swap the two dates.")
    last = visible_until() if until is None else min(until, visible_until())
    if last < 0 or (since is not None and since > MAX_TIME_MS):
        return 1, 0
    low = bucket(since)[0] if since is not None else 0
    return low, bucket(last)[1]


def _trailing_alnum(word: str) -> int:
    count = 0
    for ch in reversed(word):
        if not ch.isalnum():
            break
        count += 1
    return count


def _lead(text: str) -> str:
    """The start of a text, as a snippet of a listing without words."""
    flat = " ".join(text.split())
    if len(flat) <= LEAD_CHARS:
        return flat
    cut = flat.rfind(" ", 0, LEAD_CHARS)
    return flat[: cut if cut > LEAD_CHARS // 2 else LEAD_CHARS] + "…"
