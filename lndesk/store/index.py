"""The SQLite index over the log: what is stored where, and what it means.

Everything here is derived from log records and can be rebuilt from them. Writes
happen in batches inside one transaction, together with ``log_end``, the log offset
up to which the index is complete; on open, the store re-indexes anything the log
holds past that offset.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from lndesk.content import Content
from lndesk.entry import Entry
from lndesk.errors import IndexDamagedError
from lndesk.store import idprefix
from lndesk.store.asked import PayloadReader, backfill, version_loader
from lndesk.store.bulk import insert_rows
from lndesk.store.derive import Derivation, EntryValues, plain_rows, write_plain
from lndesk.store.fulltext import add_question_facets, payload_loader
from lndesk.store.migrations import migrate
from lndesk.store.rules import (
    PAYLOAD_ABSENT,
    PAYLOAD_INVALID,
    PAYLOAD_PRESENT,
    PAYLOAD_PURGED,
    ContentLoader,
    RowKey,
)

__all__ = [
    "PAYLOAD_ABSENT",
    "PAYLOAD_INVALID",
    "PAYLOAD_PRESENT",
    "PAYLOAD_PURGED",
    "EntryRow",
    "FeedState",
    "Index",
    "IndexItem",
]

_CHUNK = 500

# sqlite3 binds int, float, str and bytearray parameters at once but sends every bytes
# parameter through its adaptation protocol, which looks for an adapter, then for
# ``__adapt__`` and ``__conform__`` and formats an AttributeError for each it lacks:
# about 0.2 us per id bound (one per stored entry). An adapter of exact bytes to
# themselves is found first and binds the same blob.
sqlite3.register_adapter(bytes, bytes)


@dataclass(slots=True)
class IndexItem:
    """One log record of kind ENTRY, decoded, ready to be indexed."""

    offset: int
    received_ms: int
    entry: Entry
    payload_state: int
    content: Content | None


_CONTENT = attrgetter("content")


@dataclass(frozen=True, slots=True)
class FeedState:
    key: bytes
    height: int
    max_seq: int
    forked_at: int | None
    name: str | None
    bio: str | None
    head_id: bytes | None


@dataclass(frozen=True, slots=True)
class EntryRow:
    key: bytes
    feed: int
    seq: int
    id: bytes
    claimed_ms: int
    received_ms: int
    type: str
    payload_state: int
    offset: int
    deleted: bool
    author_name: str | None


_ROW_COLUMNS = """
    SELECT f.key, e.feed, e.seq, e.id, e.claimed_ms, e.received_ms, e.type, e.payload_state,
           e.offset, e.deleted, f.name
"""
_ROW_SELECT = f"{_ROW_COLUMNS} FROM entries e JOIN feeds f ON f.feed = e.feed"


class Index:
    def __init__(
        self,
        path: Path,
        load_content: ContentLoader,
        uri: str | None = None,
        *,
        read_payload: PayloadReader | None = None,
    ) -> None:
        """Open (or create) the index at ``path``; ``uri``, a SQLite ``file:`` URI, opens
        it with options instead (read-only). ``read_payload`` makes filling a table a
        migration added quicker (:func:`lndesk.store.asked.backfill`)."""
        self._load_content = load_content
        try:
            self.conn = sqlite3.connect(
                path if uri is None else uri,
                isolation_level=None,
                check_same_thread=False,
                uri=uri is not None,
            )
            self.conn.execute("PRAGMA journal_mode=WAL")
            # The log is the durable copy; a lost index transaction is re-derived from it.
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self.conn.execute("PRAGMA temp_store=MEMORY")
            self.conn.execute("PRAGMA cache_size=-65536")
            # Checkpoint every ~32 MB of WAL rather than 4 MB: fewer, larger checkpoints
            # keep bulk ingest from slowing down as the index grows.
            self.conn.execute("PRAGMA wal_autocheckpoint=8192")
            migrate(self.conn)
            # An index older than the questions table: fill it; then, older than the
            # question facet, give it to the questions' documents.
            backfill(self.conn, version_loader(load_content, read_payload))
            add_question_facets(self.conn, payload_loader(load_content))
        except sqlite3.DatabaseError as exc:
            with contextlib.suppress(Exception):
                self.conn.close()
            raise IndexDamagedError(f"the index {path.name} cannot be opened: {exc}") from exc
        self._feed_ids: dict[bytes, int] = {}

    def close(self) -> None:
        self.conn.close()

    def derivation(self) -> Derivation:
        """A fresh derivation of payload-derived rows (:mod:`lndesk.store.derive`)."""
        return Derivation(self.conn, self._load_content)

    # --- meta ----------------------------------------------------------------

    def get_meta(self, key: str) -> bytes | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def set_meta(self, key: str, value: bytes) -> None:
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    def begin(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")
        self._feed_ids.clear()

    # --- feeds ---------------------------------------------------------------

    def feed_id(self, key: bytes) -> int:
        feed = self._feed_ids.get(key)
        if feed is None:
            row = self.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
            if row is None:
                cursor = self.conn.execute("INSERT INTO feeds(key) VALUES (?)", (key,))
                feed = int(cursor.lastrowid or 0)
            else:
                feed = int(row[0])
            self._feed_ids[key] = feed
        return feed

    def known_feed(self, key: bytes) -> int | None:
        """The feed number of ``key``, or None if nothing of it is stored (no row made)."""
        feed = self._feed_ids.get(key)
        if feed is None:
            row = self.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
            if row is None:
                return None
            feed = self._feed_ids[key] = int(row[0])
        return feed

    def feed_limits(self, key: bytes) -> tuple[int, int, int | None]:
        """``key``'s (height, max_seq, forked_at), in one statement: what storing its
        entries needs of :meth:`feed_state`. (0, 0, None) for a feed not stored."""
        row = self.conn.execute(
            "SELECT feed, height, max_seq, forked_at FROM feeds WHERE key=?", (key,)
        ).fetchone()
        if row is None:
            return 0, 0, None
        self._feed_ids[key] = int(row[0])
        return int(row[1]), int(row[2]), row[3]

    def feed_state(self, key: bytes) -> FeedState:
        row = self.conn.execute(
            "SELECT feed, height, max_seq, forked_at, name, bio FROM feeds WHERE key=?", (key,)
        ).fetchone()
        if row is None:
            return FeedState(key, 0, 0, None, None, None, None)
        head = self.conn.execute(
            "SELECT id FROM entries WHERE feed=? AND seq=?", (row[0], row[1])
        ).fetchone()
        return FeedState(key, row[1], row[2], row[3], row[4], row[5], head and head[0])

    def feeds(self) -> list[FeedState]:
        keys = [row[0] for row in self.conn.execute("SELECT key FROM feeds ORDER BY feed")]
        return [self.feed_state(key) for key in keys]

    def stored_ids(self, key: bytes, first: int, last: int) -> dict[int, tuple[bytes, int]]:
        """``{seq: (id, offset)}`` of the stored entries of ``key`` with first <= seq <= last."""
        feed = self.known_feed(key)
        if feed is None:
            return {}
        return {
            seq: (entry_id, offset)
            for seq, entry_id, offset in self.conn.execute(
                "SELECT seq, id, offset FROM entries WHERE feed=? AND seq BETWEEN ? AND ?",
                (feed, first, last),
            )
        }

    def run_offsets(self, key: bytes, first: int, last: int) -> list[int]:
        """Log offsets of ``key``'s stored entries first, first + 1, ... up to ``last``,
        ending at the first gap: the rows are walked in seq order and the walk stops
        there, so a batch of a sparse feed reads the rows it sends, not its whole window."""
        row = self.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
        if row is None:
            return []
        offsets: list[int] = []
        cursor = self.conn.execute(
            "SELECT seq, offset FROM entries WHERE feed=? AND seq BETWEEN ? AND ? ORDER BY seq",
            (row[0], first, last),
        )
        try:
            for seq, offset in cursor:
                if seq != first + len(offsets):
                    break
                offsets.append(offset)
        finally:
            cursor.close()
        return offsets

    def follows(self, src: bytes, dst: bytes) -> bool:
        """Whether ``dst`` is one of :meth:`following` of ``src`` (one indexed lookup)."""
        row = self.conn.execute(
            "SELECT 1 FROM follows fo JOIN feeds s ON s.feed = fo.src "
            "JOIN feeds d ON d.feed = fo.dst WHERE s.key=? AND d.key=? AND fo.active=1",
            (src, dst),
        ).fetchone()
        return row is not None

    def following(self, src: bytes) -> list[bytes]:
        return [
            row[0]
            for row in self.conn.execute(
                "SELECT d.key FROM follows fo JOIN feeds s ON s.feed = fo.src "
                "JOIN feeds d ON d.feed = fo.dst WHERE s.key=? AND fo.active=1 ORDER BY d.key",
                (src,),
            )
        ]

    # --- entries -------------------------------------------------------------

    def entry_rows(
        self, where: str, params: Sequence[object], tail: str = "", *tail_params: object
    ) -> list[EntryRow]:
        sql = f"{_ROW_SELECT} WHERE {where} {tail}"
        return self._entry_rows(sql, (*params, *tail_params))

    def _entry_rows(self, sql: str, params: Sequence[object]) -> list[EntryRow]:
        rows = self.conn.execute(sql, params).fetchall()
        return [
            EntryRow(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], bool(r[9]), r[10])
            for r in rows
        ]

    def feed_entries(
        self, key: bytes, limit: int, before_seq: int, visible_until_ms: int
    ) -> list[EntryRow]:
        return self.entry_rows(
            "f.key = ? AND e.seq < ? AND e.claimed_ms <= ?",
            (key, before_seq, visible_until_ms, limit),
            "ORDER BY e.seq DESC LIMIT ?",
        )

    def entries_by_id_prefix(self, prefix: bytes) -> list[EntryRow]:
        """Up to two entries whose ids start with ``prefix`` (:mod:`lndesk.store.idprefix`)."""
        upper = _prefix_upper_bound(prefix)
        candidates, params = idprefix.candidates(prefix, upper)
        # CROSS JOIN: the few candidates first, each entry then by its primary key.
        sql = (
            f"{_ROW_COLUMNS} FROM ({candidates}) m "
            "CROSS JOIN entries e ON e.feed = m.feed AND e.seq = m.seq "
            "JOIN feeds f ON f.feed = e.feed WHERE e.id >= ?"
        )
        params.append(prefix)
        if upper is not None:
            sql += " AND e.id < ?"
            params.append(upper)
        return self._entry_rows(sql + " ORDER BY e.id LIMIT 2", params)

    def count_entries(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0])

    # --- writing -------------------------------------------------------------

    def add_entries(
        self, items: Sequence[IndexItem], *, tombstoned: set[bytes] | None = None
    ) -> list[tuple[int, bytes]]:
        """Index ENTRY records. Call inside a transaction.

        ``tombstoned``, if the caller has looked them up: a set of ids that holds, of the
        ids of ``items``, exactly those a tombstone (stored, or among ``items``) names;
        ids of other entries do not matter. None: look them up here.

        Returns (log offset, entry id) of the records whose payloads a tombstone has now
        deleted; they are also queued in ``purges`` until :meth:`purged` is called.
        """
        if not items:
            return []
        rows: list[EntryValues] = []
        add_row = rows.append
        touched: dict[int, list[int]] = {}
        before: dict[int, tuple[int, int]] = {}  # (height, max_seq) of each feed
        author, feed = b"", 0
        seqs: list[int] = []
        for item in items:
            entry = item.entry
            if entry.author != author:
                author = entry.author
                feed = self.feed_id(author)
                if feed not in touched:
                    touched[feed] = []
                    before[feed] = self.conn.execute(
                        "SELECT height, max_seq FROM feeds WHERE feed=?", (feed,)
                    ).fetchone()
                seqs = touched[feed]
            seq = entry.seq
            seqs.append(seq)
            state = item.payload_state
            add_row(
                (
                    feed,
                    seq,
                    entry.id,
                    entry.claimed_ms,
                    item.received_ms,
                    entry.type,
                    state,
                    item.offset,
                    # A purged payload was deleted or forgotten: so is its entry.
                    int(state == PAYLOAD_PURGED),
                )
            )
        insert_rows(
            self.conn,
            "INSERT OR IGNORE INTO entries(feed, seq, id, claimed_ms, received_ms, type, "
            "payload_state, offset, deleted) VALUES",
            rows,
        )
        idprefix.stage(self.conn, [(feed, min(seqs), max(seqs)) for feed, seqs in touched.items()])
        # Feeds with entries above these stored first: edits or tombstones may name them.
        late = [feed for feed, seqs in touched.items() if before[feed][1] > min(seqs)]
        edited: set[RowKey] = set()
        for feed in late:
            seqs = touched[feed]
            edited.update(
                (feed, seq)
                for (seq,) in self.conn.execute(
                    "SELECT DISTINCT seq FROM edit_claims WHERE feed = ? AND seq BETWEEN ? AND ?",
                    (feed, min(seqs), max(seqs)),
                )
            )
        plain = None if edited else plain_rows(rows, map(_CONTENT, items))
        if plain is not None and not any(
            self._tombstoned_new(feed, rows, tombstoned) for feed in late
        ):
            write_plain(self.conn, plain)  # the common case: posts and nothing else
            purges = []
        else:
            purges = self._derive(items, rows, late, edited, tombstoned)
        for feed, seqs in touched.items():
            self._update_heights(feed, seqs, *before[feed])
        return purges

    def _derive(
        self,
        items: Sequence[IndexItem],
        rows: list[EntryValues],
        late: list[int],
        edited: set[RowKey],
        tombstoned: set[bytes] | None,
    ) -> list[tuple[int, bytes]]:
        """What the new entries ``items`` (their ``entries`` rows stored) change, in full."""
        batch = Derivation(self.conn, self._load_content)
        for item, row in zip(items, rows, strict=True):
            feed = row[0]
            named_later = (feed, item.entry.seq) in edited
            batch.add(feed, item.entry, item.content, self.feed_id, named_later=named_later)
        batch.write_claims()
        earlier: list[RowKey] = []
        for feed in late:
            # Entries above these were stored first: one may be a tombstone naming them.
            earlier += [(feed, seq) for seq in self._tombstoned_new(feed, rows, tombstoned)]
        batch.apply_tombstones(earlier)
        return batch.settle()

    def _tombstoned_new(
        self,
        feed: int,
        rows: list[EntryValues],
        tombstoned: set[bytes] | None,
    ) -> list[int]:
        """The seqs of the new ``entries`` rows of ``feed`` that tombstones name (stored
        ones, and the batch's once its claims are written); ``tombstoned`` as in
        :meth:`add_entries`."""
        if tombstoned is not None and not tombstoned:
            return []  # nothing of the batch is named (a newest-first sync's batch)
        new = {row[2]: row[1] for row in rows if row[0] == feed}
        if tombstoned is None:
            return [new[entry_id] for entry_id in self._tombstoned(feed, list(new))]
        return [seq for entry_id, seq in new.items() if entry_id in tombstoned]

    def _tombstoned(self, feed: int, ids: list[bytes]) -> list[bytes]:
        """Which of these ids tombstones of ``feed`` name (entries can arrive after the
        tombstone that deletes them: newest-first sync).

        Most feeds have no tombstones, or fewer than the ids asked about: their targets
        (migration 11's index) are read and matched here, one short range instead of a
        lookup of each id; only a feed with more tombstones than ids asked about has
        the ids looked up among them."""
        if not ids:
            return []
        targets = self.conn.execute(
            "SELECT target FROM refs WHERE kind = 'tombstone' AND feed = ? LIMIT ?",
            (feed, len(ids) + 1),
        ).fetchall()
        if len(targets) <= len(ids):
            named = {row[0] for row in targets}
            return [entry_id for entry_id in ids if entry_id in named]
        found: list[bytes] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            found.extend(
                row[0]
                for row in self.conn.execute(
                    "SELECT target FROM refs WHERE kind = 'tombstone' "  # noqa: S608
                    f"AND feed = ? AND target IN ({marks})",  # only '?' placeholders
                    (feed, *chunk),
                )
            )
        return found

    def tombstoned_ids(self, key: bytes, ids: Sequence[bytes]) -> set[bytes]:
        """Which of these ids stored tombstones of ``key``'s feed name."""
        row = self.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
        return set() if row is None or not ids else set(self._tombstoned(row[0], list(ids)))

    def pending_purges(self) -> list[tuple[int, bytes]]:
        return [(int(o), bytes(i)) for o, i in self.conn.execute("SELECT offset, id FROM purges")]

    def purged(self, offsets: Sequence[int]) -> None:
        """The payloads of these records are gone from the log: forget the purges."""
        self.begin()
        try:
            self.conn.executemany("DELETE FROM purges WHERE offset = ?", [(o,) for o in offsets])
            self.commit()
        except BaseException:
            self.rollback()
            raise

    def _update_heights(self, feed: int, seqs: list[int], height: int, max_seq: int) -> None:
        """Raise ``feed``'s height and max_seq (read before ``seqs`` were stored: nothing
        in between changes them) for the new entries ``seqs``."""
        low, high = min(seqs), max(seqs)
        if low == height + 1 and high - low + 1 == len(seqs) and max_seq <= high:
            height = max_seq = high  # the common case: a run appended right after the head
        else:
            max_seq = max(max_seq, high)
            # Entry height + 1 is missing (height is as high as it can be, batch after
            # batch); unless these entries begin at or below it, the height stays.
            if low <= height + 1:
                if high - low + 1 == len(set(seqs)):
                    height = max(height, high)  # held from 1 to high at least
                height = self._held_run(feed, height)
        self.conn.execute(
            "UPDATE feeds SET height = ?, max_seq = ? WHERE feed = ?", (height, max_seq, feed)
        )

    def _held_run(self, feed: int, height: int) -> int:
        """The highest seq up to which every entry of ``feed`` is held, 1..height being:
        the end of the run from height + 1, found by SQLite (a newest-first sync's last
        batch closes the gap below every stored entry)."""
        if (
            self.conn.execute(
                "SELECT 1 FROM entries WHERE feed = ? AND seq = ?", (feed, height + 1)
            ).fetchone()
            is None
        ):
            return height
        (end,) = self.conn.execute(
            "SELECT e.seq FROM entries e WHERE e.feed = ? AND e.seq > ? AND NOT EXISTS "
            "(SELECT 1 FROM entries n WHERE n.feed = e.feed AND n.seq = e.seq + 1) "
            "ORDER BY e.seq LIMIT 1",
            (feed, height),
        ).fetchone()
        return int(end)

    def add_fork_proof(self, offset: int, entry: Entry) -> None:
        feed = self.feed_id(entry.author)
        self.conn.execute(
            "INSERT OR IGNORE INTO forks(feed, seq, id, offset) VALUES (?, ?, ?, ?)",
            (feed, entry.seq, entry.id, offset),
        )
        self.conn.execute(
            "UPDATE feeds SET forked_at = MIN(COALESCE(forked_at, ?), ?) WHERE feed = ?",
            (entry.seq, entry.seq, feed),
        )

    def fork_proofs(self, key: bytes) -> list[tuple[int, bytes, int]]:
        return [
            (seq, entry_id, offset)
            for seq, entry_id, offset in self.conn.execute(
                "SELECT fo.seq, fo.id, fo.offset FROM forks fo JOIN feeds f ON f.feed = fo.feed "
                "WHERE f.key = ? ORDER BY fo.seq",
                (key,),
            )
        ]


def _prefix_upper_bound(prefix: bytes) -> bytes | None:
    """The smallest byte string greater than every string starting with ``prefix``."""
    trimmed = prefix.rstrip(b"\xff")
    if not trimmed:
        return None
    return trimmed[:-1] + bytes([trimmed[-1] + 1])
