"""Helpful marks in the index: only the asker's count, a tombstone takes one back, and a
mark naming a reply of another thread counts nowhere, in every arrival order."""

from __future__ import annotations

from pathlib import Path

from learning_helpers import ANN, ME, Author, busy_feeds, deliver_in_order, orders

from lndesk.content import Helpful, Post, Reply, Tombstone
from lndesk.entry_refs import ref_of
from lndesk.store.helpful import answered, helpful_answers, marks_of
from lndesk.store.store import Store


def test_helpful_marks_count_only_the_askers_and_untombstoned(tmp_path: Path) -> None:
    feeds = busy_feeds()
    me, ann = feeds
    question = ref_of(me.entries[9][0])
    for name, order in orders(feeds).items():
        with Store(tmp_path / name.replace(" ", "-")) as store:
            deliver_in_order(store, feeds, order)
            # Ann's answer at 11 is marked; the one at 12 was marked and taken back, and
            # Ann's own mark of her answer (13) is not the asker's.
            assert helpful_answers(store, question) == {(ANN.public_key, 11)}, name
            assert answered(store, [question, ref_of(ann.entries[10][0])]) == {question.id}
            assert marks_of(store, ME.public_key, ann.entries[10][0].id) == [11]
            assert marks_of(store, ME.public_key, ann.entries[11][0].id) == []


def test_a_question_is_open_again_when_its_only_mark_is_taken_back(store: Store) -> None:
    me, ann = Author(ME), Author(ANN)
    question = me.sign(Post("anyone?", question=True))
    answer = ann.sign(Reply("me", ref_of(question), ref_of(question)))
    mark = me.sign(Helpful(ref_of(answer), ref_of(question)))
    me.deliver(store, 1, 2)
    ann.deliver(store)
    assert answered(store, [ref_of(question)]) == {question.id}
    assert helpful_answers(store, ref_of(question)) == {(ANN.public_key, 1)}
    me.sign(Tombstone(ref_of(mark)))
    me.deliver(store, 3)
    assert answered(store, [ref_of(question)]) == set()
    assert helpful_answers(store, ref_of(question)) == set()


def test_a_mark_naming_a_reply_of_another_thread_shows_nowhere(store: Store) -> None:
    me, ann = Author(ME), Author(ANN)
    question = me.sign(Post("anyone?", question=True))
    elsewhere = me.sign(Post("another post"))
    reply = ann.sign(Reply("on the other post", ref_of(elsewhere), ref_of(elsewhere)))
    me.sign(Helpful(ref_of(reply), ref_of(question)))
    me.deliver(store)
    ann.deliver(store)
    assert helpful_answers(store, ref_of(question)) == set()
    assert helpful_answers(store, ref_of(elsewhere)) == set()
