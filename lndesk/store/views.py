"""Index queries behind the app's lists: timeline, my posts, my inbox (replies, shares
and mentions from people within two follow hops or accepted, and answers to my
questions; requests from everyone else), a tag, an author, threads. What a list shows
is :mod:`lndesk.store.shown`; the learning queries (current versions, reading lists,
unread counts, tag counts, inbox catch-up) live in :mod:`lndesk.store.learning` and are
re-exported here.

Every list is ordered newest first by the timeline cursor ``(claimed_ms, feed, seq)``
(threads oldest first) and read in pages, so a view over a million entries only ever
asks for what it shows. :func:`window` answers "what is in this list between the
newest entry and this cursor now", which is how a view learns of entries that arrived
anywhere inside what it already shows (newest-first sync fills in older entries too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lndesk.content_fields import normalize_tag
from lndesk.entry_refs import PostKey
from lndesk.errors import ContentError
from lndesk.store.index import EntryRow
from lndesk.store.learning import (
    addressed_to,
    current_versions,
    edit_seqs,
    reading_list,
    reading_lists,
    tag_counts,
    unread_by_author,
    within_two_hops,
)
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.shown import SHOWN_SQL, SHOWN_TYPES, feed_id, feed_ids, marks, visible_until
from lndesk.store.threads import ANSWERS_SQL

__all__ = [
    "AUTHOR",
    "KINDS",
    "MINE",
    "NEWEST",
    "OLDEST",
    "REPLIES",
    "REQUESTS",
    "SHOWN_TYPES",
    "TAG",
    "TIMELINE",
    "Cursor",
    "ListQuery",
    "addressed_to",
    "count_newer",
    "current_versions",
    "edit_seqs",
    "last_post_ms",
    "load_keys",
    "load_rows",
    "page",
    "profile_entry",
    "profile_seq",
    "reading_list",
    "reading_lists",
    "reply_count",
    "tag_counts",
    "thread",
    "unread_by_author",
    "window",
    "within_two_hops",
]

Cursor = tuple[int, int, int]
NEWEST: Cursor = (2**63 - 1, 0, 0)
OLDEST: Cursor = (-(2**63), -1, -1)
TIMELINE = "timeline"
MINE = "mine"
REPLIES = "replies"
REQUESTS = "requests"
TAG = "tag"
AUTHOR = "author"
KINDS = (TIMELINE, MINE, REPLIES, REQUESTS, TAG, AUTHOR)

_ADDRESSED = (
    # Entries addressed to a key, and posts whose effective edits address it. Two INs, not
    # one of a UNION: SQLite then looks the entries up by key instead of scanning them.
    "((e.feed, e.seq) IN (SELECT a.feed, a.seq FROM addressed a WHERE a.key = ?) "
    "OR (e.feed, e.seq) IN (SELECT c.feed, c.seq FROM addressed a "
    "JOIN edit_claims c ON c.feed = a.feed AND c.edit_seq = a.seq "
    "JOIN entries o ON o.feed = c.feed AND o.seq = c.seq AND o.id = c.ref_id WHERE a.key = ?))"
)
_TWO_HOPS = (
    "SELECT dst FROM follows WHERE src = ? AND active = 1 UNION SELECT f2.dst FROM follows f1 "
    "JOIN follows f2 ON f2.src = f1.dst AND f2.active = 1 WHERE f1.src = ? AND f1.active = 1"
)
_FOLLOWED = "SELECT dst FROM follows WHERE src = ? AND active = 1"


@dataclass(frozen=True, slots=True)
class ListQuery:
    """Which entries a list shows.

    ``hidden`` are feeds the user muted or blocked: no list shows them. ``accepted``
    are people whose replies and mentions show in REPLIES though they are not within
    two follow hops. ``tag`` is the TAG list's tag, ``author`` the AUTHOR list's key.
    """

    kind: str
    own: bytes
    hidden: frozenset[bytes] = frozenset()
    accepted: frozenset[bytes] = frozenset()
    tag: str = ""
    author: bytes = b""
    pseudonyms: frozenset[bytes] = frozenset()
    """The owner's pseudonyms: REPLIES and REQUESTS list what addresses them too."""


def _where(store: StoreReader, query: ListQuery) -> tuple[str, list[object]]:
    own_id = feed_id(store, query.own)
    where = SHOWN_SQL
    params: list[object] = [visible_until()]
    hidden = feed_ids(store, query.hidden)
    if hidden:
        # The unary + keeps SQLite walking entries_by_time instead of the primary key.
        where += f" AND +e.feed NOT IN ({marks(len(hidden))})"
        params += hidden
    if query.kind == TIMELINE:
        # The unary + keeps SQLite from answering the feed test through the primary key
        # (reading every followed entry, then sorting); it walks entries_by_time instead.
        where += f" AND (+e.feed = ? OR +e.feed IN ({_FOLLOWED}))"
        params += [own_id, own_id]
    elif query.kind == MINE:
        where += " AND e.feed = ?"
        params.append(own_id)
    elif query.kind in (REPLIES, REQUESTS):
        # Replies to me, shares of my entries and mentions of me, by others: by people
        # within two follow hops or accepted, or answers in the thread of one of my
        # questions (REPLIES), or by anyone else (REQUESTS). docs/protocol.md 32.5.
        # The owner's pseudonyms have inboxes here too, by the same rule (the owner's
        # circle, their own questions); nothing any of them wrote is in these lists.
        accepted = feed_ids(store, query.accepted)
        mine = [query.own, *sorted(query.pseudonyms - {query.own})]
        mine_ids = [own_id, *feed_ids(store, mine[1:])]
        ors: list[str] = []
        ors_params: list[object] = []
        for key in mine:
            if query.kind == REPLIES:
                known = (
                    f"(+e.feed IN ({_TWO_HOPS}) OR +e.feed IN ({marks(len(accepted))}) "
                    f"OR {ANSWERS_SQL})"
                )
            else:
                known = (
                    f"+e.feed NOT IN ({_TWO_HOPS}) AND +e.feed NOT IN ({marks(len(accepted))}) "
                    f"AND NOT {ANSWERS_SQL}"
                )
            ors.append(f"({_ADDRESSED} AND {known})")
            ors_params += [key, key, own_id, own_id, *accepted, feed_id(store, key)]
        where += f" AND e.feed NOT IN ({marks(len(mine_ids))}) AND ({' OR '.join(ors)})"
        params += [*mine_ids, *ors_params]
    elif query.kind == TAG:
        # Entries whose current version carries the tag, by me or people I follow.
        where += (
            " AND (e.feed, e.seq) IN (SELECT feed, seq FROM tags WHERE tag = ?) "  # noqa: S608
            f"AND (+e.feed = ? OR +e.feed IN ({_FOLLOWED}))"  # a constant subquery
        )
        params += [index_tag(query.tag), own_id, own_id]
    elif query.kind == AUTHOR:
        where += " AND e.feed = ?"
        params.append(feed_id(store, query.author))
    else:
        raise ValueError(f"unknown list kind {query.kind!r}")
    return where, params


def _time(query: ListQuery) -> str:
    """The claimed-time column as the list's time test names it. Inboxes and tag lists
    are a few entries among many: ``+`` stops SQLite from walking every entry in time
    order to find them, so it reads them through their own tables, then sorts them."""
    return "+e.claimed_ms" if query.kind in (REPLIES, REQUESTS, TAG) else "e.claimed_ms"


def index_tag(tag: str) -> str:
    """A tag as the index holds it (normal form, or as typed if it has none)."""
    try:
        return normalize_tag(tag)
    except ContentError:
        return tag


def page(store: StoreReader, query: ListQuery, older_than: Cursor, limit: int) -> list[StoredEntry]:
    """Up to ``limit`` entries of the list strictly older than ``older_than``."""
    where, params = _where(store, query)
    rows = store.index.entry_rows(
        f"({_time(query)}, e.feed, e.seq) < (?, ?, ?) AND {where}",
        (*older_than, *params),
        f"ORDER BY {_time(query)} DESC, e.feed DESC, e.seq DESC LIMIT ?",
        limit,
    )
    return store.load_listed(rows)


def window(store: StoreReader, query: ListQuery, down_to: Cursor, limit: int) -> list[EntryRow]:
    """Index rows of the list from the newest down to ``down_to`` (inclusive), newest first."""
    where, params = _where(store, query)
    return store.index.entry_rows(
        f"({_time(query)}, e.feed, e.seq) >= (?, ?, ?) AND {where}",
        (*down_to, *params),
        f"ORDER BY {_time(query)} DESC, e.feed DESC, e.seq DESC LIMIT ?",
        limit,
    )


def count_newer(
    store: StoreReader, query: ListQuery, than_ms: int, cap: int, exclude: bytes
) -> int:
    """How many entries of the list (not by ``exclude``) are newer than ``than_ms``, up to cap."""
    where, params = _where(store, query)
    sql = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM entries e WHERE {_time(query)} > ? AND "  # noqa: S608 - only placeholders are interpolated
        f"+e.feed != ? AND {where} LIMIT ?)"
    )
    row = store.index.conn.execute(sql, (than_ms, feed_id(store, exclude), *params, cap))
    return int(row.fetchone()[0])


def load_keys(store: StoreReader, keys: Sequence[PostKey]) -> list[StoredEntry]:
    """The stored entries at (author, seq), in the order given; missing ones left out."""
    found = []
    for key, seq in keys:
        rows = store.index.entry_rows("f.key = ? AND e.seq = ?", (key, seq))
        found += store.load_listed(rows[:1])
    return found


def load_rows(store: StoreReader, rows: Sequence[EntryRow]) -> list[StoredEntry]:
    return store.load_listed(rows)


def thread(store: StoreReader, root: PostKey, root_id: bytes, limit: int) -> list[StoredEntry]:
    """A thread's root (if stored) and every stored reply under it, oldest first."""
    found = [e for e in load_keys(store, [root]) if e.entry.id == root_id]
    rows = store.index.entry_rows(
        "(e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE target = ? AND kind = 'root') "
        "AND e.deleted = 0 AND e.claimed_ms <= ?",
        (root_id, visible_until()),
        "ORDER BY e.claimed_ms, e.feed, e.seq LIMIT ?",
        limit,
    )
    return found + store.load_listed(rows)


def reply_count(store: StoreReader, entry_id: bytes) -> int:
    row = store.index.conn.execute(
        "SELECT COUNT(*) FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "WHERE r.target = ? AND r.kind = 'parent' AND e.deleted = 0",
        (entry_id,),
    ).fetchone()
    return int(row[0])


def last_post_ms(store: StoreReader, key: bytes) -> int | None:
    """When the newest stored post (post, reply, share, reading list) of ``key`` claims
    to be from."""
    types = ", ".join(f"'{t}'" for t in SHOWN_TYPES)
    row = store.index.conn.execute(
        "SELECT e.claimed_ms FROM entries e JOIN feeds f ON f.feed = e.feed "  # noqa: S608 - constants
        f"WHERE f.key = ? AND e.type IN ({types}) AND e.deleted = 0 "
        "ORDER BY e.seq DESC LIMIT 1",
        (key,),
    ).fetchone()
    return None if row is None else int(row[0])


def profile_seq(store: StoreReader, key: bytes) -> int:
    """The seq of the entry that set ``key``'s current profile (0: none stored)."""
    row = store.index.conn.execute("SELECT profile_seq FROM feeds WHERE key = ?", (key,)).fetchone()
    return 0 if row is None or not row[0] else int(row[0])


def profile_entry(store: StoreReader, key: bytes) -> StoredEntry | None:
    """The entry that set ``key``'s current profile (name, bio, avatar), if stored."""
    seq = profile_seq(store, key)
    found = load_keys(store, [(key, seq)]) if seq else []
    return found[0] if found else None
