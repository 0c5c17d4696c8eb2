"""The service's learning features: mentions, questions, edits, reading lists, blocks,
the inbox and its requests, and search, on real stores (no network)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from lndesk.app.service import Service, create_identity
from lndesk.content import Edit, ListItem, Post, ReadingList, Reply
from lndesk.entry_refs import ref_of
from lndesk.errors import ContentError, UsageError
from lndesk.keytext import key_to_text, mentions_in
from lndesk.store.search import SearchQuery


class People:
    """Services in their own data dirs; ``carry`` copies one's feed into another's store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.open: list[Service] = []

    def __call__(self, name: str) -> Service:
        data_dir = self.root / name
        create_identity(data_dir)
        service = Service(data_dir)
        service.set_profile(name.capitalize())
        self.open.append(service)
        return service

    @staticmethod
    def carry(source: Service, target: Service) -> None:
        items = list(source.store.feed_items(source.public_key))
        target.store.ingest(source.public_key, items)


@pytest.fixture
def people(tmp_path: Path) -> Iterator[People]:
    made = People(tmp_path)
    yield made
    for service in made.open:
        service.close()


def text(service: Service) -> Iterator[str]:
    for stored in service.inbox(limit=100):
        yield getattr(stored.content, "text", "")


def test_mentions_are_found_in_the_text(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    bo_text = key_to_text(bo.public_key)
    typo = bo_text[:-1] + ("a" if bo_text[-1] != "a" else "b")
    assert mentions_in(f"ask @{bo_text}, not @{typo}; again @{bo_text.upper()}") == (bo.public_key,)
    entry = ann.post(f"What do you think, @{bo_text}?", question=True)
    stored = ann.resolve(entry.id.hex())
    assert stored.content == Post(
        f"What do you think, @{bo_text}?", mentions=(bo.public_key,), question=True
    )


def test_at_most_sixteen_mentions(people: People) -> None:
    ann = people("ann")
    keys = [bytes([i]) * 32 for i in range(17)]
    with pytest.raises(ContentError, match="at most 16"):
        ann.post("everyone", mentions=keys)
    assert ann.own_state().height == 1  # only the profile


def test_edit_rules(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    post = ann.post("Fractoins")
    first = ann.edit(post.id.hex(), "Fractions", ["maths"], question=True)
    content = ann.resolve(first.id.hex()).content
    assert content == Edit(ref_of(post), "Fractions", ("maths",), question=True)
    # Editing an edit edits the original again.
    second = ann.edit(first.id.hex(), "Fractions, again")
    assert isinstance(edit := ann.resolve(second.id.hex()).content, Edit)
    assert edit.ref == ref_of(post)
    follow = ann.follow(key_to_text(bo.public_key))[1]
    assert follow is not None
    with pytest.raises(ContentError, match="only posts and replies"):
        ann.edit(follow.id.hex(), "x")
    bo_post = bo.post("Bo's own")
    People.carry(bo, ann)
    with pytest.raises(ContentError, match="your own"):
        ann.edit(bo_post.id.hex(), "mine now")
    ann.delete(post.id.hex())
    with pytest.raises(ContentError, match="deleted"):
        ann.edit(post.id.hex(), "back")


def test_reading_list_updates_name_the_first_version(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    post = ann.post("Start with paper strips")
    first = ann.publish_list("Fractions", [ListItem(ref=ref_of(post), note="first")])
    update = ann.publish_list(
        "Fractions, ages 8-10",
        [ListItem(link="https://example.org/strips")],
        ann.resolve(first.id.hex()),
    )
    # An update of the update still names the first version.
    again = ann.publish_list("Fractions", [], ann.resolve(update.id.hex()))
    content = ann.resolve(again.id.hex()).content
    assert isinstance(content, ReadingList)
    assert content.of == ref_of(first)
    bo_list = bo.publish_list("Bo's", [])
    People.carry(bo, ann)
    with pytest.raises(ContentError, match="your own reading lists"):
        ann.publish_list("taken", [], ann.resolve(bo_list.id.hex()))


def test_block_unfollows_hides_and_accept_unblocks(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    ann.follow(key_to_text(bo.public_key))
    key, unfollow = ann.block(key_to_text(bo.public_key))
    assert key == bo.public_key and unfollow is not None
    assert bo.public_key not in ann.store.following(ann.public_key)
    assert bo.public_key in ann.hidden()
    again = ann.block(key_to_text(bo.public_key))
    assert again[1] is None  # no second unfollow entry
    with pytest.raises(UsageError, match="yourself"):
        ann.block(key_to_text(ann.public_key))
    ann.accept(key_to_text(bo.public_key))
    assert bo.public_key not in ann.local.blocked()
    assert bo.public_key in ann.local.accepted()


def test_inbox_two_hops_requests_and_accept(people: People) -> None:
    """Lea (3 hops away) lands in requests; Cy (2 hops: Ann follows Bo, Bo follows Cy)
    lands in the inbox; accepting Lea moves her reply. (Ann's post is no question: every
    answer to a question shows in the inbox, test_answers_to_a_question_skip_requests.)"""
    ann, bo, cy, lea = people("ann"), people("bo"), people("cy"), people("lea")
    question = ann.post("I teach fractions with paper.")
    ann.follow(key_to_text(bo.public_key))
    bo.follow(key_to_text(cy.public_key))
    for other in (cy, lea):
        People.carry(ann, other)
    cy.reply(question.id.hex(), "Paper strips.")
    lea.reply(question.id.hex(), "Pizza slices!")
    for other in (bo, cy, lea):
        People.carry(other, ann)
    assert list(text(ann)) == ["Paper strips."]
    requests = ann.inbox(requests=True)
    assert [r.entry.author for r in requests] == [lea.public_key]
    assert isinstance(requests[0].content, Reply)
    ann.accept(key_to_text(lea.public_key))
    assert sorted(text(ann)) == ["Paper strips.", "Pizza slices!"]
    assert ann.inbox(requests=True) == []
    ann.block(key_to_text(lea.public_key))
    assert list(text(ann)) == ["Paper strips."]


def test_answers_to_a_question_skip_requests(people: People) -> None:
    """Lea (nobody Ann knows) answers Ann's question: the answer shows in the inbox, not
    in requests, and a reply to the answer is in the question's thread too; her reply to
    Ann's post that is no question waits in requests; blocking her hides both."""
    ann, lea = people("ann"), people("lea")
    question = ann.post("How do you teach fractions?", question=True)
    note = ann.post("Fractions are hard.")
    People.carry(ann, lea)
    lea.reply(question.id.hex(), "Pizza slices!")
    lea.reply(note.id.hex(), "They are.")
    People.carry(lea, ann)
    assert list(text(ann)) == ["Pizza slices!"]
    assert [getattr(r.content, "text", "") for r in ann.inbox(requests=True)] == ["They are."]
    ann.block(key_to_text(lea.public_key))
    assert ann.inbox() == [] and ann.inbox(requests=True) == []


def test_mention_and_share_reach_the_inbox(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    post = ann.post("Notes on feedback")
    ann.follow(key_to_text(bo.public_key))
    People.carry(ann, bo)
    bo.post(f"Read @{key_to_text(ann.public_key)} on feedback")
    bo.share(post.id.hex(), "worth it")
    People.carry(bo, ann)
    kinds = sorted(stored.entry.type for stored in ann.inbox())
    assert kinds == ["post", "share"]


def test_search_leaves_out_blocked_feeds(people: People) -> None:
    ann, bo = people("ann"), people("bo")
    ann.post("Spaced repetition works for vocabulary")
    bo.post("Spaced repetition is overrated")
    People.carry(bo, ann)
    found = ann.search(SearchQuery("repetition", None, None, None, None, None, frozenset()))
    assert len(found) == 2
    ann.block(key_to_text(bo.public_key))
    found = ann.search(SearchQuery("repetition", None, None, None, None, None, frozenset()))
    assert [hit.entry.entry.author for hit in found] == [ann.public_key]


def test_blocked_people_vanish_from_threads_and_quotes(tmp_path: Path) -> None:
    from lndesk.app.desk import Desk

    made = People(tmp_path)
    ann, bo, zed = made("ann"), made("bo"), made("zed")
    try:
        question = ann.post("Which textbook?", question=True)
        for other in (bo, zed):
            People.carry(ann, other)
        bo.reply(question.id.hex(), "The blue one.")
        zed_post = zed.reply(question.id.hex(), "spam spam")
        zed.post("a post worth sharing")
        People.carry(zed, bo)
        bo.share(zed.store.feed_entries(zed.public_key, 1)[0].entry.id.hex())
        for other in (bo, zed):
            People.carry(other, ann)
        desk = Desk(ann)
        root = (ann.public_key, question.seq, question.id)
        assert {i.author for i in desk.reading.thread(root)} == {
            ann.public_key,
            bo.public_key,
            zed.public_key,
        }
        share = next(
            i
            for i in desk.items.items(ann.store.feed_entries(bo.public_key, 5))
            if i.kind == "share"
        )
        assert share.quoted is not None and share.quoted.author == zed.public_key
        ann.block(key_to_text(zed.public_key))
        assert {i.author for i in desk.reading.thread(root)} == {ann.public_key, bo.public_key}
        share = next(
            i
            for i in desk.items.items(ann.store.feed_entries(bo.public_key, 5))
            if i.kind == "share"
        )
        assert share.quoted is None
        assert zed_post.id not in [s.entry.id for s in ann.inbox(requests=True)]
        desk.close()
    finally:
        for service in made.open:
            service.close()


def test_a_list_refresh_reports_a_post_edited_since_it_was_shown(tmp_path: Path) -> None:
    from lndesk.app.desk import Desk

    made = People(tmp_path)
    ann, bo = made("ann"), made("bo")
    try:
        ann.follow(key_to_text(bo.public_key))
        post = bo.post("Fractoins with paper strips")
        People.carry(bo, ann)
        desk = Desk(ann)
        first = desk.reading.refresh("timeline", None, {})
        known = {item.post_key: item for item in first.new}
        assert known[(bo.public_key, post.seq)].text == "Fractoins with paper strips"
        bo.edit(post.id.hex(), "Fractions with paper strips")
        People.carry(bo, ann)
        again = desk.reading.refresh("timeline", None, known)
        (changed,) = [i for i in again.changed if i.post_key == (bo.public_key, post.seq)]
        assert changed.text == "Fractions with paper strips" and changed.edited
        assert changed.version > post.seq
        known[changed.post_key] = changed
        assert desk.reading.refresh("timeline", None, known).changed == []
        desk.close()
    finally:
        for service in made.open:
            service.close()
