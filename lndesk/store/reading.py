"""Reading a store: entries, feeds, pages and runs, as the log and its index hold them.

:class:`lndesk.store.store.Store` builds on this; reading never writes (a store opened
read-only offers all of it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from lndesk.content import Content, parse_content
from lndesk.entry import Entry, decode_entry
from lndesk.errors import StoreCorruptError, UnknownEntryError
from lndesk.store import idprefix
from lndesk.store.fill import payload_holes
from lndesk.store.fulltext import FullText
from lndesk.store.index import EntryRow, FeedState, Index
from lndesk.store.logfile import LogFile
from lndesk.store.records import parse_payload

log = logging.getLogger(__name__)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry as the store holds it, with its payload and meaning when available."""

    entry: Entry
    payload: bytes | None
    received_ms: int
    content: Content | None
    content_error: str | None
    deleted: bool
    author_name: str | None
    cursor: tuple[int, int, int]
    """Where this entry sits in the timeline order; pass the entry as ``older_than``."""


class StoreReader:
    """What every open store can answer."""

    log: LogFile
    index: Index
    warnings: list[str]
    _damage_noted: set[int]

    def text_pending(self) -> int:
        """How many stored documents wait to be indexed (a search does not find them yet)."""
        return FullText(self.index.conn).pending()

    def index_backlog(self) -> int:
        """How much background indexing is left: the documents waiting for search, and the
        entries waiting for the id index (:mod:`lndesk.store.idprefix`); both are done by
        ``Store.index_text``."""
        return self.text_pending() + idprefix.pending(self.index.conn)

    def _payload_content(self, offset: int, type_: str) -> Content | None:
        """The payload of the log record at ``offset``, parsed as ``type_`` (None: none
        usable). For indexing text: cheaper than decoding the entry again."""
        try:
            payload = self.log.read(offset).payload
        except StoreCorruptError as exc:  # `lndesk verify` reports it; search goes on without
            log.warning("the text at log offset %d cannot be indexed: %s", offset, exc)
            return None
        if payload is None:
            return None
        try:
            return parse_content(type_, payload)
        except Exception:  # stored payloads parsed before; a peer's must never break indexing
            return None

    def _content_at(self, offset: int) -> Content | None:
        """The content of the log record at ``offset`` (None: no usable payload)."""
        record = self.log.read(offset)
        return parse_payload(decode_entry(record.entry), record.payload)[0]

    # --- reading -------------------------------------------------------------

    def feed_state(self, key: bytes) -> FeedState:
        return self.index.feed_state(key)

    def feed_limits(self, key: bytes) -> tuple[int, int, int | None]:
        """``key``'s (height, max_seq, forked_at): the part of :meth:`feed_state` a
        node asks for every head it hears, in one statement instead of two."""
        return self.index.feed_limits(key)

    def feeds(self) -> list[FeedState]:
        return self.index.feeds()

    def following(self, key: bytes) -> list[bytes]:
        return self.index.following(key)

    def follows(self, src: bytes, dst: bytes) -> bool:
        """Whether ``src`` follows ``dst`` now (``dst in following(src)``)."""
        return self.index.follows(src, dst)

    def load(self, row: EntryRow) -> StoredEntry:
        record = self.log.read(row.offset)
        entry = decode_entry(record.entry)
        content, error = parse_payload(entry, record.payload)
        return StoredEntry(
            entry,
            record.payload,
            record.received_ms,
            content,
            error,
            row.deleted,
            row.author_name,
            (row.claimed_ms, row.feed, row.seq),
        )

    def load_listed(self, rows: Iterable[EntryRow]) -> list[StoredEntry]:
        """:meth:`load` for each row of a list; an entry whose log record is damaged is
        left out (with a warning naming the repair), so one bad record never hides the
        rest of a timeline."""
        found = []
        for row in rows:
            try:
                found.append(self.load(row))
            except StoreCorruptError as exc:
                self._note_damage(row.offset, exc)
        return found

    def _note_damage(self, offset: int, exc: StoreCorruptError) -> None:
        if offset in self._damage_noted:
            return
        self._damage_noted.add(offset)
        message = f"{exc}; it is left out of lists. Run lndesk repair to salvage the log."
        log.warning("%s", message)
        self.warnings.append(message)

    def resolve(self, id_prefix: bytes) -> StoredEntry:
        """The one stored entry whose id starts with ``id_prefix``."""
        rows = self.index.entries_by_id_prefix(id_prefix)
        if not rows:
            raise UnknownEntryError(f"no stored entry has an id starting with {id_prefix.hex()}")
        if len(rows) > 1:
            raise UnknownEntryError(
                f"more than one entry has an id starting with {id_prefix.hex()}",
                "Give more characters of the id.",
            )
        return self.load(rows[0])

    def feed_rows(self, key: bytes, batch: int = 1000) -> Iterator[EntryRow]:
        """Index rows of every stored entry of ``key``, in sequence order."""
        last = 0
        while True:
            rows = self.index.entry_rows(
                "f.key = ? AND e.seq > ?", (key, last), "ORDER BY e.seq LIMIT ?", batch
            )
            yield from rows
            if len(rows) < batch:
                return
            last = rows[-1].seq

    def feed_items(self, key: bytes) -> Iterator[tuple[bytes, bytes | None]]:
        """(entry, payload) of every stored entry of ``key``, in sequence order."""
        for row in self.feed_rows(key):
            record = self.log.read(row.offset)
            yield record.entry, record.payload

    def stored_seqs(self, key: bytes, first: int, last: int) -> set[int]:
        return set(self.index.stored_ids(key, first, last))

    def payload_holes(self, key: bytes, first: int, last: int, limit: int) -> list[int]:
        """Seqs of held entries of ``key`` whose payloads are missing (not deleted)."""
        return payload_holes(self.index, key, first, last, limit)

    def read_run(
        self, key: bytes, first: int, last: int, max_entries: int, max_bytes: int
    ) -> list[tuple[int, bytes, bytes | None]]:
        """Stored entries of ``key`` from ``first`` on, contiguous and ascending.

        Stops at a gap, at ``last``, after ``max_entries``, or before entries plus payloads
        pass ``max_bytes`` (always returns the entry at ``first`` if it is stored).
        """
        offsets = self.index.run_offsets(key, first, min(last, first + max_entries - 1))
        return self.log.read_run(offsets, first, max_bytes)

    def fork_proofs(self, key: bytes) -> list[Entry]:
        return [
            decode_entry(self.log.read(offset).entry)
            for _, _, offset in self.index.fork_proofs(key)
        ]
