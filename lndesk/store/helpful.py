"""Which answers helped, and which questions are answered (docs/protocol.md 10.12).

A ``helpful`` entry counts only when its author wrote the question it names; the index
keeps each counting mark as two references (``helpful`` to the answer, ``helped`` to the
question), removed again when a tombstone takes the mark back. Both are plain rows of
``refs``, so they do not depend on the order entries arrive in, and the answers below are
read from them when asked: a mark that came before its answer shows once the answer is
stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from lndesk.content import MAX_MARKS_PER_FETCH
from lndesk.entry_refs import PostKey, Ref
from lndesk.store.reading import StoreReader
from lndesk.store.shown import feed_id, visible_until


def helpful_answers(store: StoreReader, root: Ref) -> set[PostKey]:
    """The replies under ``root`` that its author marked as helpful, as (author, seq).

    A mark shows on a reply only if the same mark names this question as its root, so a
    mark naming a reply of another thread shows nowhere.
    """
    asker = feed_id(store, root.author)
    if asker < 0:
        return set()
    rows = store.index.conn.execute(
        "SELECT f.key, e.seq FROM refs r "
        "JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "JOIN feeds f ON f.feed = e.feed "
        "WHERE r.target = ? AND r.kind = 'root' AND e.deleted = 0 AND e.type = 'reply' "
        "AND EXISTS (SELECT 1 FROM refs h JOIN refs g ON g.feed = h.feed AND g.seq = h.seq "
        "AND g.kind = 'helped' AND g.target = ? "
        "WHERE h.target = e.id AND h.kind = 'helpful' AND h.feed = ?)",
        (root.id, root.id, asker),
    ).fetchall()
    return {(bytes(key), int(seq)) for key, seq in rows}


def answered(store: StoreReader, questions: Iterable[Ref]) -> set[bytes]:
    """The ids of those ``questions`` whose author marked an answer as helpful (and has
    not taken every such mark back)."""
    found: set[bytes] = set()
    conn = store.index.conn
    for question in questions:
        asker = feed_id(store, question.author)
        if asker < 0:
            continue
        row = conn.execute(
            "SELECT 1 FROM refs WHERE target = ? AND kind = 'helped' AND feed = ? LIMIT 1",
            (question.id, asker),
        ).fetchone()
        if row is not None:
            found.add(question.id)
    return found


def marks_of(store: StoreReader, asker: bytes, answer_id: bytes) -> list[int]:
    """The seqs of ``asker``'s counting marks naming the answer ``answer_id`` (what an
    un-mark deletes)."""
    feed = feed_id(store, asker)
    if feed < 0:
        return []
    rows = store.index.conn.execute(
        "SELECT r.seq FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "WHERE r.target = ? AND r.kind = 'helpful' AND r.feed = ? AND e.deleted = 0 "
        "ORDER BY r.seq",
        (answer_id, feed),
    ).fetchall()
    return [int(seq) for (seq,) in rows]


def thread_marks(store: StoreReader, root: Ref, limit: int = MAX_MARKS_PER_FETCH) -> list[Ref]:
    """The root author's counting marks under ``root``, held with their payloads, not
    taken back and not claimed in the future: the newest ``limit`` by seq."""
    asker = feed_id(store, root.author)
    if asker < 0:
        return []
    rows = store.index.conn.execute(
        "SELECT e.seq, e.id FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
        "WHERE r.target = ? AND r.kind = 'helped' AND r.feed = ? AND e.deleted = 0 "
        "AND e.payload_state = 0 AND e.claimed_ms <= ? ORDER BY e.seq DESC LIMIT ?",
        (root.id, asker, visible_until(), limit),
    ).fetchall()
    return [Ref(root.author, int(seq), bytes(entry_id)) for seq, entry_id in rows]


def takebacks(store: StoreReader, author: bytes, marks: Sequence[bytes]) -> list[Ref]:
    """``author``'s tombstones, held with their payloads, of the entries whose ids are
    ``marks``: what took those marks back (at most one per mark, the first)."""
    feed = feed_id(store, author)
    if feed < 0 or not marks:
        return []
    found: list[Ref] = []
    for mark in dict.fromkeys(marks):
        row = store.index.conn.execute(
            "SELECT e.seq, e.id FROM refs r JOIN entries e ON e.feed = r.feed AND e.seq = r.seq "
            "WHERE r.target = ? AND r.kind = 'tombstone' AND r.feed = ? AND e.deleted = 0 "
            "AND e.payload_state = 0 ORDER BY e.seq LIMIT 1",
            (mark, feed),
        ).fetchone()
        if row is not None:
            found.append(Ref(author, int(row[0]), bytes(row[1])))
    return found
