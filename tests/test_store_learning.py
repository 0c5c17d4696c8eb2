"""The index's learning state: inboxes, edits, reading lists, tags, unread counts.

Entries may arrive in any order (an edit or a tombstone before the entry it names), so
most properties are checked for several arrival orders, and against an index rebuilt
from the log.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from store_helpers import BASE_MS, STEP_MS, make_identity

import lndesk.store.store as store_module
from lndesk.content import (
    Content,
    Edit,
    Follow,
    Helpful,
    ListItem,
    Post,
    Profile,
    ReadingList,
    Reply,
    Share,
    Tombstone,
    Unfollow,
    encode_content,
)
from lndesk.entry import Entry, create_entry
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import ContentError
from lndesk.identity import Identity
from lndesk.store import views
from lndesk.store.fulltext import FullText
from lndesk.store.helpful import answered, helpful_answers, marks_of
from lndesk.store.store import Store, StoredEntry

ME = make_identity(21)
ANN = make_identity(22)  # I follow Ann
BEN = make_identity(23)  # Ann follows Ben: two hops from me
CY = make_identity(24)  # nobody follows Cy
DI = make_identity(25)


class Author:
    """Signs a chain of contents for one identity; entries are stored when the test says."""

    def __init__(self, identity: Identity) -> None:
        self.identity = identity
        self.key = identity.public_key
        self.entries: list[tuple[Entry, bytes]] = []

    def sign(self, content: Content, claimed_ms: int | None = None) -> Entry:
        seq = len(self.entries) + 1
        prev = self.entries[-1][0].id if self.entries else None
        payload = encode_content(content)
        entry = create_entry(
            self.identity,
            seq=seq,
            prev=prev,
            claimed_ms=BASE_MS + seq * STEP_MS if claimed_ms is None else claimed_ms,
            type=content.type,
            payload=payload,
        )
        self.entries.append((entry, payload))
        return entry

    def deliver(self, store: Store, *seqs: int) -> None:
        """Store these entries, one ingest each, in the order given (all if none)."""
        for seq in seqs or range(1, len(self.entries) + 1):
            entry, payload = self.entries[seq - 1]
            store.ingest(self.key, [(entry.raw, payload)])


def shown(items: Iterable[StoredEntry]) -> list[PostKey]:
    return [(item.entry.author, item.entry.seq) for item in items]


def listing(store: Store, kind: str, **extra: object) -> list[PostKey]:
    query = views.ListQuery(kind, ME.public_key, **extra)  # type: ignore[arg-type]
    return shown(views.page(store, query, views.NEWEST, 100))


def derived_state(store: Store) -> dict[str, object]:
    """Every payload-derived table of the index, keyed by author key instead of feed id."""
    conn = store.index.conn
    keys = dict(conn.execute("SELECT feed, key FROM feeds").fetchall())

    def rows(sql: str, *feed_columns: int) -> list[tuple[object, ...]]:
        found = []
        for row in conn.execute(sql):
            values = list(row)
            for column in feed_columns:
                values[column] = keys.get(values[column], values[column])
            found.append(tuple(values))
        return sorted(found, key=repr)

    return {
        "entries": rows("SELECT feed, seq, deleted, payload_state FROM entries", 0),
        "feeds": rows("SELECT key, name, bio, profile_seq FROM feeds"),
        "follows": rows("SELECT src, dst, seq, active FROM follows", 0, 1),
        "tags": rows("SELECT tag, feed, seq FROM tags", 1),
        "tag_totals": rows("SELECT feed, tag, n FROM tag_totals", 0),
        "refs": rows("SELECT target, kind, feed, seq FROM refs", 2),
        "addressed": rows("SELECT key, feed, seq, kind FROM addressed", 1),
        "edit_claims": rows("SELECT feed, edit_seq, seq, ref_id FROM edit_claims", 0),
        "edits": rows("SELECT feed, seq, edit_seq FROM edits", 0),
        "list_versions": rows("SELECT feed, seq, first_seq, first_id FROM list_versions", 0),
        "lists": rows("SELECT feed, first_seq, latest_seq, title FROM lists", 0),
        # Staged or indexed, a document is the same document (see search_documents).
        "search": search_documents(store),
        "purges": rows("SELECT offset FROM purges"),
    }


def search_documents(store: Store) -> list[tuple[object, ...]]:
    """The full-text documents, indexed and staged alike, by author key: a document is in
    exactly one of the two tables."""
    conn = store.index.conn
    keys = dict(conn.execute("SELECT feed, key FROM feeds").fetchall())
    rows = conn.execute("SELECT feed, seq, text, facets FROM search").fetchall()
    staged, _ = FullText(conn).staged(2**31, store._payload_content)
    rows += [(d.feed, d.seq, d.text, d.facets) for d in staged]
    documents = [
        (keys[feed], seq, text, _facets_by_key(facets, keys)) for feed, seq, text, facets in rows
    ]
    assert len({(key, seq) for key, seq, *_ in documents}) == len(documents), "in both tables"
    return sorted(documents, key=repr)


def _facets_by_key(facets: object, keys: dict[int, bytes]) -> str:
    """Facet tokens with the author's feed id (local to one index) as its key."""
    tokens = str(facets).split()
    return " ".join(keys[int(t[1:])].hex() if t.startswith("a") else t for t in tokens)


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


# --- derived state does not depend on arrival order ---------------------------------------


def busy_feeds() -> list[Author]:
    """Two feeds using every derived kind of entry, with deletions of each."""
    me, ann = Author(ME), Author(ANN)
    p1 = me.sign(Post("on retrieval practice", tags=("Memory",), mentions=(ANN.public_key,)))
    me.sign(Profile("Me"))  # 2
    me.sign(Follow(ANN.public_key))  # 3
    me.sign(Follow(BEN.public_key))  # 4
    a1 = ann.sign(Reply("agreed", ref_of(p1), ref_of(p1), tags=("memory",)))
    ann.sign(Share(ref_of(p1), "worth a read"))  # 2
    first = ann.sign(ReadingList("Ann's list", (ListItem(ref=ref_of(p1), note="classic"),)))
    ann.sign(Edit(ref_of(a1), "agreed, with a caveat", tags=("caveats",)))  # 4
    me.sign(Edit(ref_of(p1), "on retrieval practice, revised", mentions=(CY.public_key,)))  # 5
    me.sign(Profile("Me, renamed"))  # 6
    me.sign(Unfollow(BEN.public_key))  # 7
    me.sign(Tombstone(ref_of(me.entries[5][0])))  # 8: deletes the second profile
    me.sign(Tombstone(ref_of(me.entries[6][0])))  # 9: deletes the unfollow
    ann.sign(ReadingList("Ann's list, v2", (), of=ref_of(first)))  # 5
    ann.sign(Tombstone(ref_of(ann.entries[1][0])))  # 6: deletes the share
    ann.sign(Post("to be deleted, with an edit", tags=("temp",)))  # 7
    ann.sign(Edit(ref_of(ann.entries[6][0]), "edited before deletion"))  # 8
    ann.sign(Tombstone(ref_of(ann.entries[6][0])))  # 9
    ann.sign(Tombstone(ref_of(ann.entries[8][0])))  # 10: a tombstone of a tombstone
    question = me.sign(Post("which book first?", question=True))  # 10
    answer = ann.sign(Reply("this one", ref_of(question), ref_of(question)))  # 11
    other = ann.sign(Reply("or that one", ref_of(question), ref_of(question)))  # 12
    ann.sign(Helpful(ref_of(answer), ref_of(question)))  # 13: not the asker's, no effect
    me.sign(Helpful(ref_of(answer), ref_of(question)))  # 11
    taken_back = me.sign(Helpful(ref_of(other), ref_of(question)))  # 12
    me.sign(Tombstone(ref_of(taken_back)))  # 13: un-marks the other answer
    return [me, ann]


def deliver_in_order(
    store: Store, feeds: Sequence[Author], order: list[tuple[int, int]], index_every: int = 0
) -> None:
    """Deliver entries in ``order``; with ``index_every`` n, index one staged document of
    full-text after every n-th delivery (as the background indexer would, in between)."""
    for number, (author, seq) in enumerate(order, 1):
        feeds[author].deliver(store, seq)
        if index_every and number % index_every == 0:
            store.index_text(limit=1)


def orders(feeds: Sequence[Author]) -> dict[str, list[tuple[int, int]]]:
    every = [(n, seq) for n, feed in enumerate(feeds) for seq in range(1, len(feed.entries) + 1)]
    shuffled = {}
    for seed in range(3):
        picked = list(every)
        random.Random(seed).shuffle(picked)
        shuffled[f"random {seed}"] = picked
    return {"oldest first": every, "newest first": every[::-1], **shuffled}


def test_derived_state_is_the_same_in_every_arrival_order_and_after_a_rebuild(
    tmp_path: Path,
) -> None:
    feeds = busy_feeds()
    states = {}
    for name, order in orders(feeds).items():
        # Text staged all along, indexed as it came (in between deliveries), or a mix.
        for index_every in (0, 1, 3):
            with Store(tmp_path / f"{name.replace(' ', '-')}-{index_every}") as store:
                deliver_in_order(store, feeds, order, index_every)
                live = derived_state(store)
                while store.index_text(limit=2):
                    assert derived_state(store) == live, f"indexing changes {name}"
                assert derived_state(store) == live, f"indexing changes {name}"
                assert store.text_pending() == 0
                store.reindex()
                assert store.text_pending() > 0  # a rebuild stages every document again
                assert derived_state(store) == live, f"rebuild differs after {name}"
                states[f"{name}, indexing after every {index_every}"] = live
    expected = states["oldest first, indexing after every 0"]
    for name, state in states.items():
        assert state == expected, f"{name} differs from oldest first"
    # A few facts, so that "equal" is not "equally empty".
    assert ("Me", 2) in [(row[1], row[3]) for row in expected["feeds"]]  # type: ignore[attr-defined]
    assert expected["lists"] and expected["edits"] and expected["addressed"]
    assert len(expected["search"]) >= 3  # type: ignore[arg-type]
    assert expected["purges"] == []
    marked = {
        (row[1], row[2], row[3]) for row in expected["refs"] if row[1] in ("helpful", "helped")
    }  # type: ignore[attr-defined]
    assert marked == {("helped", ME.public_key, 11), ("helpful", ME.public_key, 11)}


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


def test_derived_state_is_the_same_when_entries_arrive_in_runs(tmp_path: Path) -> None:
    """Runs of several entries per ingest, plain posts among them, in random order: runs
    of plain posts take the index's quick way unless an edit or a tombstone stored
    before names one of them."""
    feeds = busy_feeds()
    me, ann = feeds
    plain = [ann.sign(Post(f"plain post {n}", tags=("Memory", "plain"))) for n in range(4)]
    ann.sign(Edit(ref_of(plain[1]), "plain post, edited", tags=("edited",)))
    ann.sign(Tombstone(ref_of(plain[2])))
    ann.sign(Post("a mention", mentions=(ME.public_key,)))
    me.sign(Post("mine, plain", tags=("mine",)))
    me.sign(Post("mine, plain too"))
    with Store(tmp_path / "one-by-one") as store:
        deliver_in_order(store, feeds, orders(feeds)["oldest first"])
        expected = derived_state(store)
    for seed in range(12):
        rng = random.Random(seed)
        runs = []
        for number, feed in enumerate(feeds):
            first = 1
            while first <= len(feed.entries):
                last = min(len(feed.entries), first + rng.randint(0, 4))
                runs.append((number, first, last))
                first = last + 1
        rng.shuffle(runs)
        with Store(tmp_path / f"runs-{seed}") as store:
            for number, first, last in runs:
                feed = feeds[number]
                store.ingest(feed.key, [(e.raw, p) for e, p in feed.entries[first - 1 : last]])
            assert derived_state(store) == expected, f"runs {runs} differ"
            store.reindex()
            assert derived_state(store) == expected, f"rebuild after runs {runs} differs"


def test_deleted_follows_and_profiles_stop_counting(store: Store) -> None:
    feeds = busy_feeds()
    deliver_in_order(store, feeds, orders(feeds)["oldest first"])
    assert store.feed_state(ME.public_key).name == "Me"  # the renaming was deleted
    assert store.following(ME.public_key) == sorted([ANN.public_key, BEN.public_key])
