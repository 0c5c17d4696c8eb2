"""What a batch of entries changes in the index beyond the entries themselves.

Payload-derived state: references, inboxes (``addressed``), follows and profiles, tags,
edits (an entry's current version), reading lists and the full-text documents, and what
tombstones delete. Entries arrive in any order (an edit or a tombstone may come before
the entry it names), so a batch first records every claim, then applies tombstones, then
recomputes each post and each reading list it may have changed, from the claims stored
so far. The result does not depend on the order entries arrived in, which keeps an index
built entry by entry equal to one rebuilt from the log.

Most batches are plain posts that nothing stored names: :func:`plain_rows` and
:func:`write_plain` add their tags and stage their text without that bookkeeping (the
same rows a ``Derivation`` would write, at a fraction of the cost).

**Deletion.** An entry a tombstone deletes loses its payload (protocol 10.6, 14.4): its
derived rows go, and its log record is queued for purging. So do the edits of a deleted
post and the updates of a deleted reading list (10.8, 10.9), though the tombstone does
not name them. Tombstones themselves keep their payload (a tombstone of a tombstone
hides it but does not undo it), and so do reveals (what was revealed was read, 10.13);
a deleted follow, unfollow or profile stops counting: the state falls back to the
author's latest one left. An entry forgotten (:mod:`lndesk.store.forget`) is deleted
the same way, its edits with it. Whatever the reason, an entry whose payload is purged
is deleted (``entries.deleted``), so a rebuild from the log, where only the PURGED
record says so, reads it as deleted too.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lndesk.content import (
    READING_LIST,
    REVEAL,
    TOMBSTONE,
    Content,
    Edit,
    Follow,
    Helpful,
    Post,
    Profile,
    ReadingList,
    Reply,
    Reveal,
    Share,
    Tombstone,
    Unfollow,
)
from lndesk.entry import Entry
from lndesk.pseudonyms import reveal_holds
from lndesk.store.asked import add_questions, asks, mark_question, unmark_question
from lndesk.store.bulk import insert_rows
from lndesk.store.fulltext import MAX_TIME_MS, FullText, Staged, has_document, payload_loader
from lndesk.store.rules import (
    ORIGINAL_TYPES,
    PAYLOAD_ABSENT,
    PAYLOAD_PURGED,
    ContentLoader,
    Row,
    RowKey,
    addressed_kinds,
    entry_row,
    index_tags,
    normal_tags,
    refollow,
    reprofile,
)

EntryValues = tuple[int, int, bytes, int, int, str, int, int, int]
"""An ``entries`` row as a batch inserts it: (feed, seq, id, claimed_ms, received_ms,
type, payload_state, offset, deleted)."""
PlainRows = tuple[
    list[tuple[str, int, int]], list[tuple[int, int, int]], list[tuple[int, int, int]]
]
"""What a batch of plain posts adds: ``tags``, ``search_pending`` and ``questions`` rows."""


def plain_rows(rows: Iterable[EntryValues], contents: Iterable[Content | None]) -> PlainRows | None:
    """The common batch, cheaply: the rows its entries add, if each one is a post without
    mentions or has no usable payload; None for any other batch (a ``Derivation`` then).
    ``rows`` are the entries' ``entries`` rows, ``contents`` their contents, in order
    (read from the rows inserted already: no tuple of its own per entry).

    Such a batch claims nothing and deletes nothing, so unless the index holds an edit
    or a tombstone naming one of its entries (stored before it: the caller checks),
    all it adds is each post's tags, its staged text and, for a question, its row of
    ``questions``, exactly as ``Derivation`` would.
    """
    tags: list[tuple[str, int, int]] = []
    staged: list[tuple[int, int, int]] = []
    asked: list[tuple[int, int, int]] = []
    add_tag, stage = tags.append, staged.append
    for row, content in zip(rows, contents, strict=True):
        if type(content) is not Post:
            if content is None:
                continue
            return None
        if content.mentions:
            return None
        feed, seq, _, claimed_ms = row[:4]
        if content.tags:  # a tuple, as parsed
            for tag in normal_tags(content.tags):
                add_tag((tag, feed, seq))
        if 0 <= claimed_ms <= MAX_TIME_MS:  # as FullText.add
            stage((feed, seq, seq))
        if content.question:  # what asks() says of a post, without its isinstance
            asked.append((feed, seq, claimed_ms))
    return tags, staged, asked


def write_plain(conn: sqlite3.Connection, rows: PlainRows) -> None:
    """Write what :func:`plain_rows` found. Call inside the index transaction."""
    tags, staged, asked = rows
    add_tags(conn, tags)
    FullText(conn).stage(staged)
    add_questions(conn, asked)


def add_tags(conn: sqlite3.Connection, rows: list[tuple[str, int, int]]) -> None:
    """Add ``tags`` rows (tag, feed, seq) that are not there yet, and count them in
    ``tag_totals`` (one upsert per feed and tag)."""
    if not rows:
        return
    insert_rows(conn, "INSERT OR IGNORE INTO tags(tag, feed, seq) VALUES", rows)
    counts = Counter([(feed, tag) for tag, feed, _ in rows])
    conn.executemany(
        "INSERT INTO tag_totals(feed, tag, n) VALUES (?, ?, ?) "
        "ON CONFLICT(feed, tag) DO UPDATE SET n = n + excluded.n",
        [(feed, tag, n) for (feed, tag), n in counts.items()],
    )


@dataclass(slots=True)
class Derivation:
    """The derived writes of one batch of entries. Call inside the index transaction."""

    conn: sqlite3.Connection
    load: ContentLoader
    contents: dict[RowKey, Content] = field(default_factory=dict)
    new: set[RowKey] = field(default_factory=set)
    fresh: list[tuple[RowKey, int, str]] = field(default_factory=list)
    dirty_posts: set[RowKey] = field(default_factory=set)
    dirty_lists: set[RowKey] = field(default_factory=set)
    tombstones: list[tuple[int, int, bytes]] = field(default_factory=list)
    deleted: set[RowKey] = field(default_factory=set)
    purge: dict[RowKey, tuple[int, bytes]] = field(default_factory=dict)
    refs: list[tuple[bytes, str, int, int]] = field(default_factory=list)
    addressed: list[tuple[bytes, int, int, str]] = field(default_factory=list)
    claims: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    versions: list[tuple[int, int, int, bytes]] = field(default_factory=list)
    reveals: list[tuple[bytes, int, int]] = field(default_factory=list)
    text: FullText = field(init=False)

    def __post_init__(self) -> None:
        self.text = FullText(self.conn, payload_loader(self.load))

    # --- recording what the batch claims --------------------------------------------

    def add(
        self,
        feed: int,
        entry: Entry,
        content: Content | None,
        feed_id: Callable[[bytes], int],
        *,
        named_later: bool,
    ) -> None:
        """Record one new entry. ``named_later``: edits of it were stored before it."""
        row_key = (feed, entry.seq)
        self.new.add(row_key)
        if content is None:
            return
        self.contents[row_key] = content
        if type(content) is Post and not content.mentions:  # most entries: be quick
            self.fresh.append((row_key, entry.claimed_ms, entry.type))
            if named_later:
                self.dirty_posts.add(row_key)
            return
        for addressee, kind in addressed_kinds(content, entry.author).items():
            self.addressed.append((addressee, feed, entry.seq, kind))
        own = entry.author
        match content:
            case Post() | Reply():
                if isinstance(content, Reply):
                    self.refs.append((content.root.id, "root", feed, entry.seq))
                    self.refs.append((content.parent.id, "parent", feed, entry.seq))
                self.fresh.append((row_key, entry.claimed_ms, entry.type))
                if named_later:
                    self.dirty_posts.add(row_key)
            case Share(ref=ref):
                self.refs.append((ref.id, "share", feed, entry.seq))
                self.fresh.append((row_key, entry.claimed_ms, entry.type))
            case Helpful(ref=answer, root=root) if root.author == own:
                # Only the asker's mark counts; a tombstone of it takes it back (_drop).
                self.refs.append((answer.id, "helpful", feed, entry.seq))
                self.refs.append((root.id, "helped", feed, entry.seq))
            case Edit(ref=ref) if ref.author == own and ref.seq < entry.seq:
                self.claims.append((feed, entry.seq, ref.seq, ref.id))
                self.dirty_posts.add((feed, ref.seq))
            case ReadingList(of=None):
                self.versions.append((feed, entry.seq, entry.seq, entry.id))
                self.dirty_lists.add(row_key)
            case ReadingList(of=of) if of is not None and of.author == own and of.seq < entry.seq:
                self.versions.append((feed, entry.seq, of.seq, of.id))
                self.dirty_lists.add((feed, of.seq))
            case Tombstone(ref=ref) if ref.author == own and ref.seq < entry.seq:
                self.refs.append((ref.id, "tombstone", feed, entry.seq))
                self.tombstones.append((feed, ref.seq, ref.id))
                # What it names may be an edit's or a list update's original, stored or not.
                self.dirty_posts.add((feed, ref.seq))
                self.dirty_lists.add((feed, ref.seq))
            case Follow(feed=dst) | Unfollow(feed=dst):
                self.conn.execute(
                    "INSERT INTO follows(src, dst, seq, active) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(src, dst) DO UPDATE SET seq = excluded.seq, "
                    "active = excluded.active WHERE excluded.seq > follows.seq",
                    (feed, feed_id(dst), entry.seq, int(isinstance(content, Follow))),
                )
            case Reveal(key=key, proof=proof) if reveal_holds(own, key, proof):
                # Only a reveal whose proof verifies is kept; a tombstone does not undo it.
                self.reveals.append((key, feed, entry.seq))
            case Profile(name=name, bio=bio):
                self.conn.execute(
                    "UPDATE feeds SET name = ?, bio = ?, profile_seq = ? "
                    "WHERE feed = ? AND profile_seq < ?",
                    (name, bio, entry.seq, feed, entry.seq),
                )
            case _:
                pass

    def write_claims(self) -> None:
        statements: tuple[tuple[str, Sequence[tuple[object, ...]]], ...] = (
            ("INSERT OR IGNORE INTO refs VALUES", self.refs),
            ("INSERT OR IGNORE INTO addressed VALUES", self.addressed),
            ("INSERT OR IGNORE INTO edit_claims VALUES", self.claims),
            ("INSERT OR IGNORE INTO list_versions VALUES", self.versions),
            ("INSERT OR IGNORE INTO reveals VALUES", self.reveals),
        )
        for sql, rows in statements:
            insert_rows(self.conn, sql, rows)

    # --- tombstones -------------------------------------------------------------------

    def apply_tombstones(self, earlier: Iterable[RowKey]) -> None:
        """Delete what this batch's tombstones name, and ``earlier``: new entries that
        tombstones stored before name."""
        targets = [(feed, seq, entry_id) for feed, seq, entry_id in self.tombstones]
        for feed, seq in earlier:
            row = self._row(feed, seq)
            if row is not None:
                targets.append((feed, seq, row.id))
        for feed, seq, entry_id in targets:
            row = self._row(feed, seq)
            if row is None or row.id != entry_id or row.deleted:
                continue
            row_key = (feed, seq)
            self.conn.execute("UPDATE entries SET deleted = 1 WHERE feed = ? AND seq = ?", row_key)
            self.deleted.add(row_key)
            self._drop(row_key, row)

    def forget(self, row_key: RowKey, row: Row) -> None:
        """Drop a stored entry as if its author had deleted it: hidden, its payload and
        what that added gone, its record queued for purging (an expired inbox request,
        :mod:`lndesk.store.forget`)."""
        if row.deleted:
            return
        self.conn.execute("UPDATE entries SET deleted = 1 WHERE feed = ? AND seq = ?", row_key)
        self.deleted.add(row_key)
        self._drop(row_key, row)

    def _drop(self, row_key: RowKey, row: Row) -> None:
        """Remove what ``row``'s payload added to the index, and queue its purge."""
        feed, seq = row_key
        if row.type in (TOMBSTONE, REVEAL):
            return  # a tombstone keeps its payload and its effect; so does a reveal (10.13)
        content = self.content_of(feed, row)
        if content is not None:
            for addressee in addressed_kinds(content, b""):
                self.conn.execute(
                    "DELETE FROM addressed WHERE key = ? AND feed = ? AND seq = ?",
                    (addressee, feed, seq),
                )
        match content:
            case Reply(root=root, parent=parent):
                for target, kind in ((root.id, "root"), (parent.id, "parent")):
                    self._delete_ref(target, kind, row_key)
            case Share(ref=ref):
                self._delete_ref(ref.id, "share", row_key)
                self.text.remove(feed, seq, row.claimed_ms)
            case Helpful(ref=answer, root=root):
                self._delete_ref(answer.id, "helpful", row_key)
                self._delete_ref(root.id, "helped", row_key)
            case Edit(ref=ref):
                self.conn.execute(
                    "DELETE FROM edit_claims WHERE feed = ? AND edit_seq = ?", (feed, seq)
                )
                self.dirty_posts.add((feed, ref.seq))
            case ReadingList(of=of):
                self.conn.execute(
                    "DELETE FROM list_versions WHERE feed = ? AND seq = ?", (feed, seq)
                )
                self.dirty_lists.add((feed, of.seq if of is not None else seq))
            case Follow(feed=dst) | Unfollow(feed=dst):
                refollow(self.conn, feed, seq, dst, lambda r: self.content_of(feed, r))
            case Profile():
                reprofile(self.conn, feed, seq, lambda r: self.content_of(feed, r))
            case _:
                pass
        if row.type in ORIGINAL_TYPES:
            self.dirty_posts.add(row_key)
        if row.payload_state != PAYLOAD_PURGED:
            # An entry whose payload is purged is deleted (so a rebuild reads it, 14.4).
            self.conn.execute(
                "UPDATE entries SET payload_state = ?, deleted = 1 WHERE feed = ? AND seq = ?",
                (PAYLOAD_PURGED, feed, seq),
            )
            if row.payload_state != PAYLOAD_ABSENT:
                self.purge[row_key] = (row.offset, row.id)

    def _delete_ref(self, target: bytes, kind: str, row_key: RowKey) -> None:
        self.conn.execute(
            "DELETE FROM refs WHERE target = ? AND kind = ? AND feed = ? AND seq = ?",
            (target, kind, *row_key),
        )

    # --- current versions -------------------------------------------------------------

    def settle(self) -> list[tuple[int, bytes]]:
        """Recompute what changed, index the new posts' text; return the purges."""
        for row_key in sorted(self.dirty_posts):
            self._settle_post(row_key)
        for row_key in sorted(self.dirty_lists):
            self._settle_list(row_key)
        documents = []
        tags: list[tuple[str, int, int]] = []
        asked: list[tuple[int, int, int]] = []
        for row_key, claimed_ms, type_ in self.fresh:
            if row_key in self.purge or (type_ in ORIGINAL_TYPES and row_key in self.dirty_posts):
                continue  # deleted, or settled above
            content = self.contents[row_key]
            tags += [(tag, *row_key) for tag in index_tags(content)]
            if type_ == "post" and asks(content):  # an edit asks through the post it names
                asked.append((*row_key, claimed_ms))
            if type(content) is Post or has_document(content):
                documents.append(Staged(*row_key, claimed_ms, row_key[1]))
        self._add_tags(tags)
        add_questions(self.conn, asked)
        self.text.add(documents)
        if self.purge:
            self.conn.executemany(
                "INSERT OR REPLACE INTO purges(offset, id) VALUES (?, ?)", self.purge.values()
            )
        return list(self.purge.values())

    def _settle_post(self, row_key: RowKey) -> None:
        """Bring the current version of the post or reply at ``row_key`` up to date: its
        edit, tags, text and whether it asks."""
        feed, seq = row_key
        unmark_question(self.conn, feed, seq)
        self._drop_dead_claims(
            "SELECT edit_seq, ref_id FROM edit_claims WHERE feed = ? AND seq = ?", row_key
        )
        row = self._row(feed, seq)
        old = self.conn.execute(
            "SELECT edit_seq FROM edits WHERE feed = ? AND seq = ?", row_key
        ).fetchone()
        was_live = (
            row is not None
            and row_key not in self.new
            and row.type in ORIGINAL_TYPES
            and (not row.deleted or row_key in self.deleted)
        )
        if was_live and row is not None:
            before = self._version(feed, old[0]) if old else row
            self._remove_tags(index_tags(self.content_of(feed, before)), row_key)
            self.text.remove(feed, seq, row.claimed_ms)
        if row is None or row.deleted or row.type not in ORIGINAL_TYPES:
            self.conn.execute("DELETE FROM edits WHERE feed = ? AND seq = ?", row_key)
            return
        latest = self.conn.execute(
            "SELECT MAX(edit_seq) FROM edit_claims WHERE feed = ? AND seq = ? AND ref_id = ?",
            (feed, seq, row.id),
        ).fetchone()[0]
        if latest is None:
            self.conn.execute("DELETE FROM edits WHERE feed = ? AND seq = ?", row_key)
            current = self.content_of(feed, row)
        else:
            self.conn.execute(
                "INSERT OR REPLACE INTO edits(feed, seq, edit_seq) VALUES (?, ?, ?)",
                (feed, seq, latest),
            )
            current = self.content_of(feed, self._version(feed, latest))
        self._add_tags([(tag, feed, seq) for tag in index_tags(current)])
        if row.type == "post" and asks(current):  # an edit of a reply does not ask
            mark_question(self.conn, feed, seq, row.claimed_ms)
        if has_document(current):  # the text of the current version: the latest edit's
            self.text.add([Staged(feed, seq, row.claimed_ms, seq if latest is None else latest)])

    def _settle_list(self, row_key: RowKey) -> None:
        """Bring the reading list whose first version is at ``row_key`` up to date."""
        feed, first_seq = row_key
        self._drop_dead_claims(
            "SELECT seq, first_id FROM list_versions WHERE feed = ? AND first_seq = ?", row_key
        )
        old = self.conn.execute(
            "SELECT latest_seq FROM lists WHERE feed = ? AND first_seq = ?", row_key
        ).fetchone()
        if old is not None:
            shown = self._row(feed, old[0])
            if shown is not None:
                self.text.remove(feed, shown.seq, shown.claimed_ms)
        first = self._row(feed, first_seq)
        latest = None
        if first is not None and first.type == READING_LIST and not first.deleted:
            latest = self.conn.execute(
                "SELECT MAX(seq) FROM list_versions WHERE feed = ? AND first_seq = ? "
                "AND first_id = ? AND EXISTS (SELECT 1 FROM list_versions WHERE feed = ? "
                "AND seq = ? AND first_seq = ?)",
                (feed, first_seq, first.id, feed, first_seq, first_seq),
            ).fetchone()[0]
        state = self._version(feed, latest) if latest is not None else None
        content = self.content_of(feed, state) if state is not None else None
        if state is None or not isinstance(content, ReadingList):
            self.conn.execute("DELETE FROM lists WHERE feed = ? AND first_seq = ?", row_key)
            return
        self.conn.execute(
            "INSERT OR REPLACE INTO lists(feed, first_seq, latest_seq, title) VALUES (?, ?, ?, ?)",
            (feed, first_seq, state.seq, content.title),
        )
        self.text.add([Staged(feed, state.seq, state.claimed_ms, state.seq)])

    def _drop_dead_claims(self, sql: str, row_key: RowKey) -> None:
        """Edits of a deleted or forgotten post and updates of a deleted list go with it
        (their claimed original is named by a tombstone of the feed, stored or not, or
        is stored deleted: forgotten, :mod:`lndesk.store.forget`)."""
        feed, first_seq = row_key
        for seq, ref_id in self.conn.execute(sql, row_key).fetchall():
            dead = self.conn.execute(
                "SELECT 1 FROM refs WHERE target = ? AND kind = 'tombstone' AND feed = ? "
                "UNION ALL SELECT 1 FROM entries WHERE feed = ? AND seq = ? AND id = ? "
                "AND deleted = 1",
                (ref_id, feed, feed, first_seq, ref_id),
            ).fetchone()
            row = self._row(feed, seq) if dead else None
            if row is not None:
                self._drop((feed, seq), row)

    # --- helpers ----------------------------------------------------------------------

    def content_of(self, feed: int, row: Row) -> Content | None:
        """The content of ``row``'s payload: from this batch, or read from the log (which
        still holds the payloads this batch deletes: purging comes after the commit)."""
        row_key = (feed, row.seq)
        if row_key in self.contents:
            return self.contents[row_key]
        if row.payload_state in (PAYLOAD_ABSENT, PAYLOAD_PURGED) and row_key not in self.purge:
            return None
        content = self.load(row.offset)
        if content is not None:
            self.contents[row_key] = content
        return content

    def _row(self, feed: int, seq: int) -> Row | None:
        return entry_row(self.conn, feed, seq)

    def _version(self, feed: int, seq: int) -> Row:
        row = self._row(feed, seq)
        assert row is not None, "a claim names a stored entry"
        return row

    def _add_tags(self, rows: list[tuple[str, int, int]]) -> None:
        add_tags(self.conn, rows)

    def _remove_tags(self, tags: list[str], row_key: RowKey) -> None:
        feed, seq = row_key
        for tag in tags:
            gone = self.conn.execute(
                "DELETE FROM tags WHERE tag = ? AND feed = ? AND seq = ?", (tag, feed, seq)
            ).rowcount
            if gone:
                self.conn.execute(
                    "UPDATE tag_totals SET n = n - 1 WHERE feed = ? AND tag = ?", (feed, tag)
                )
        self.conn.execute("DELETE FROM tag_totals WHERE feed = ? AND n <= 0", (feed,))
