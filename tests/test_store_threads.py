"""Which replies a node names with a thread's root (docs/protocol.md 32.2), and which
questions it watches (32.3): the store queries behind thread fetch."""

from __future__ import annotations

from learning_helpers import Author
from store_helpers import BASE_MS, STEP_MS, make_identity

from lndesk.app.desk_threads import ThreadCounts
from lndesk.content import Follow, Helpful, Post, Reply, Tombstone
from lndesk.entry_refs import Ref, ref_of
from lndesk.store.helpful import takebacks, thread_marks
from lndesk.store.store import Store
from lndesk.store.threads import followed_questions, own_questions, thread_replies

ANN, BEN, CY, DI, ME = (make_identity(n) for n in (41, 42, 43, 44, 45))


def test_the_root_authors_two_hops_newest_first_counted_beyond_the_limit(store: Store) -> None:
    ann, ben, cy, di = Author(ANN), Author(BEN), Author(CY), Author(DI)
    question = ann.sign(Post("Why?", question=True))
    ann.sign(Follow(BEN.public_key))
    ben.sign(Follow(CY.public_key))
    root = ref_of(question)
    first = ben.sign(Reply("b", root, root), BASE_MS + 10 * STEP_MS)
    second = cy.sign(Reply("c", root, root), BASE_MS + 11 * STEP_MS)  # two hops
    third = ann.sign(Reply("a", root, ref_of(first)), BASE_MS + 12 * STEP_MS)  # the author
    di.sign(Reply("d", root, root), BASE_MS + 13 * STEP_MS)  # three hops: not named
    gone = ben.sign(Reply("gone", root, root), BASE_MS + 14 * STEP_MS)
    ben.sign(Tombstone(ref_of(gone)), BASE_MS + 15 * STEP_MS)
    for author in (ann, ben, cy, di):
        author.deliver(store)
    newest_first = [ref_of(third), ref_of(second), ref_of(first)]
    assert thread_replies(store, root, 100) == (3, newest_first)
    assert thread_replies(store, root, 2) == (3, newest_first[:2])
    # A blocked author (or one held only as requests) is neither named nor counted.
    assert thread_replies(store, root, 100, excluded=frozenset({CY.public_key}))[0] == 2
    served = thread_replies(store, root, 100, serves=lambda key: key != BEN.public_key)
    assert served == (2, [ref for ref in newest_first if ref.author != BEN.public_key])
    # Accepted people join the audience (on the author's own node).
    total, refs = thread_replies(store, root, 100, accepted=frozenset({DI.public_key}))
    assert total == 4 and DI.public_key in {ref.author for ref in refs}


def test_questions_watched_and_counts(store: Store) -> None:
    ann, me = Author(ANN), Author(ME)
    note = ann.sign(Post("a note"))
    question = ann.sign(Post("Why?", question=True))
    mine = me.sign(Post("And how?", question=True))
    me.sign(Follow(ANN.public_key))
    ann.deliver(store)
    me.deliver(store)
    assert followed_questions(store, ME.public_key, 0, 20) == [ref_of(question)]
    assert followed_questions(store, ME.public_key, question.claimed_ms + 1, 20) == []
    assert own_questions(store, ME.public_key) == {mine.id}
    assert note.id not in own_questions(store, ANN.public_key)
    assert ThreadCounts(known=3, reported=5).not_fetched == 2
    assert ThreadCounts(known=4, reported=3).not_fetched == 0


def test_the_marks_a_node_names_with_a_thread(store: Store) -> None:
    """The root author's counting marks under the root, newest first and at most the
    limit, none taken back; and the tombstones of asked marks (docs/protocol.md 32.6)."""
    ann, ben, cy = Author(ANN), Author(BEN), Author(CY)
    question = ann.sign(Post("Why?", question=True))
    other = ann.sign(Post("And?", question=True))
    root = ref_of(question)
    answers = [ben.sign(Reply(str(n), root, root)) for n in range(3)]
    there = ben.sign(Reply("there", ref_of(other), ref_of(other)))
    marks = [ann.sign(Helpful(ref_of(answer), root)) for answer in answers]
    ann.sign(Helpful(ref_of(there), ref_of(other)))  # another root's mark
    cy.sign(Helpful(ref_of(answers[0]), root))  # counts for nobody
    taken = ann.sign(Tombstone(ref_of(marks[1])))
    note = ann.sign(Post("a note"))
    ann.sign(Tombstone(ref_of(note)))
    for author in (ann, ben, cy):
        author.deliver(store)
    live = [ref_of(marks[2]), ref_of(marks[0])]
    assert thread_marks(store, root) == live
    assert thread_marks(store, root, 1) == live[:1]
    asked = [marks[0].id, marks[1].id, note.id, bytes(32)]
    # A tombstone names what it takes back: the asker asks only about its marks.
    assert takebacks(store, ANN.public_key, asked)[0] == ref_of(taken)
    assert len(takebacks(store, ANN.public_key, asked)) == 2
    assert takebacks(store, CY.public_key, asked) == []
    assert thread_marks(store, ref_of(there)) == []


def _steps(store: Store, root: Ref) -> tuple[tuple[int, list[Ref]], int]:
    """thread_replies(root) and how many SQLite VM steps (in hundreds) it took."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store.index.conn.set_progress_handler(count, 100)
    try:
        return thread_replies(store, root, 100), steps
    finally:
        store.index.conn.set_progress_handler(None, 0)


def test_an_ask_costs_the_same_whoever_the_author_and_their_followees_follow(
    store: Store,
) -> None:
    ann, ben, cy, di = Author(ANN), Author(BEN), Author(CY), Author(DI)
    question = ann.sign(Post("Why?", question=True))
    ann.sign(Follow(BEN.public_key))
    ben.sign(Follow(CY.public_key))
    root = ref_of(question)
    replies = [
        who.sign(Reply(who.identity.public_key.hex()[:8], root, root), BASE_MS + n * STEP_MS)
        for n, who in enumerate((ben, cy, di, ann), start=10)
    ]
    for author in (ann, ben, cy, di):
        author.deliver(store)
    expected = (3, [ref_of(replies[3]), ref_of(replies[1]), ref_of(replies[0])])
    conn = store.index.conn
    (author,) = conn.execute("SELECT feed FROM feeds WHERE key = ?", (ANN.public_key,)).fetchone()
    costs = []
    for width in (10, 300):  # the author follows `width` feeds, each following `width`
        conn.execute("DELETE FROM follows WHERE src >= 1000000 OR dst >= 1000000")
        followees = [1_000_000 + k for k in range(width)]
        conn.executemany(
            "INSERT INTO follows (src, dst, seq, active) VALUES (?, ?, 1, 1)",
            [(author, f) for f in followees]
            + [(f, 2_000_000 + k) for f in followees for k in range(width)],
        )
        conn.commit()
        answer, steps = _steps(store, root)
        assert answer == expected
        costs.append(steps)
    assert costs[1] <= 2 * costs[0] + 10, costs  # 900 times the follows: not 900 times the work
