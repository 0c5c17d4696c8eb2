"""Which replies of a thread a node serves with its root (docs/protocol.md 32.2), and
which threads hold answers to the owner's questions (32.5).

A reader who holds a post asks peers for the replies under it. Every node answers with
the conversation the post's *author* sees, no more: the replies by the author, by
people within the author's two follow hops (by the follow entries this node holds),
and, at the author's own node, by people the author accepted. Replies by feeds the
node does not accept (blocked) or does not serve (held only as requests) are left out.
"""

from __future__ import annotations

from collections.abc import Callable

from lndesk.content import Post, parse_content
from lndesk.entry_refs import Ref
from lndesk.errors import EntryError
from lndesk.store.reading import StoreReader
from lndesk.store.shown import feed_id, feed_ids, marks, visible_until

MAX_QUESTIONS = 2000
"""How many of the owner's newest posts are looked at for questions (32.5)."""

_questions: dict[tuple[int, bytes], tuple[int, frozenset[bytes]]] = {}
"""(index connection, owner) -> (the owner's newest seq, the ids of their questions):
recomputed only when the owner has written since."""


def own_questions(store: StoreReader, own: bytes) -> frozenset[bytes]:
    """The ids of ``own``'s posts published as questions (the newest ``MAX_QUESTIONS``
    posts are looked at; deleted ones are left out)."""
    me = feed_id(store, own)
    if me < 0:
        return frozenset()
    row = store.index.conn.execute("SELECT MAX(seq) FROM entries WHERE feed = ?", (me,))
    newest = int(row.fetchone()[0] or 0)
    cached = _questions.get((id(store.index.conn), own))
    if cached is not None and cached[0] == newest:
        return cached[1]
    rows = store.index.entry_rows(
        "e.feed = ? AND e.type = 'post' AND e.deleted = 0",
        (me,),
        "ORDER BY e.seq DESC LIMIT ?",
        MAX_QUESTIONS,
    )
    found = set()
    for stored in store.load_listed(rows):
        if stored.payload is None:
            continue
        try:
            content = parse_content(stored.entry.type, stored.payload)
        except EntryError:
            continue
        if isinstance(content, Post) and content.question:
            found.add(stored.entry.id)
    questions = frozenset(found)
    _questions[id(store.index.conn), own] = (newest, questions)
    return questions


def is_question(store: StoreReader, ref: Ref) -> bool:
    """Whether the entry ``ref`` names is held, with its payload, as a question."""
    rows = store.index.entry_rows(
        "f.key = ? AND e.seq = ? AND e.deleted = 0", (ref.author, ref.seq)
    )
    for stored in store.load_listed(rows[:1]):
        if stored.entry.id != ref.id or stored.payload is None:
            return False
        try:
            content = parse_content(stored.entry.type, stored.payload)
        except EntryError:
            return False
        return isinstance(content, Post) and content.question
    return False


def followed_questions(store: StoreReader, own: bytes, since_ms: int, limit: int) -> list[Ref]:
    """The newest ``limit`` questions, claimed at ``since_ms`` or later, of the people
    ``own`` follows (of their newest 10 x ``limit`` posts in that time), newest first."""
    me = feed_id(store, own)
    rows = store.index.entry_rows(
        "e.type = 'post' AND e.deleted = 0 AND +e.claimed_ms >= ? AND +e.claimed_ms <= ? "
        "AND e.feed IN (SELECT dst FROM follows WHERE src = ? AND active = 1)",
        (since_ms, visible_until(), me),
        "ORDER BY e.claimed_ms DESC LIMIT ?",
        10 * limit,
    )
    found: list[Ref] = []
    for stored in store.load_listed(rows):
        if len(found) >= limit or stored.payload is None:
            continue
        try:
            content = parse_content(stored.entry.type, stored.payload)
        except EntryError:
            continue
        if isinstance(content, Post) and content.question:
            found.append(Ref(stored.entry.author, stored.entry.seq, stored.entry.id))
    return found


def answers_sql(count: int) -> str:
    """The test that entry ``e`` is in the thread of one of ``count`` roots (their ids
    are its parameters)."""
    return (
        "(e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE kind = 'root' "  # noqa: S608 - placeholders only
        f"AND target IN ({marks(count)}))"
    )


def has_answered(store: StoreReader, own: bytes, key: bytes) -> bool:
    """Whether ``key`` holds a reply in the thread of one of ``own``'s questions."""
    questions = own_questions(store, own)
    author = feed_id(store, key)
    if not questions or author < 0:
        return False
    row = store.index.conn.execute(
        "SELECT 1 FROM refs WHERE feed = ? AND kind = 'root' "  # noqa: S608 - placeholders only
        f"AND target IN ({marks(len(questions))}) LIMIT 1",
        (author, *questions),
    ).fetchone()
    return row is not None


MAX_COUNTED = 10_000
"""A thread's replies are counted up to this many (docs/protocol.md 32.1, ``total``):
one ask costs a server at most one index walk of this length."""

_AUDIENCE = (
    "+e.feed = ? OR +e.feed IN (SELECT dst FROM follows WHERE src = ? AND active = 1 "
    "UNION SELECT f2.dst FROM follows f1 JOIN follows f2 ON f2.src = f1.dst "
    "AND f2.active = 1 WHERE f1.src = ? AND f1.active = 1)"
)
"""The root's author and everyone within two follow hops of them (three parameters:
the author's feed number, thrice)."""


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
    extra = feed_ids(store, accepted)
    shut = feed_ids(store, excluded)
    where = (
        "(e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE target = ? AND kind = 'root') "  # noqa: S608 - placeholders only
        "AND e.deleted = 0 AND e.claimed_ms <= ? AND e.type = 'reply' "
        f"AND ({_AUDIENCE} OR +e.feed IN ({marks(len(extra))})) "
        f"AND +e.feed NOT IN ({marks(len(shut))})"
    )
    params: list[object] = [root.id, visible_until(), author, author, author, *extra, *shut]
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
