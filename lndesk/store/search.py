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
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lndesk.content import is_blank_text, normalize_tag
from lndesk.entry import KEY_SIZE
from lndesk.errors import ContentError, UsageError
from lndesk.search_query import SearchQuery
from lndesk.store.fulltext import (
    MAX_TIME_MS,
    QUESTION_FACET,
    TOKENIZE,
    FullText,
    Staged,
    author_token,
    bucket,
    clean_query,
    document_of,
    tag_token,
    type_token,
)
from lndesk.store.questions import QuestionState, state_term
from lndesk.store.shown import feed_id, feed_ids, marks, visible_until
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
SNIPPET_TOKENS = 24
LEAD_CHARS = 200
_START, _END = "\x02", "\x03"
"""Marks of a match in FTS5's snippet(); indexed text never holds them (fulltext.clean)."""
_TERM = re.compile(r'"([^"]*)"?|([^\s"]+)')
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
    words = match_expression(query.text)
    facets = _facets(store, query)
    low, high = _rowid_range(query)
    if not words and facets == [] and query.since_ms is None and query.until_ms is None:
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
    hits = _matches(store, query, words, facets, (low, high), page=page, asked=asked)
    return SearchHits(hits, pending)


def _matches(
    store: Store,
    query: SearchQuery,
    words: str | None,
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
        state = state_term(asked)
        if state is not None:
            join += " JOIN entries e ON e.feed = q.feed AND e.seq = q.seq"
            exclude += f" AND {state}"
    if asked is not None:
        facets = [*facets, QUESTION_FACET]
    parts = ([f"text : ({words})"] if words else []) + [f'facets : "{t}"' for t in facets]
    match = " AND ".join(parts)
    conn = store.index.conn
    # The index holds no text: it finds the documents, the log gives their text.
    if parts:
        rows = conn.execute(
            "SELECT s.rowid, d.feed, d.seq, d.source FROM search s "  # noqa: S608 - only '?'
            f"JOIN search_docs d ON d.doc = s.rowid{join} "
            f"WHERE search MATCH ? AND s.rowid BETWEEN ? AND ?{exclude} "
            "ORDER BY s.rowid DESC LIMIT ? OFFSET ?",
            (match, low, high, *hidden, limit, offset),
        ).fetchall()
    else:  # dates alone: every document, and search_docs lists them
        rows = conn.execute(
            f"SELECT d.doc, d.feed, d.seq, d.source FROM search_docs d{join} "  # noqa: S608
            f"WHERE d.doc BETWEEN ? AND ?{exclude} ORDER BY d.doc DESC LIMIT ? OFFSET ?",
            (low, high, *hidden, limit, offset),
        ).fetchall()
    text = FullText(conn, store._payload_content)
    shown = []
    for rowid, feed, seq, source in rows:
        found = store.index.entry_rows("e.feed = ? AND e.seq = ? AND e.deleted = 0", (feed, seq))
        if not found:
            continue
        stored = store.load(found[0])
        # The text is the entry's own (read with it), or a later edit's.
        document = (
            document_of(Staged(feed, seq, found[0].claimed_ms, seq), found[0].type, stored.content)
            if source == seq
            else text.document(feed, seq, source)
        )
        if document is not None:
            shown.append((rowid, stored, document))
    if parts:
        marked = snippets([(rowid, d.text, d.facets) for rowid, _, d in shown], match)
    else:  # dates alone
        marked = {rowid: _lead(d.text) for rowid, _, d in shown}
    hits = []
    for rowid, stored, _ in shown:
        snippet, spans = _spans(marked.get(rowid, ""))
        hits.append(SearchHit(stored, snippet, spans))
    return hits


def snippets(documents: Sequence[tuple[int, str, str]], match: str) -> dict[int, str]:
    """FTS5's snippet() of each (rowid, text, facets) document for the query ``match``,
    by rowid: what the index would give if it kept the text. The documents go into a
    table of their own in memory, tokenized as ``search`` is, and the same query picks
    the same fragments (a snippet depends on the document and the query alone)."""
    if not documents:
        return {}
    conn = _shown_table()
    try:
        # In rowid order: FTS5 then writes the batch as one segment, not one per document.
        conn.executemany(
            "INSERT INTO shown(rowid, text, facets) VALUES (?, ?, ?)", sorted(documents)
        )
        rows = conn.execute(
            "SELECT rowid, snippet(shown, 0, ?, ?, '…', ?) FROM shown WHERE shown MATCH ?",
            (_START, _END, SNIPPET_TOKENS, match),
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


def match_expression(text: str) -> str | None:
    """The FTS5 query for a person's words (None: no word to look for).

    Every word and phrase is quoted (FTS5 operators and punctuation lose their meaning);
    the last word, if the text does not end with a space or a quote, is a prefix.
    Words without a letter or digit are dropped: they match nothing.
    """
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
    if not terms:
        return None
    if len(terms) > MAX_TERMS:
        raise UsageError(
            f"a search can have at most {MAX_TERMS} words or phrases",
            "Leave out common words; quote a phrase to search for it as one.",
        )
    quoted = ['"' + term.replace('"', '""') + '"' for term, _ in terms]
    last, bare = terms[-1]
    if bare and not text[-1:].isspace() and _trailing_alnum(last) >= MIN_PREFIX:
        quoted[-1] += " *"
    return " ".join(quoted)


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


def _spans(marked: str) -> tuple[str, list[tuple[int, int]]]:
    """The snippet without its match marks, and where the marks were."""
    text: list[str] = []
    spans: list[tuple[int, int]] = []
    start: int | None = None
    for piece in re.split(f"([{_START}{_END}])", marked):
        if piece == _START:
            start = sum(map(len, text))
        elif piece == _END:
            if start is not None:
                spans.append((start, sum(map(len, text))))
            start = None
        else:
            text.append(piece)
    return "".join(text), spans


def _lead(text: str) -> str:
    """The start of a text, as a snippet of a listing without words."""
    flat = " ".join(text.split())
    if len(flat) <= LEAD_CHARS:
        return flat
    cut = flat.rfind(" ", 0, LEAD_CHARS)
    return flat[: cut if cut > LEAD_CHARS // 2 else LEAD_CHARS] + "…"
