"""Index queries behind the app's lists: timeline, my posts, replies to me, threads.

Every list is ordered newest first by the timeline cursor ``(claimed_ms, feed, seq)``
(threads oldest first) and read in pages, so a view over a million entries only ever
asks for what it shows. :func:`window` answers "what is in this list between the
newest entry and this cursor now", which is how a view learns of entries that arrived
anywhere inside what it already shows (newest-first sync fills in older entries too).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lndesk.store import store as store_module
from lndesk.store.index import EntryRow
from lndesk.store.ingest import FUTURE_HOLD_MS
from lndesk.store.store import Store, StoredEntry

Cursor = tuple[int, int, int]
NEWEST: Cursor = (2**63 - 1, 0, 0)
OLDEST: Cursor = (-(2**63), -1, -1)
SHOWN_TYPES = ("post", "reply", "share")
TIMELINE = "timeline"
MINE = "mine"
REPLIES = "replies"
KINDS = (TIMELINE, MINE, REPLIES)


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which entries a list shows; ``hidden`` are feeds the user muted."""

    kind: str
    own: bytes
    hidden: frozenset[bytes] = frozenset()


def _visible_until() -> int:
    """Entries claimed later than this are held back (read through the store module, so
    every list and the store agree on "now")."""
    return store_module.now_ms() + FUTURE_HOLD_MS


def _feed_ids(store: Store, keys: Iterable[bytes]) -> list[int]:
    ids = []
    for key in keys:
        row = store.index.conn.execute("SELECT feed FROM feeds WHERE key=?", (key,)).fetchone()
        if row is not None:
            ids.append(int(row[0]))
    return ids


def _where(store: Store, query: ListQuery) -> tuple[str, list[object]]:
    own_id = next(iter(_feed_ids(store, [query.own])), -1)
    types = ", ".join(f"'{t}'" for t in SHOWN_TYPES)
    where = f"e.deleted = 0 AND e.type IN ({types}) AND e.claimed_ms <= ?"
    params: list[object] = [_visible_until()]
    hidden = _feed_ids(store, query.hidden)
    if hidden:
        # The unary + keeps SQLite walking entries_by_time instead of the primary key.
        where += f" AND +e.feed NOT IN ({', '.join('?' * len(hidden))})"
        params += hidden
    if query.kind == TIMELINE:
        # The unary + keeps SQLite from answering the feed test through the primary key
        # (reading every followed entry, then sorting); it walks entries_by_time instead.
        where += (
            " AND (+e.feed = ? OR +e.feed IN "
            "(SELECT dst FROM follows WHERE src = ? AND active = 1))"
        )
        params += [own_id, own_id]
    elif query.kind == MINE:
        where += " AND e.feed = ?"
        params.append(own_id)
    elif query.kind == REPLIES:
        # Replies to and shares of my entries, by others.
        where += (
            " AND e.feed != ? AND (e.feed, e.seq) IN (SELECT r.feed, r.seq FROM entries m "
            "JOIN refs r ON r.target = m.id WHERE m.feed = ? AND r.kind IN ('parent', 'share'))"
        )
        params += [own_id, own_id]
    else:
        raise ValueError(f"unknown list kind {query.kind!r}")
    return where, params


def page(store: Store, query: ListQuery, older_than: Cursor, limit: int) -> list[StoredEntry]:
    """Up to ``limit`` entries of the list strictly older than ``older_than``."""
    where, params = _where(store, query)
    rows = store.index.entry_rows(
        f"(e.claimed_ms, e.feed, e.seq) < (?, ?, ?) AND {where}",
        (*older_than, *params),
        "ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT ?",
        limit,
    )
    return [store.load(row) for row in rows]


def window(store: Store, query: ListQuery, down_to: Cursor, limit: int) -> list[EntryRow]:
    """Index rows of the list from the newest down to ``down_to`` (inclusive), newest first."""
    where, params = _where(store, query)
    return store.index.entry_rows(
        f"(e.claimed_ms, e.feed, e.seq) >= (?, ?, ?) AND {where}",
        (*down_to, *params),
        "ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT ?",
        limit,
    )


def count_newer(store: Store, query: ListQuery, than_ms: int, cap: int, exclude: bytes) -> int:
    """How many entries of the list (not by ``exclude``) are newer than ``than_ms``, up to cap."""
    where, params = _where(store, query)
    skip = _feed_ids(store, [exclude])
    sql = (
        "SELECT COUNT(*) FROM (SELECT 1 FROM entries e WHERE e.claimed_ms > ? AND "  # noqa: S608 - only placeholders are interpolated
        f"+e.feed != ? AND {where} LIMIT ?)"
    )
    row = store.index.conn.execute(sql, (than_ms, skip[0] if skip else -1, *params, cap))
    return int(row.fetchone()[0])


def load_keys(store: Store, keys: Sequence[tuple[bytes, int]]) -> list[StoredEntry]:
    """The stored entries at (author, seq), in the order given; missing ones left out."""
    found = []
    for key, seq in keys:
        rows = store.index.entry_rows("f.key = ? AND e.seq = ?", (key, seq))
        if rows:
            found.append(store.load(rows[0]))
    return found


def load_rows(store: Store, rows: Sequence[EntryRow]) -> list[StoredEntry]:
    return [store.load(row) for row in rows]


def thread(store: Store, root: tuple[bytes, int], root_id: bytes, limit: int) -> list[StoredEntry]:
    """A thread's root (if stored) and every stored reply under it, oldest first."""
    found = [e for e in load_keys(store, [root]) if e.entry.id == root_id]
    rows = store.index.entry_rows(
        "(e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE target = ? AND kind = 'root') "
        "AND e.deleted = 0 AND e.claimed_ms <= ?",
        (root_id, _visible_until()),
        "ORDER BY e.claimed_ms, e.feed, e.seq LIMIT ?",
        limit,
    )
    return found + [store.load(row) for row in rows]


def reply_count(store: Store, entry_id: bytes) -> int:
    row = store.index.conn.execute(
        "SELECT COUNT(*) FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "WHERE r.target = ? AND r.kind = 'parent' AND e.deleted = 0",
        (entry_id,),
    ).fetchone()
    return int(row[0])


def last_post_ms(store: Store, key: bytes) -> int | None:
    """When the newest stored post (post, reply, share) of ``key`` claims to be from."""
    types = ", ".join(f"'{t}'" for t in SHOWN_TYPES)
    row = store.index.conn.execute(
        "SELECT e.claimed_ms FROM entries e JOIN feeds f ON f.feed = e.feed "  # noqa: S608 - constants
        f"WHERE f.key = ? AND e.type IN ({types}) AND e.deleted = 0 "
        "ORDER BY e.seq DESC LIMIT 1",
        (key,),
    ).fetchone()
    return None if row is None else int(row[0])


def profile_seq(store: Store, key: bytes) -> int:
    """The seq of the entry that set ``key``'s current profile (0: none stored)."""
    row = store.index.conn.execute("SELECT profile_seq FROM feeds WHERE key = ?", (key,)).fetchone()
    return 0 if row is None or not row[0] else int(row[0])


def profile_entry(store: Store, key: bytes) -> StoredEntry | None:
    """The entry that set ``key``'s current profile (name, bio, avatar), if stored."""
    seq = profile_seq(store, key)
    found = load_keys(store, [(key, seq)]) if seq else []
    return found[0] if found else None
