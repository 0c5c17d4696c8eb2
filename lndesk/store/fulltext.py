"""The full-text index: which text of an entry is searchable, and under which rowid.

One FTS5 document per searchable thing (docs/protocol.md leaves the index to each
reader; this is lndesk's): a post or reply (its current text, an edit's in place of
the original's), a share with a comment, a reading list (title and notes of its
current state, under the entry of that state). Deleted entries have no document.

**Rowids follow time.** A document's rowid is ``claimed_ms << 10 | slot``: FTS5 walks
its matches in rowid order, so "newest first" is ``ORDER BY rowid DESC`` and stops after
a page however many documents match, and a date range is a rowid range. The slot comes
from a hash of (feed, seq), moved to the next free one when two documents claim the
same millisecond and slot (linear probing over at most PROBES slots); a document is
found again by looking at those slots for its ``feed`` and ``seq`` (almost always the
first one). FTS5 stores each word's documents as rowid differences, so fewer slot bits
make the index smaller: 10 rather than 20 took a sixth off it.

**The index holds no text.** ``search`` is a contentless FTS5 table (``content=''``):
its words and positions, not a copy of every text, which would make the index larger
than the log it is derived from. ``search_docs`` names each document's entry (``feed``,
``seq``) and the entry whose payload holds its text (``source``: the entry itself, or
the post's latest edit when it was indexed). A document is a function of those entries'
payloads in the log, which is the source of truth: removing one reads its text back
from the log and hands it to FTS5's ``delete`` command (a contentless table only
forgets words it is told), before the derivation that removes it purges any payload;
a search reads the text of the results it shows (snippets: :mod:`lndesk.store.search`).

**Facets.** The ``facets`` column holds tokens that filters match through the same
FTS5 query as the words: ``a<feed id>`` (author), ``y<type>``, ``q`` for a post whose
current version asks, and ``t<hash of the tag in normal form>`` per tag. A user's words
only ever match the ``text`` column.

**Indexing is deferred.** Writing a document into FTS5 costs more than storing its
entry (the sync path ran at less than half its speed with it), and indexing must never
hold up publishing or syncing. So storing an entry only *stages* its document: a row
of ``search_pending`` naming the document's entry and the entry whose payload holds its
text (the entry itself, or a post's latest edit). :meth:`FullText.index_staged`
(``Store.index_text``) later reads those payloads from the log and moves the documents
into ``search`` in chunks: the node's background indexer does, and a search first
indexes a small backlog. A document is either staged or indexed, never both, so what
is searchable in the end does not depend on when indexing ran; and the staging table
holds no text, so a deleted entry's text is never left behind in it.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from lndesk.content import Content, Edit, Post, ReadingList, Reply, Share
from lndesk.content_fields import is_blank_text
from lndesk.store.asked import asks
from lndesk.store.bulk import insert_rows
from lndesk.store.rules import PAYLOAD_PRESENT, ContentLoader, index_tags

log = logging.getLogger(__name__)

SLOT_BITS = 10
SLOT_MASK = (1 << SLOT_BITS) - 1
MAX_TIME_MS = (1 << (63 - SLOT_BITS)) - 1
"""Far beyond any real date: later claimed times are not searchable."""
PROBES = 64
"""Slots tried for a document; when all are taken (hundreds of documents claiming one
millisecond), the document is left out of the index."""
TOKENIZE = "unicode61 remove_diacritics 2"
"""The tokenizer of ``search`` (migration 8): the snippets of results
(:mod:`lndesk.store.snippets`) split words exactly as it does."""
_INSERT = "INSERT INTO search(rowid, text, facets) VALUES (?, ?, ?)"
_INSERT_DOC = "INSERT INTO search_docs(doc, feed, seq, source) VALUES (?, ?, ?, ?)"
_DELETE = "INSERT INTO search(search, rowid, text, facets) VALUES ('delete', ?, ?, ?)"
_STAGE = "INSERT OR REPLACE INTO search_pending(feed, seq, source) VALUES"
_STAGED = """
    SELECT p.id, p.feed, p.seq, p.source, e.claimed_ms, e.type, s.type, s.offset, s.payload_state
    FROM search_pending p
    LEFT JOIN entries e ON e.feed = p.feed AND e.seq = p.seq
    LEFT JOIN entries s ON s.feed = p.feed AND s.seq = p.source
    ORDER BY p.id LIMIT ?
"""
_INDEXED = """
    SELECT e.claimed_ms, e.type, s.type, s.offset, s.payload_state
    FROM entries e
    LEFT JOIN entries s ON s.feed = e.feed AND s.seq = ?
    WHERE e.feed = ? AND e.seq = ?
"""
PayloadLoader = Callable[[int, str], Content | None]
"""Reads the payload of the log record at an offset and parses it as the given type
(None: no usable payload)."""
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
"""Control characters are not searchable."""
_MARKS = ("\x00", "\x02", "\x03")
"""Never in indexed text: \\x02 and \\x03 mark matches in FTS5's snippets (which the snippets
of results are checked against), and SQLite leaves text with NUL in it undefined."""


@dataclass(slots=True)
class Document:
    feed: int
    seq: int
    claimed_ms: int
    text: str
    facets: str
    source: int


class Staged(NamedTuple):
    """A document to index later: the entry (feed, seq) it belongs to, claimed at
    ``claimed_ms``, whose text is in the payload of entry ``source`` of the same feed."""

    feed: int
    seq: int
    claimed_ms: int
    source: int


def time_key(claimed_ms: int) -> int:
    return min(max(claimed_ms, 0), MAX_TIME_MS)


def bucket(claimed_ms: int) -> tuple[int, int]:
    """The first and last rowid of the documents claimed at ``claimed_ms``."""
    base = time_key(claimed_ms) << SLOT_BITS
    return base, base | SLOT_MASK


def preferred_rowid(claimed_ms: int, feed: int, seq: int) -> int:
    slot = ((feed * 0x9E3779B1) ^ (seq * 0x85EBCA77)) & SLOT_MASK
    return bucket(claimed_ms)[0] | slot


QUESTION_FACET = "q"
"""The facet of a post whose current version asks (:func:`lndesk.store.asked.asks`, the
rule of the ``questions`` table): a search of open or answered questions with words
matches it, so FTS5 skips every other document (migration 10 gave it to documents
indexed before)."""


def author_token(feed: int) -> str:
    return f"a{feed}"


def type_token(type_: str) -> str:
    return "y" + type_


@functools.lru_cache(maxsize=4096)
def tag_token(tag: str) -> str:
    """A tag (in the index's normal form) as one token of letters and digits."""
    return "t" + hashlib.blake2b(tag.encode(), digest_size=8).hexdigest()


def facets(feed: int, type_: str, tags: Iterable[str], *, question: bool = False) -> str:
    asking = " " + QUESTION_FACET if question else ""
    return f"a{feed} y{type_}{asking}" + "".join([" " + tag_token(tag) for tag in tags])


def without_question(facet_text: str) -> str:
    """``facet_text`` as :func:`facets` makes it for a post that does not ask."""
    return " ".join(token for token in facet_text.split(" ") if token != QUESTION_FACET)


def clean(text: str) -> str:
    """Text as the index holds it: the characters in _MARKS become spaces (checked with
    ``in``: a regular expression over every post would cost more than the rest)."""
    for mark in _MARKS:
        if mark in text:
            return text.replace("\x00", " ").replace("\x02", " ").replace("\x03", " ")
    return text


def clean_query(text: str) -> str:
    """A person's words without control characters (a NUL would end FTS5's query)."""
    return _CONTROL.sub(" ", text)


def has_document(content: Content | None) -> bool:
    """Whether ``content`` has text to search (searchable_text is not None), cheaply."""
    match content:
        case Post() | Reply() | Edit() | ReadingList():
            return True
        case Share(comment=comment):
            return not is_blank_text(comment)
        case _:
            return False


def searchable_text(content: Content | None) -> str | None:
    """The text a document of ``content`` holds (None: nothing to search)."""
    match content:
        case Post(text=text) | Reply(text=text) | Edit(text=text):
            return clean(text)
        case Share(comment=comment) if not is_blank_text(comment):
            return clean(comment)
        case ReadingList(title=title, items=items):
            notes = [item.note for item in items if not is_blank_text(item.note)]
            return clean("\n".join([title, *notes]))
        case _:
            return None


def document(
    feed: int,
    seq: int,
    source: int,
    row: Sequence[object] | None,
    load: PayloadLoader,
    *,
    indexed: bool = False,
) -> Document | None:
    """The document of entry (feed, seq) with its text in entry ``source``'s payload, from
    ``row``: (claimed_ms, type) of the entry and (type, offset, payload_state) of the
    source (None: no such entry). None: nothing to index.

    ``indexed``: the document is in the index, so its text is read whatever the payload's
    state says (a derivation removing it has marked the payload purged already, and the
    log still holds it until the derivation is committed)."""
    if row is None:
        return None
    claimed_ms, type_, source_type, offset, payload_state = row
    if type_ is None or source_type is None or (not indexed and payload_state != PAYLOAD_PRESENT):
        return None  # no text to read (the derivation never stages such a document)
    assert isinstance(claimed_ms, int) and isinstance(offset, int)
    staged = Staged(feed, seq, claimed_ms, source)
    return document_of(staged, str(type_), load(offset, str(source_type)))


def document_of(staged: Staged, type_: str, content: Content | None) -> Document | None:
    """The document ``staged`` names, for an entry of type ``type_`` and the payload of
    its source, ``content`` (None: nothing to index)."""
    text = searchable_text(content)
    if text is None:
        return None
    feed, seq, claimed_ms, source = staged
    asking = type_ == "post" and asks(content)  # a reply never asks, edited or not
    facet_text = facets(feed, type_, index_tags(content), question=asking)
    return Document(feed, seq, claimed_ms, text, facet_text, source)


def payload_loader(load: ContentLoader) -> PayloadLoader:
    """A PayloadLoader that reads whole records with ``load`` (None where one cannot be
    read: the caller then has no text)."""

    def read(offset: int, _type: str) -> Content | None:
        try:
            return load(offset)
        except Exception as exc:  # a damaged record: `lndesk verify` reports it
            log.warning("the text at log offset %d cannot be read: %s", offset, exc)
            return None

    return read


class FullText:
    """Adds and removes documents: staged in ``search_pending``, indexed in ``search``
    and ``search_docs``. ``load`` reads the payloads their text is in (staging and
    counting need none).

    Call inside a transaction.
    """

    def __init__(self, conn: sqlite3.Connection, load: PayloadLoader | None = None) -> None:
        self.conn = conn
        self._load = load

    @property
    def load(self) -> PayloadLoader:
        if self._load is None:
            raise TypeError("reading documents needs a payload loader")
        return self._load

    def add(self, documents: Sequence[Staged]) -> None:
        """Stage documents for indexing (the caller has removed any earlier document of
        the same entry)."""
        # Entries claimed after MAX_TIME_MS are not searchable: the timeline holds them back
        # anyway, and they would all crowd into one millisecond's bucket.
        self.stage(
            [(d.feed, d.seq, d.source) for d in documents if 0 <= d.claimed_ms <= MAX_TIME_MS]
        )

    def stage(self, rows: Sequence[tuple[int, int, int]]) -> None:
        """Stage (feed, seq, source) rows as they are: :meth:`add` without its checks."""
        insert_rows(self.conn, _STAGE, rows)

    def pending(self) -> int:
        """How many documents are staged (counted in the small (feed, seq) index)."""
        return int(self.conn.execute("SELECT COUNT(*) FROM search_pending").fetchone()[0])

    def staged(self, limit: int) -> tuple[list[Document], int]:
        """The first ``limit`` staged documents, in staging order, as they will be indexed,
        and the staging id of the last one looked at (0: none staged)."""
        documents = []
        last = 0
        for row in self.conn.execute(_STAGED, (limit,)).fetchall():
            last, feed, seq, source = row[:4]
            found = document(feed, seq, source, row[4:], self.load)
            if found is not None:
                documents.append(found)
        return documents, last

    def index_staged(self, limit: int) -> int:
        """Move up to ``limit`` staged documents, oldest staged first, into ``search``.
        Returns how many staged rows were used up."""
        documents, last = self.staged(limit)
        if not last:
            return 0
        self.insert(documents)
        return self.conn.execute("DELETE FROM search_pending WHERE id <= ?", (last,)).rowcount

    def document(self, feed: int, seq: int, source: int) -> Document | None:
        """The document of (feed, seq) with its text in ``source``'s payload, as indexed."""
        row = self.conn.execute(_INDEXED, (source, feed, seq)).fetchone()
        return document(feed, seq, source, row, self.load, indexed=True)

    def insert(self, documents: Sequence[Document]) -> None:
        """Write documents into ``search`` at once (not staged)."""
        rows = [_row(d) for d in documents if 0 <= d.claimed_ms <= MAX_TIME_MS]
        if not rows:
            return
        # FTS5 writes out its pending terms whenever a rowid is lower than the one before:
        # in rowid order, a batch makes one segment rather than many small ones.
        rows.sort()
        try:
            # search_docs says which rowids are taken: a contentless table cannot.
            self.conn.executemany(_INSERT_DOC, [(r[0], *r[3:]) for r in rows])
            placed = rows
        except sqlite3.IntegrityError:
            # A preferred rowid is taken (two documents claim one millisecond and slot): the
            # rows before it went in, the rest go one by one.
            placed = sorted(p for p in map(self._place, rows) if p is not None)
        self.conn.executemany(_INSERT, [r[:3] for r in placed])

    def _place(self, row: _Row) -> _Row | None:
        """``row`` at the rowid its document gets in ``search_docs`` (None: no room)."""
        preferred, text, facet_text, feed, seq, source = row
        for rowid in _probe_window(preferred):
            held = self.conn.execute(
                "SELECT feed, seq FROM search_docs WHERE doc = ?", (rowid,)
            ).fetchone()
            if held is None:
                self.conn.execute(_INSERT_DOC, (rowid, feed, seq, source))
                return (rowid, text, facet_text, feed, seq, source)
            if tuple(held) == (feed, seq):
                return (rowid, text, facet_text, feed, seq, source)  # before the batch stopped
        log.warning("entry %d of feed %d is not searchable: its millisecond is full", seq, feed)
        return None

    def remove(self, feed: int, seq: int, claimed_ms: int) -> None:
        """Remove the document of (feed, seq), staged or indexed, if there is one.

        An indexed document's text is read back from the log for FTS5 to forget its
        words. If it cannot be (a damaged record), its rowid stays taken by a document of
        no entry, so that no later document inherits its words (``lndesk reindex`` clears
        it)."""
        self.conn.execute("DELETE FROM search_pending WHERE feed = ? AND seq = ?", (feed, seq))
        rowid = self.rowid_of(feed, seq, claimed_ms)
        if rowid is None:
            return
        (source,) = self.conn.execute(
            "SELECT source FROM search_docs WHERE doc = ?", (rowid,)
        ).fetchone()
        found = self.document(feed, seq, source)
        if found is None:
            log.warning(
                "the text of entry %d of feed %d cannot be read back to remove it from "
                "search; it is hidden instead",
                seq,
                feed,
            )
            self.conn.execute("UPDATE search_docs SET seq = 0, source = 0 WHERE doc = ?", (rowid,))
            return
        self.conn.execute(_DELETE, (rowid, found.text, found.facets))
        self.conn.execute("DELETE FROM search_docs WHERE doc = ?", (rowid,))

    def rowid_of(self, feed: int, seq: int, claimed_ms: int) -> int | None:
        """The rowid of the document of (feed, seq), claimed at ``claimed_ms``, if any."""
        if not 0 <= claimed_ms <= MAX_TIME_MS:
            return None
        candidates = _probe_window(preferred_rowid(claimed_ms, feed, seq))
        # Almost always the first candidate; the window only after a collision.
        for chunk in (candidates[:1], candidates[1:]):
            marks = ",".join("?" * len(chunk))
            row = self.conn.execute(
                f"SELECT doc FROM search_docs WHERE doc IN ({marks}) "  # noqa: S608 - only '?'
                "AND feed = ? AND seq = ?",
                (*chunk, feed, seq),
            ).fetchone()
            if row is not None:
                return int(row[0])
        return None


_Row = tuple[int, str, str, int, int, int]
"""(rowid, text, facets, feed, seq, source) of a document being written."""


def _row(d: Document) -> _Row:
    return (preferred_rowid(d.claimed_ms, d.feed, d.seq), d.text, d.facets, d.feed, d.seq, d.source)


def _probe_window(preferred: int) -> list[int]:
    """The rowids a document preferring ``preferred`` may have: it and the next slots of
    its millisecond (wrapping around), so that finding a document never scans a bucket
    that someone filled with entries claiming one millisecond."""
    base = preferred & ~SLOT_MASK
    return [base | ((preferred + step) & SLOT_MASK) for step in range(PROBES)]


QUESTION_FACETS = "question_facets"
"""The ``meta`` key migration 10 sets: documents of questions indexed before it are
still to get the question facet."""


def add_question_facets(conn: sqlite3.Connection, load: PayloadLoader) -> int:
    """Give the question facet to the indexed documents of questions, if migration 10
    asked for it; returns how many were changed. Each is deleted with the facets it was
    indexed with (a contentless table forgets only the words it is told) and inserted
    again at its rowid with the question's. Staged documents get it when indexed. One
    transaction, run on open before anything is indexed: a crash leaves the marker and
    every document as it was, and the next open does it again."""
    if conn.execute("SELECT 1 FROM meta WHERE key = ?", (QUESTION_FACETS,)).fetchone() is None:
        return 0
    text = FullText(conn, load)
    conn.execute("BEGIN IMMEDIATE")
    try:
        changed = 0
        asked = conn.execute("SELECT feed, seq, claimed_ms FROM questions").fetchall()
        for feed, seq, claimed_ms in asked:
            rowid = text.rowid_of(feed, seq, claimed_ms)
            if rowid is None:
                continue
            (source,) = conn.execute(
                "SELECT source FROM search_docs WHERE doc = ?", (rowid,)
            ).fetchone()
            found = text.document(feed, seq, source)
            if found is None or QUESTION_FACET not in found.facets.split(" "):
                continue
            conn.execute(_DELETE, (rowid, found.text, without_question(found.facets)))
            conn.execute(_INSERT, (rowid, found.text, found.facets))
            changed += 1
        conn.execute("DELETE FROM meta WHERE key = ?", (QUESTION_FACETS,))
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    log.info("gave %d indexed questions the question facet", changed)
    return changed
