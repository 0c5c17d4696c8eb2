"""What payloads mean to the index, as rows: shared by the derivation's steps.

The tag normal form the index compares, whose inbox an entry belongs in, the columns of
an ``entries`` row the derivation reads, and what a follow or profile falls back to
when a tombstone deletes the one that counted.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from lndesk.content import Content, Edit, Follow, Post, Profile, Reply, Share, Unfollow
from lndesk.content_fields import normalize_tag
from lndesk.errors import ContentError

PAYLOAD_PRESENT = 0
PAYLOAD_ABSENT = 1
PAYLOAD_INVALID = 2
PAYLOAD_PURGED = 3
"""Absent because a tombstone deleted it (protocol 14.4): never asked for again."""
ORIGINAL_TYPES = ("post", "reply")

RowKey = tuple[int, int]
"""(feed, seq) of an entry, ``feed`` being the ``feeds`` rowid: the index's row key. "Key"
alone means a public key."""
ContentLoader = Callable[[int], Content | None]
"""Reads and parses the payload of the log record at an offset (None: none usable)."""


@dataclass(frozen=True, slots=True)
class Row:
    """What the derivation needs of an ``entries`` row."""

    seq: int
    id: bytes
    type: str
    claimed_ms: int
    payload_state: int
    offset: int
    deleted: bool


def index_tags(content: Content | None) -> list[str]:
    """The tags of a post, reply or edit as the index compares them (normal form)."""
    if not isinstance(content, Post | Reply | Edit) or not content.tags:
        return []
    return list(normal_tags(tuple(content.tags)))


@functools.lru_cache(maxsize=4096)
def normal_tags(received: tuple[str, ...]) -> tuple[str, ...]:
    """``received`` tags in normal form, without repeats (cached: few tag sets recur)."""
    tags = []
    for tag in received:
        try:  # compare tags in normal form: "Maths" finds "maths"
            tags.append(normalize_tag(tag))
        except ContentError:  # valid as received, but without a usable normal form
            tags.append(tag)
    return tuple(dict.fromkeys(tags))


def addressed_kinds(content: Content, author: bytes) -> dict[bytes, str]:
    """Whose inbox an entry belongs in (protocol 10.10), and why: reply, share, mention."""
    kinds: dict[bytes, str] = {}
    match content:
        case Reply(root=root, parent=parent):
            kinds = {parent.author: "reply", root.author: "reply"}
        case Share(ref=ref):
            kinds = {ref.author: "share"}
    for key in getattr(content, "mentions", ()):
        kinds.setdefault(key, "mention")
    kinds.pop(author, None)
    return kinds


ContentOf = Callable[["Row"], Content | None]
"""The content of a row's payload (read from the log when it is not at hand)."""


def entry_row(conn: sqlite3.Connection, feed: int, seq: int) -> Row | None:
    r = conn.execute(
        "SELECT seq, id, type, claimed_ms, payload_state, offset, deleted FROM entries "
        "WHERE feed = ? AND seq = ?",
        (feed, seq),
    ).fetchone()
    return None if r is None else Row(r[0], bytes(r[1]), r[2], r[3], r[4], r[5], bool(r[6]))


def refollow(
    conn: sqlite3.Connection, src: int, seq: int, dst: bytes, content_of: ContentOf
) -> None:
    """A deleted follow or unfollow no longer counts: the author's latest one left
    naming the same feed decides (rare: one payload read per follow entry)."""
    row = conn.execute(
        "SELECT fo.dst, fo.seq FROM follows fo JOIN feeds d ON d.feed = fo.dst "
        "WHERE fo.src = ? AND d.key = ?",
        (src, dst),
    ).fetchone()
    if row is None or row[1] != seq:
        return
    decided = None
    for other in rows_of_types(conn, src, ("follow", "unfollow")):
        content = content_of(other)
        if isinstance(content, Follow | Unfollow) and content.feed == dst:
            decided = (other.seq, int(isinstance(content, Follow)))
            break
    if decided is None:
        conn.execute("DELETE FROM follows WHERE src = ? AND dst = ?", (src, row[0]))
    else:
        conn.execute(
            "UPDATE follows SET seq = ?, active = ? WHERE src = ? AND dst = ?",
            (*decided, src, row[0]),
        )


def reprofile(conn: sqlite3.Connection, feed: int, seq: int, content_of: ContentOf) -> None:
    """A deleted profile no longer counts: the author's latest one left is current."""
    current = conn.execute("SELECT profile_seq FROM feeds WHERE feed = ?", (feed,))
    if current.fetchone()[0] != seq:
        return
    name, bio, profile_seq = None, None, 0
    for other in rows_of_types(conn, feed, ("profile",)):
        content = content_of(other)
        if isinstance(content, Profile):
            name, bio, profile_seq = content.name, content.bio, other.seq
            break
    conn.execute(
        "UPDATE feeds SET name = ?, bio = ?, profile_seq = ? WHERE feed = ?",
        (name, bio, profile_seq, feed),
    )


def rows_of_types(conn: sqlite3.Connection, feed: int, types: tuple[str, ...]) -> list[Row]:
    """Not deleted entries of these types with a payload, highest seq first."""
    marks = ",".join("?" * len(types))
    return [
        Row(r[0], bytes(r[1]), r[2], r[3], r[4], r[5], bool(r[6]))
        for r in conn.execute(
            "SELECT seq, id, type, claimed_ms, payload_state, offset, deleted "  # noqa: S608
            f"FROM entries WHERE feed = ? AND type IN ({marks}) AND deleted = 0 "
            "AND payload_state = ? ORDER BY seq DESC",
            (feed, *types, PAYLOAD_PRESENT),
        )
    ]
