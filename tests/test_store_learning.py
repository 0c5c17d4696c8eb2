"""The index's learning state: inboxes, edits, reading lists, tags, unread counts.

Entries may arrive in any order (an edit or a tombstone before the entry it names), so
most properties are checked for several arrival orders; that the derived state is the
same in every order and after a rebuild is tests/test_store_arrival.py, helpful marks
tests/test_store_helpful.py.
"""

from __future__ import annotations

import pytest
from learning_helpers import ANN, BEN, CY, DI, ME, Author, listing, shown
from store_helpers import BASE_MS

import lndesk.store.store as store_module
from lndesk.content import (
    Edit,
    Follow,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Reply,
    Share,
    Tombstone,
    Unfollow,
)
from lndesk.entry import Entry
from lndesk.entry_refs import Ref, ref_of
from lndesk.errors import ContentError
from lndesk.store import views
from lndesk.store.store import Store

# --- inboxes ----------------------------------------------------------------------------


@pytest.fixture
def graph(store: Store) -> Store:
    """I follow Ann, Ann follows Ben; Cy is a stranger. I posted once (seq 1)."""
    store.publish(ME, Post("What should I read on spaced repetition?"), claimed_ms=BASE_MS)
    store.publish(ME, Follow(ANN.public_key), claimed_ms=BASE_MS)
    ann = Author(ANN)
    ann.sign(Follow(BEN.public_key))
    ann.deliver(store)
    return store


def my_post(store: Store) -> Entry:
    return store.feed_entries(ME.public_key)[-1].entry


def test_replies_shares_and_mentions_are_addressed_to_me(graph: Store) -> None:
    mine = ref_of(my_post(graph))
    ann, ben, cy = Author(ANN), Author(BEN), Author(CY)
    ann_entries = [ann.sign(Follow(BEN.public_key))]
    ann_entries.append(ann.sign(Reply("Try Anki", mine, mine), claimed_ms=BASE_MS + 3000))
    ann_entries.append(ann.sign(Post("a note for nobody")))
    ben.sign(Share(mine, "worth answering"), claimed_ms=BASE_MS + 5000)
    cy.sign(Post("cc someone", mentions=(ME.public_key,)), claimed_ms=BASE_MS + 4000)
    cy.sign(Post("not for me", mentions=(DI.public_key,)))
    for author in (ann, ben, cy):
        author.deliver(graph)
    a, b, c = ANN.public_key, BEN.public_key, CY.public_key

    assert listing(graph, views.REPLIES) == [(b, 1), (a, 2)]
    assert listing(graph, views.REQUESTS) == [(c, 1)]
    assert listing(graph, views.REPLIES, accepted=frozenset({c})) == [(b, 1), (c, 1), (a, 2)]
    assert listing(graph, views.REQUESTS, accepted=frozenset({c})) == []
    # Hidden (muted or blocked) wins over everything else.
    assert listing(graph, views.REPLIES, hidden=frozenset({b})) == [(a, 2)]
    assert listing(graph, views.REQUESTS, hidden=frozenset({c})) == []

    assert views.addressed_to(graph, ME.public_key) == [
        (b, 1, ben.entries[0][0].id),
        (c, 1, cy.entries[0][0].id),
        (a, 2, ann_entries[1].id),
    ]
    assert views.addressed_to(graph, ME.public_key, limit=1) == [(b, 1, ben.entries[0][0].id)]
    since = BASE_MS + 4000
    assert [r[:2] for r in views.addressed_to(graph, ME.public_key, since_ms=since)] == [
        (b, 1),
        (c, 1),
    ]
    assert views.addressed_to(graph, DI.public_key) == [(c, 2, cy.entries[1][0].id)]


def test_two_hops_are_active_follows_only(graph: Store) -> None:
    assert views.within_two_hops(graph, ME.public_key) == {ANN.public_key, BEN.public_key}
    ann = Author(ANN)
    ann.sign(Follow(BEN.public_key))
    ann.sign(Unfollow(BEN.public_key))
    ann.sign(Follow(ME.public_key))  # I am never in my own two hops
    ann.deliver(graph, 2, 3)
    assert views.within_two_hops(graph, ME.public_key) == {ANN.public_key}
    graph.publish(ME, Unfollow(ANN.public_key))
    assert views.within_two_hops(graph, ME.public_key) == frozenset()


def test_a_mention_added_by_an_edit_reaches_my_inbox_as_the_post(graph: Store) -> None:
    ann = Author(ANN)
    ann.sign(Follow(BEN.public_key))
    post = ann.sign(Post("reading group notes"))
    ann.sign(Edit(ref_of(post), "reading group notes, with thanks", mentions=(ME.public_key,)))
    ann.deliver(graph, 2, 3)
    assert listing(graph, views.REPLIES) == [(ANN.public_key, 2)]
    assert [r[:2] for r in views.addressed_to(graph, ME.public_key)] == [(ANN.public_key, 3)]


def test_a_deleted_reply_leaves_the_inbox(graph: Store) -> None:
    mine = ref_of(my_post(graph))
    cy = Author(CY)
    reply = cy.sign(Reply("first!", mine, mine))
    cy.sign(Tombstone(ref_of(reply)))
    cy.deliver(graph, 1)
    assert listing(graph, views.REQUESTS) == [(CY.public_key, 1)]
    cy.deliver(graph, 2)
    assert listing(graph, views.REQUESTS) == []
    assert views.addressed_to(graph, ME.public_key) == []
    assert views.reply_count(graph, mine.id) == 0


# --- edits ------------------------------------------------------------------------------


def edited_feed() -> Author:
    ann = Author(ANN)
    ann.sign(Post("first draft", tags=("Drafts",)))  # 1
    ann.sign(Edit(Ref(ANN.public_key, 1, ann.entries[0][0].id), "second draft", tags=("b",)))
    ann.sign(Edit(Ref(ANN.public_key, 1, ann.entries[0][0].id), "final text", tags=("c",)))
    ann.sign(Post("unrelated"))  # 4
    return ann


@pytest.mark.parametrize("order", [(1, 2, 3, 4), (4, 3, 2, 1), (3, 1, 4, 2), (2, 4, 1, 3)])
def test_the_latest_edit_is_the_current_version_in_any_arrival_order(
    store: Store, order: tuple[int, ...]
) -> None:
    ann = edited_feed()
    ann.deliver(store, *order)
    original = views.load_keys(store, [(ANN.public_key, 1)])
    current = views.current_versions(store, original)
    assert list(current) == [(ANN.public_key, 1)]
    assert current[ANN.public_key, 1].content == Edit(
        ref_of(original[0].entry), "final text", tags=("c",)
    )
    assert views.current_versions(store, views.load_keys(store, [(ANN.public_key, 4)])) == {}
    store.publish(ME, Follow(ANN.public_key))
    assert listing(store, views.TAG, tag="c") == [(ANN.public_key, 1)]
    assert listing(store, views.TAG, tag="drafts") == []
    assert views.tag_counts(store, ME.public_key) == [("c", 1)]
    # Timelines show the original, at its own time; the edits are not entries of lists.
    assert listing(store, views.TIMELINE) == [(ANN.public_key, 4), (ANN.public_key, 1)]


def test_edits_that_cannot_take_effect_are_ignored(store: Store) -> None:
    ann, ben = Author(ANN), Author(BEN)
    post = ann.sign(Post("mine"))
    ben_post = ben.sign(Post("Ben's"))
    ann.sign(Edit(ref_of(ben_post), "not my post"))  # another author's entry
    ann.sign(Edit(Ref(ANN.public_key, 1, bytes(32)), "wrong id"))
    ann.sign(Edit(Ref(ANN.public_key, 2, ann.entries[1][0].id), "an edit of an edit"))
    ben.deliver(store)
    ann.deliver(store)
    found = views.load_keys(store, [(ANN.public_key, 1), (BEN.public_key, 1)])
    assert views.current_versions(store, found) == {}
    assert [item.content for item in found] == [Post("mine"), Post("Ben's")]
    assert post.seq == 1


def test_deleting_an_edit_falls_back_to_the_one_before(store: Store) -> None:
    ann = edited_feed()
    ann.sign(Tombstone(ref_of(ann.entries[2][0])))  # 5: deletes "final text"
    ann.deliver(store)
    original = views.load_keys(store, [(ANN.public_key, 1)])
    current = views.current_versions(store, original)[ANN.public_key, 1].content
    assert isinstance(current, Edit) and current.text == "second draft"
    assert views.tag_counts(store, ANN.public_key) == [("b", 1)]
    # The deleted edit's payload is gone, from the index and from the log.
    assert store.feed_entries(ANN.public_key, before_seq=4)[0].payload is None


@pytest.mark.parametrize("order", [(1, 2, 3, 4, 5), (5, 4, 3, 2, 1), (5, 1, 2, 3, 4)])
def test_deleting_a_post_deletes_its_edits(store: Store, order: tuple[int, ...]) -> None:
    ann = edited_feed()
    ann.sign(Tombstone(ref_of(ann.entries[0][0])))  # 5: deletes the post
    ann.deliver(store, *order)
    stored = {item.entry.seq: item for item in store.feed_entries(ANN.public_key)}
    assert stored[1].deleted
    assert [stored[seq].payload is None for seq in (1, 2, 3, 4, 5)] == [
        True,
        True,
        True,
        False,
        False,
    ]
    assert views.current_versions(store, [stored[1]]) == {}
    assert views.tag_counts(store, ANN.public_key) == []
    assert b"draft" not in (store.directory / store_module.LOG_NAME).read_bytes()


def test_editing_is_refused_for_entries_that_are_not_my_posts(store: Store) -> None:
    post = store.publish(ME, Post("a post"))
    profile = store.publish(ME, Profile("Me"))
    edit = store.publish(ME, Edit(ref_of(post), "edited"))
    ann_entry = Author(ANN).sign(Post("Ann's"))
    for target in (
        ref_of(profile),
        ref_of(edit),
        ref_of(ann_entry),
        Ref(ME.public_key, 1, bytes(32)),
    ):
        with pytest.raises(ContentError, match="only edit your own posts"):
            store.publish(ME, Edit(target, "no"))
    store.publish(ME, Tombstone(ref_of(post)))
    with pytest.raises(ContentError, match="deleted"):
        store.publish(ME, Edit(ref_of(post), "too late"))


# --- reading lists --------------------------------------------------------------------


def list_feed() -> Author:
    ann = Author(ANN)
    note = ann.sign(Post("a note"))  # 1
    first = ann.sign(ReadingList("Week 1", (ListItem(ref=ref_of(note), note="read first"),)))
    ann.sign(
        ReadingList("Week 1, revised", (ListItem(link="https://example.org/a"),), of=ref_of(first))
    )
    ann.sign(ReadingList("Other list", ()))  # 4
    ann.sign(ReadingList("Week 1, final", (), of=ref_of(first)))  # 5
    return ann


@pytest.mark.parametrize("order", [(1, 2, 3, 4, 5), (5, 4, 3, 2, 1), (3, 5, 1, 4, 2)])
def test_a_list_shows_its_latest_version(store: Store, order: tuple[int, ...]) -> None:
    ann = list_feed()
    ann.deliver(store, *order)
    latest = views.reading_list(store, ANN.public_key, 2)
    assert latest is not None and latest.entry.seq == 5
    assert isinstance(latest.content, ReadingList) and latest.content.title == "Week 1, final"
    assert views.reading_list(store, ANN.public_key, 3) is None  # an update, not a list
    assert views.reading_list(store, ANN.public_key, 4) is not None
    assert shown(views.reading_lists(store, [ANN.public_key, BEN.public_key])) == [
        (ANN.public_key, 5),
        (ANN.public_key, 4),
    ]
    store.publish(ME, Follow(ANN.public_key))
    assert listing(store, views.TIMELINE) == [(ANN.public_key, s) for s in (5, 4, 1)]
    assert listing(store, views.AUTHOR, author=ANN.public_key) == [
        (ANN.public_key, s) for s in (5, 4, 1)
    ]


def test_deleting_an_update_or_the_list(store: Store) -> None:
    ann = list_feed()
    ann.sign(Tombstone(ref_of(ann.entries[4][0])))  # 6: the final update
    ann.deliver(store)
    latest = views.reading_list(store, ANN.public_key, 2)
    assert latest is not None and latest.entry.seq == 3
    ann.sign(Tombstone(ref_of(ann.entries[1][0])))  # 7: the list itself
    ann.deliver(store, 7)
    assert views.reading_list(store, ANN.public_key, 2) is None
    assert shown(views.reading_lists(store, [ANN.public_key])) == [(ANN.public_key, 4)]
    payloads = {item.entry.seq: item.payload for item in store.feed_entries(ANN.public_key)}
    assert [payloads[seq] is None for seq in (2, 3, 4, 5)] == [True, True, False, True]


def test_list_updates_are_refused_unless_of_my_own_first_version(store: Store) -> None:
    first = store.publish(ME, ReadingList("Mine", ()))
    update = store.publish(ME, ReadingList("Mine, v2", (), of=ref_of(first)))
    post = store.publish(ME, Post("not a list"))
    for target in (ref_of(update), ref_of(post), ref_of(Author(ANN).sign(ReadingList("x", ())))):
        with pytest.raises(ContentError):
            store.publish(ME, ReadingList("no", (), of=target))
    assert store.publish(ME, ReadingList("Mine, v3", (), of=ref_of(first))).seq == 4
    store.publish(ME, Tombstone(ref_of(first)))
    with pytest.raises(ContentError, match="was deleted"):
        store.publish(ME, ReadingList("Mine, v4", (), of=ref_of(first)))


# --- tags, authors and unread counts ----------------------------------------------------


def test_tag_counts_and_tag_lists_cover_me_and_whom_i_follow(store: Store) -> None:
    store.publish(ME, Follow(ANN.public_key))
    store.publish(ME, Post("mine", tags=("Maths",)))
    ann, cy = Author(ANN), Author(CY)
    ann.sign(Post("one", tags=("maths", "pedagogy")))
    ann.sign(Post("two", tags=("#MATHS",)))
    gone = ann.sign(Post("three", tags=("pedagogy", "gone")))
    ann.sign(Tombstone(ref_of(gone)))
    cy.sign(Post("stranger", tags=("maths", "other")))
    ann.deliver(store)
    cy.deliver(store)
    assert views.tag_counts(store, ME.public_key) == [("maths", 3), ("pedagogy", 1)]
    assert views.tag_counts(store, ME.public_key, limit=1) == [("maths", 3)]
    assert listing(store, views.TAG, tag="#Maths") == [
        (ME.public_key, 2),  # published now: the newest
        (ANN.public_key, 2),
        (ANN.public_key, 1),
    ]
    assert listing(store, views.TAG, tag="maths", hidden=frozenset({ANN.public_key})) == [
        (ME.public_key, 2)
    ]
    assert listing(store, views.AUTHOR, author=CY.public_key) == [(CY.public_key, 1)]
    assert listing(store, views.AUTHOR, author=DI.public_key) == []


def test_unread_by_author_counts_after_each_mark_up_to_the_cap(store: Store) -> None:
    ann, ben = Author(ANN), Author(BEN)
    for number in range(5):
        ann.sign(Post(f"post {number}"), claimed_ms=BASE_MS + number * 1000)
    ann.sign(Follow(BEN.public_key), claimed_ms=BASE_MS + 10_000)  # not a shown type
    gone = ben.sign(Post("deleted"), claimed_ms=BASE_MS + 500)
    ben.sign(Tombstone(ref_of(gone)), claimed_ms=BASE_MS + 600)
    ben.sign(Post("kept"), claimed_ms=BASE_MS + 700)
    ann.deliver(store)
    ben.deliver(store)
    keys = [ANN.public_key, BEN.public_key, DI.public_key]
    counts = views.unread_by_author(store, keys, {}, BASE_MS - 1, 100)
    assert counts == {ANN.public_key: 5, BEN.public_key: 1, DI.public_key: 0}
    marks = {ANN.public_key: BASE_MS + 2500}
    assert views.unread_by_author(store, keys, marks, BASE_MS - 1, 100)[ANN.public_key] == 2
    # The overall mark applies when it is later than the author's.
    assert views.unread_by_author(store, keys, marks, BASE_MS + 3500, 100)[ANN.public_key] == 1
    assert views.unread_by_author(store, keys, {}, BASE_MS - 1, 3)[ANN.public_key] == 3
