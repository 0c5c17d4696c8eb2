"""Which replies of a thread a node serves with its root (docs/protocol.md 32.2), and
which threads hold answers to the owner's questions (32.5).

A reader who holds a post asks peers for the replies under it. Every node answers with
the conversation the post's *author* sees, no more: the replies by the author, by
people within the author's two follow hops (by the follow entries this node holds),
and, at the author's own node, by people the author accepted. Replies by feeds the
node does not accept (blocked) or does not serve (held only as requests) are left out.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from lndesk.entry_refs import Ref
from lndesk.store.questions import held_question, own_question_ids
from lndesk.store.reading import StoreReader
from lndesk.store.shown import feed_id, feed_ids, visible_until


def own_questions(store: StoreReader, own: bytes) -> frozenset[bytes]:
    """The ids of ``own``'s stored posts whose current version asks (every one: the
    index keeps them, :mod:`lndesk.store.questions`); deleted ones are left out."""
    return own_question_ids(store, own)


def is_question(store: StoreReader, ref: Ref) -> bool:
    """Whether the entry ``ref`` names is held as a question (its current version asks)."""
    return held_question(store, ref)


def followed_questions(store: StoreReader, own: bytes, since_ms: int, limit: int) -> list[Ref]:
    """The newest ``limit`` questions, claimed at ``since_ms`` or later, of the people
    ``own`` follows, newest first."""
    me = feed_id(store, own)
    rows = store.index.conn.execute(
        "SELECT f.key, q.seq, e.id FROM questions q "
        "JOIN entries e ON e.feed = q.feed AND e.seq = q.seq JOIN feeds f ON f.feed = q.feed "
        "WHERE q.claimed_ms >= ? AND q.claimed_ms <= ? "
        "AND q.feed IN (SELECT dst FROM follows WHERE src = ? AND active = 1) "
        "ORDER BY q.claimed_ms DESC, q.feed DESC, q.seq DESC LIMIT ?",
        (since_ms, visible_until(), me, limit),
    ).fetchall()
    return [Ref(bytes(key), int(seq), bytes(entry_id)) for key, seq, entry_id in rows]


ANSWERS_SQL = (
    "(e.feed, e.seq) IN (SELECT r.feed, r.seq FROM questions q "
    "JOIN entries o ON o.feed = q.feed AND o.seq = q.seq "
    "JOIN refs r ON r.target = o.id AND r.kind = 'root' WHERE q.feed = ?)"
)
"""The test that entry ``e`` is in the thread of one of the questions of a feed (its
one parameter: the asker's feed number)."""


def has_answered(store: StoreReader, own: bytes, key: bytes) -> bool:
    """Whether ``key`` holds a reply in the thread of one of ``own``'s questions."""
    asker, author = feed_id(store, own), feed_id(store, key)
    if asker < 0 or author < 0:
        return False
    row = store.index.conn.execute(
        "SELECT 1 FROM questions q JOIN entries o ON o.feed = q.feed AND o.seq = q.seq "
        "JOIN refs r ON r.target = o.id AND r.kind = 'root' AND r.feed = ? "
        "WHERE q.feed = ? LIMIT 1",
        (author, asker),
    ).fetchone()
    return row is not None


MAX_COUNTED = 10_000
"""A thread's replies are counted up to this many (docs/protocol.md 32.1, ``total``):
one ask costs a server at most one index walk of this length."""

_FOLLOWS = "SELECT 1 FROM follows WHERE src = ? AND dst = ? AND active = 1"
_TWO_HOPS = (
    "SELECT 1 FROM follows f2 INDEXED BY follows_by_dst "
    "JOIN follows f1 ON f1.src = ? AND f1.dst = f2.src AND f1.active = 1 "
    "WHERE f2.dst = ? AND f2.active = 1 LIMIT 1"
)
"""Whether the author (first parameter) follows someone who follows the replier: a walk of
the replier's followers (index ``follows_by_dst``), each looked up among the author's
follows by their primary key."""


def audience(store: StoreReader, author: int, root_id: bytes) -> list[int]:
    """The feeds of the replies under ``root_id`` within two follow hops of ``author``
    (the author included). Each replier is tested alone, so an ask costs a walk of each
    replier's followers, however many people the author and those they follow follow
    (the set of everyone within two hops took a pass over all those follows)."""
    conn = store.index.conn
    repliers = conn.execute(
        "SELECT DISTINCT feed FROM refs WHERE target = ? AND kind = 'root'", (root_id,)
    ).fetchall()
    return [
        feed
        for (feed,) in repliers
        if feed == author
        or conn.execute(_FOLLOWS, (author, feed)).fetchone() is not None
        or conn.execute(_TWO_HOPS, (author, feed)).fetchone() is not None
    ]


def thread_replies(
    store: StoreReader,
    root: Ref,
    limit: int,
    *,
    accepted: frozenset[bytes] = frozenset(),
    excluded: frozenset[bytes] = frozenset(),
    serves: Callable[[bytes], bool] = lambda _key: True,
) -> tuple[int, list[Ref]]:
    """(how many replies under ``root`` are in its author's audience, the newest
    ``limit`` of them as references, newest first by claimed time).

    ``accepted`` joins the audience (the owner's accepted people, when the owner wrote
    the root); ``excluded`` and feeds ``serves`` refuses are left out. Deleted replies
    and replies claimed too far in the future are not counted.
    """
    author = feed_id(store, root.author)
    if author < 0:
        return 0, []
    shut = set(feed_ids(store, excluded))
    heard = set(audience(store, author, root.id)) | set(feed_ids(store, accepted))
    feeds = json.dumps(sorted(heard - shut))
    where = (
        "(e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE target = ? AND kind = 'root') "
        "AND e.deleted = 0 AND e.claimed_ms <= ? AND e.type = 'reply' "
        "AND +e.feed IN (SELECT value FROM json_each(?))"
    )
    params: list[object] = [root.id, visible_until(), feeds]
    rows = store.index.conn.execute(
        "SELECT f.key, e.seq, e.id FROM entries e JOIN feeds f ON f.feed = e.feed "  # noqa: S608 - placeholders only
        f"WHERE {where} ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT ?",
        [*params, MAX_COUNTED],
    ).fetchall()
    refs: list[Ref] = []
    total = 0
    allowed: dict[bytes, bool] = {}
    for raw_key, seq, entry_id in rows:
        key = bytes(raw_key)
        if key not in allowed:
            allowed[key] = serves(key)
        if not allowed[key]:
            continue
        total += 1
        if len(refs) < limit:
            refs.append(Ref(key, int(seq), bytes(entry_id)))
    return total, refs


def answerers(store: StoreReader, root_id: bytes) -> frozenset[bytes]:
    """The authors of the replies held under the root ``root_id``."""
    rows = store.index.conn.execute(
        "SELECT DISTINCT f.key FROM refs r JOIN feeds f ON f.feed = r.feed "
        "WHERE r.target = ? AND r.kind = 'root'",
        (root_id,),
    )
    return frozenset(bytes(row[0]) for row in rows)


def known_replies(store: StoreReader, root_id: bytes) -> int:
    """How many replies under the root ``root_id`` this node holds and shows."""
    row = store.index.conn.execute(
        "SELECT COUNT(*) FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "WHERE r.target = ? AND r.kind = 'root' AND e.deleted = 0 AND e.claimed_ms <= ?",
        (root_id, visible_until()),
    ).fetchone()
    return int(row[0])
