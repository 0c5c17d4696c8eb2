"""Which replies a node names with a thread's root (docs/protocol.md 32.2), and which
questions it watches (32.3): the store queries behind thread fetch."""

from __future__ import annotations

from learning_helpers import Author
from store_helpers import BASE_MS, STEP_MS, make_identity

from lndesk.app.desk_threads import ThreadCounts
from lndesk.content import Follow, Post, Reply, Tombstone
from lndesk.entry_refs import ref_of
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
