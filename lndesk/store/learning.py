"""Index queries for learning together: inboxes, current versions, reading lists,
unread counts per author and the tags people use.

Everything here reads tables that :mod:`lndesk.store.derive` keeps; nothing reads a
payload except to load the entries it returns.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from lndesk.entry_refs import PostKey, Ref
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.shown import SHOWN_SQL, feed_id, feed_ids, marks, visible_until

_PAIRS = 200


def within_two_hops(store: StoreReader, own: bytes) -> frozenset[bytes]:
    """Everyone ``own`` follows, and everyone they follow (active follows only);
    never ``own`` itself."""
    me = feed_id(store, own)
    rows = store.index.conn.execute(
        "SELECT f.key FROM feeds f WHERE f.feed != ? AND f.feed IN ("
        "SELECT dst FROM follows WHERE src = ? AND active = 1 UNION SELECT f2.dst "
        "FROM follows f1 JOIN follows f2 ON f2.src = f1.dst AND f2.active = 1 "
        "WHERE f1.src = ? AND f1.active = 1)",
        (me, me, me),
    )
    return frozenset(bytes(row[0]) for row in rows)


def is_within_two_hops(store: StoreReader, own: bytes, key: bytes) -> bool:
    """Whether ``key`` is in :func:`within_two_hops` of ``own``, without building the
    set: a look-up by primary key for a direct follow, else one per feed ``own``
    follows."""
    row = store.index.conn.execute(
        "SELECT me.feed, them.feed FROM feeds me, feeds them WHERE me.key = ? AND them.key = ?",
        (own, key),
    ).fetchone()
    if row is None or row[0] == row[1]:
        return False
    me, them = row
    found = store.index.conn.execute(
        "SELECT 1 FROM follows WHERE src = ? AND dst = ? AND active = 1 UNION ALL "
        "SELECT 1 FROM follows f1 JOIN follows f2 ON f2.src = f1.dst AND f2.dst = ? "
        "AND f2.active = 1 WHERE f1.src = ? AND f1.active = 1 LIMIT 1",
        (me, them, them, me),
    ).fetchone()
    return found is not None


def addressed_to(
    store: StoreReader, key: bytes, *, since_ms: int = 0, limit: int = 500
) -> list[Ref]:
    """References to the stored entries addressed to ``key`` (protocol 10.10):
    replies to it, shares of its entries, mentions of it (edits too), none by ``key``
    and none deleted. Newest first by claimed time, claimed at ``since_ms`` or later;
    future-dated ones included (this answers other nodes, it is not a list to show)."""
    rows = store.index.conn.execute(
        "SELECT f.key, e.seq, e.id FROM addressed a "
        "JOIN entries e ON e.feed = a.feed AND e.seq = a.seq JOIN feeds f ON f.feed = e.feed "
        "WHERE a.key = ? AND e.deleted = 0 AND e.claimed_ms >= ? "
        "ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT ?",
        (key, since_ms, max(limit, 0)),
    )
    return [Ref(bytes(author), int(seq), bytes(entry_id)) for author, seq, entry_id in rows]


def edit_seqs(store: StoreReader, keys: Sequence[PostKey]) -> dict[PostKey, int]:
    """The seq of the current version (latest effective edit) of each (author, seq) given
    that was edited; entries never edited are left out. Reads no payload."""
    unique = list(dict.fromkeys(keys))
    found: dict[PostKey, int] = {}
    for start in range(0, len(unique), _PAIRS):
        chunk = unique[start : start + _PAIRS]
        pairs = ", ".join("(?, ?)" for _ in chunk)
        rows = store.index.conn.execute(
            "SELECT f.key, ed.seq, ed.edit_seq FROM edits ed JOIN feeds f ON f.feed = ed.feed "  # noqa: S608 - only '?'
            f"WHERE (f.key, ed.seq) IN (VALUES {pairs})",
            [value for pair in chunk for value in pair],
        ).fetchall()
        for author, seq, edit_seq in rows:
            found[bytes(author), int(seq)] = int(edit_seq)
    return found


def current_versions(
    store: StoreReader, entries: Sequence[StoredEntry]
) -> dict[PostKey, StoredEntry]:
    """The current version (latest effective edit, protocol 10.8) of each given post or
    reply that has one, by (author, seq); entries never edited are left out."""
    keys = [(item.entry.author, item.entry.seq) for item in entries]
    found: dict[PostKey, StoredEntry] = {}
    for (author, seq), edit_seq in edit_seqs(store, keys).items():
        edit = store.index.entry_rows("f.key = ? AND e.seq = ?", (author, edit_seq))
        if edit:
            found[author, seq] = store.load(edit[0])
    return found


def reading_lists(
    store: StoreReader, authors: Iterable[bytes], *, limit: int = 500
) -> list[StoredEntry]:
    """The current state (latest version) of every reading list by ``authors``, newest
    first by that version's claimed time."""
    ids = feed_ids(store, authors)
    rows = store.index.entry_rows(
        "(e.feed, e.seq) IN (SELECT feed, latest_seq FROM lists "  # noqa: S608 - only '?'
        f"WHERE feed IN ({marks(len(ids))}))",
        ids,
        "ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT ?",
        limit,
    )
    return [store.load(row) for row in rows]


def reading_list(store: StoreReader, author: bytes, first_seq: int) -> StoredEntry | None:
    """The current state of ``author``'s reading list whose first version is at
    ``first_seq``; None if it is not stored, deleted, or not a list's first version."""
    rows = store.index.entry_rows(
        "(e.feed, e.seq) IN (SELECT l.feed, l.latest_seq FROM lists l "
        "WHERE l.feed = ? AND l.first_seq = ?)",
        (feed_id(store, author), first_seq),
    )
    return store.load(rows[0]) if rows else None


def unread_by_author(
    store: StoreReader,
    keys: Iterable[bytes],
    since_ms: Mapping[bytes, int],
    default_since_ms: int,
    cap: int,
) -> dict[bytes, int]:
    """How many shown entries (posts, replies, shares, lists) each author has claimed
    after their read mark, up to ``cap``. An author's mark is the later of
    ``since_ms[key]`` and ``default_since_ms`` (the overall "all read" mark), as the
    app's unread dot has it. Deleted and future-dated entries are not counted."""
    counts: dict[bytes, int] = {}
    until = visible_until()
    for key in keys:
        feed = feed_id(store, key)
        mark = max(since_ms.get(key, default_since_ms), default_since_ms)
        row = store.index.conn.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM entries e WHERE e.feed = ? "  # noqa: S608 - constant
            f"AND e.claimed_ms > ? AND {SHOWN_SQL} LIMIT ?)",
            (feed, mark, until, cap),
        ).fetchone()
        counts[key] = int(row[0])
    return counts


def tag_counts(store: StoreReader, own: bytes, limit: int = 100) -> list[tuple[str, int]]:
    """The tags of the current versions of my posts and replies and those of everyone
    I follow, with how many carry each: most used first, then alphabetical."""
    me = feed_id(store, own)
    rows = store.index.conn.execute(
        "SELECT tag, SUM(n) AS uses FROM tag_totals WHERE feed = ? OR feed IN ("
        "SELECT dst FROM follows WHERE src = ? AND active = 1) "
        "GROUP BY tag HAVING uses > 0 ORDER BY uses DESC, tag LIMIT ?",
        (me, me, max(limit, 0)),
    )
    return [(str(tag), int(uses)) for tag, uses in rows]
