"""Which posts are questions, as the index keeps them (lndesk.store.questions): the
current version decides (docs/protocol.md 10.8), in any arrival order, after a rebuild,
and in an index written before the table existed (migration 6 fills it once). Lists of
questions read that table, so they are whole at any store size."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from learning_helpers import Author, deliver_in_order, orders
from search_index import with_text_copy
from store_helpers import BASE_MS, STEP_MS, make_identity

from lndesk.app.answers import questions
from lndesk.content import Edit, Follow, Helpful, Post, Reply, Tombstone
from lndesk.entry_refs import PostKey, ref_of
from lndesk.store import views
from lndesk.store.asked import BACKFILL, backfill_pending
from lndesk.store.questions import QuestionFilter, question_page
from lndesk.store.store import INDEX_NAME, Store
from lndesk.store.threads import (
    followed_questions,
    has_answered,
    is_question,
    own_questions,
)
from lndesk.store.views import NEWEST

ME, ANN, CY = make_identity(61), make_identity(62), make_identity(63)


def question_feeds() -> list[Author]:
    """Questions made, unmade and deleted by edits and tombstones, and look-alikes."""
    me, ann, cy = Author(ME), Author(ANN), Author(CY)
    asked = me.sign(Post("which book?", question=True))  # 1: a question
    plain = me.sign(Post("a note"))  # 2: asks once edited
    me.sign(Edit(ref_of(plain), "a note: which one?", question=True))  # 3
    taken = me.sign(Post("why?", question=True))  # 4: no longer asks once edited
    me.sign(Edit(ref_of(taken), "why, I see now"))  # 5
    gone = me.sign(Post("deleted question?", question=True))  # 6
    me.sign(Tombstone(ref_of(gone)))  # 7
    twice = me.sign(Post("edited twice", question=True))  # 8: the latest edit decides
    me.sign(Edit(ref_of(twice), "not a question now"))  # 9
    me.sign(Edit(ref_of(twice), "a question again?", question=True))  # 10
    reply = ann.sign(Reply("an answer", ref_of(asked), ref_of(asked)))  # 1
    ann.sign(Edit(ref_of(reply), "an answer?", question=True))  # 2: a reply never asks
    ann.sign(Post("@me, a question?", mentions=(ME.public_key,), question=True))  # 3
    cy.sign(Post("plain"))  # Cy's posts are plain, so they take the quick way in one run
    cy.sign(Post("plain and asking?", question=True))
    return [me, ann, cy]


EXPECTED = {(ME.public_key, 1), (ME.public_key, 2), (ME.public_key, 8), (ANN.public_key, 3)}


def asking(store: Store) -> set[PostKey]:
    rows = store.index.conn.execute(
        "SELECT f.key, q.seq FROM questions q JOIN feeds f ON f.feed = q.feed"
    )
    return {(bytes(key), int(seq)) for key, seq in rows}


def test_the_current_version_decides_in_every_arrival_order_and_after_a_rebuild(
    tmp_path: Path,
) -> None:
    me, ann, _ = question_feeds()
    for name, order in orders([me, ann]).items():
        with Store(tmp_path / name.replace(" ", "-")) as store:
            deliver_in_order(store, [me, ann], order)
            assert asking(store) == EXPECTED, name
            store.reindex()
            assert asking(store) == EXPECTED, f"rebuilt after {name}"


def test_a_run_of_plain_posts_keeps_its_questions(store: Store) -> None:
    cy = question_feeds()[2]
    store.ingest(CY.public_key, [(entry.raw, payload) for entry, payload in cy.entries])
    assert asking(store) == {(CY.public_key, 2)}
    cy.sign(Tombstone(ref_of(cy.entries[1][0])))
    cy.deliver(store, 3)
    assert asking(store) == set()


def test_an_index_written_before_the_table_fills_it_once_when_opened(tmp_path: Path) -> None:
    feeds = question_feeds()
    data = tmp_path / "data"
    with Store(data) as store:
        deliver_in_order(store, feeds[:2], orders(feeds[:2])["oldest first"])
        assert not backfill_pending(store.index.conn)
        with_text_copy(store)  # the full-text table as it was before migration 8
    conn = sqlite3.connect(data / INDEX_NAME)
    conn.executescript(  # as schema 5 was
        "DROP TABLE questions; DROP TABLE reveals; PRAGMA user_version = 5;"
    )
    conn.close()
    with Store(data) as store:
        assert asking(store) == EXPECTED
        assert not backfill_pending(store.index.conn)
    # Stopped after the migration, before the fill: the mark is left, and the next open
    # fills the table afresh (a row left by anything earlier does not survive).
    conn = sqlite3.connect(data / INDEX_NAME)
    conn.execute("DELETE FROM questions")
    conn.execute(
        "INSERT INTO questions SELECT feed, 4, 0 FROM feeds WHERE key = ?", (ME.public_key,)
    )
    conn.execute("INSERT INTO meta(key, value) VALUES (?, x'01')", (BACKFILL,))
    conn.commit()
    conn.close()
    with Store(data) as store:
        assert asking(store) == EXPECTED


def test_lists_find_every_question_however_many_posts_are_stored(store: Store) -> None:
    """The oldest question under 6,000 newer posts (lists looked at the newest 5,000)."""
    ann, me = Author(ANN), Author(ME)
    oldest = ann.sign(Post("the oldest question?", question=True), BASE_MS)
    for number in range(6000):
        ann.sign(Post(f"note {number}"), BASE_MS + (number + 1) * STEP_MS)
    store.ingest(ANN.public_key, [(entry.raw, payload) for entry, payload in ann.entries])
    me.sign(Follow(ANN.public_key))
    answer = me.sign(Reply("this", ref_of(oldest), ref_of(oldest)))
    me.deliver(store)
    (found,) = questions(store, "open")
    assert found.stored.entry.id == oldest.id and found.answers == 1 and not found.answered
    assert followed_questions(store, ME.public_key, 0, 20) == [ref_of(oldest)]
    assert is_question(store, ref_of(oldest))
    assert not is_question(store, ref_of(ann.entries[5][0]))
    assert own_questions(store, ANN.public_key) == {oldest.id}
    assert has_answered(store, ANN.public_key, ME.public_key)
    assert not has_answered(store, ME.public_key, ANN.public_key)
    cy = Author(CY)  # replies to a post of Ann's that is no question: no answer
    cy.sign(Reply("nice", ref_of(ann.entries[5][0]), ref_of(ann.entries[5][0])))
    cy.deliver(store)
    assert not has_answered(store, ANN.public_key, CY.public_key)
    ann.sign(Helpful(ref_of(answer), ref_of(oldest)))
    ann.deliver(store, len(ann.entries))
    assert questions(store, "open") == []
    assert [q.stored.entry.id for q in questions(store, "answered")] == [oldest.id]


def test_pages_and_filters(store: Store) -> None:
    ann, cy = Author(ANN), Author(CY)
    asked = [ann.sign(Post(f"question {n}?", question=True, tags=("maths",))) for n in range(5)]
    cy.sign(Post("Cy asks?", question=True, tags=("Maths",)))
    ann.deliver(store)
    cy.deliver(store)
    newest_first = [(ANN.public_key, e.seq) for e in asked[::-1]]
    seen: list[PostKey] = []
    cursor = NEWEST
    while page := question_page(store, QuestionFilter(author=ANN.public_key), cursor, 2):
        seen += [(s.entry.author, s.entry.seq) for s in page]
        cursor = page[-1].cursor
    assert seen == newest_first

    def keys(which: QuestionFilter) -> list[PostKey]:
        return [(s.entry.author, s.entry.seq) for s in question_page(store, which, NEWEST, 50)]

    assert len(keys(QuestionFilter())) == 6
    assert keys(QuestionFilter(hidden=frozenset({ANN.public_key}))) == [(CY.public_key, 1)]
    assert len(keys(QuestionFilter(tag="maths"))) == 6  # tags in normal form
    assert keys(QuestionFilter(tag="physics")) == []
    since = asked[3].claimed_ms
    assert keys(QuestionFilter(author=ANN.public_key, since_ms=since)) == newest_first[:2]
    assert keys(QuestionFilter(author=ANN.public_key, until_ms=since)) == newest_first[1:]
    assert keys(QuestionFilter(author=make_identity(99).public_key)) == []


def test_an_edit_that_takes_the_question_back_sends_strangers_answers_to_requests(
    store: Store,
) -> None:
    """Answers count while the question asks, in its current version (32.5)."""
    me, cy = Author(ME), Author(CY)
    question = me.sign(Post("which book?", question=True))
    cy.sign(Reply("this one", ref_of(question), ref_of(question)))
    me.deliver(store)
    cy.deliver(store)

    def inbox(kind: str) -> list[PostKey]:
        rows = views.page(store, views.ListQuery(kind, ME.public_key), NEWEST, 10)
        return [(s.entry.author, s.entry.seq) for s in rows]

    assert (inbox(views.REPLIES), inbox(views.REQUESTS)) == ([(CY.public_key, 1)], [])
    me.sign(Edit(ref_of(question), "which book? (found it, thanks)"))
    me.deliver(store, 2)
    assert (inbox(views.REPLIES), inbox(views.REQUESTS)) == ([], [(CY.public_key, 1)])
