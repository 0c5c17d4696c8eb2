"""The desk's feature objects, each built from only what its constructor declares.

No Desk facade here: a feature that quietly needed another's state would not build or
would answer wrongly. Everything runs offline (no node), so publishing goes straight to
the service and is announced as LocalChanged("published").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_inbox import Inbox
from lndesk.app.desk_items import READ_MARK, PostItems
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_people import People
from lndesk.app.desk_posting import Posting
from lndesk.app.desk_publish import NodeLink, Publisher
from lndesk.app.desk_reading import Reading
from lndesk.app.service import Service, create_identity
from lndesk.errors import ContentError, UsageError
from lndesk.keytext import key_to_text


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    create_identity(tmp_path / "ann")
    with Service(tmp_path / "ann") as service:
        yield service


def parts(service: Service, events: list[AnyEvent]) -> tuple[PostItems, Publisher]:
    naming = Naming(service.reader, service.local)
    items = PostItems(service.reader, service.local, naming, service.public_key)
    return items, Publisher(service, NodeLink(), service.local, events.append)


def test_posting_and_reading_share_only_the_items_and_the_publisher(service: Service) -> None:
    events: list[AnyEvent] = []
    items, publisher = parts(service, events)
    posting = Posting(publisher, items, service.public_key)
    reading = Reading(service, service.reader, items, events.append)
    assert service.local.get(READ_MARK) > 0  # history from before now arrives as read

    async def write() -> tuple[int, int]:
        first = await posting.post("Notes on *retrieval practice*", ["learning"])
        answer = await posting.reply((service.public_key, first), "and spacing")
        return first, answer

    first, answer = trio.run(write)
    assert events == [LocalChanged("published"), LocalChanged("published")]
    mine = reading.page("mine", None, 10)
    assert [item.seq for item in mine] == [answer, first]
    assert mine[1].reply_count == 1 and mine[1].tags == ("learning",)
    reading.set_bookmark((service.public_key, first), True)
    assert [item.seq for item in reading.bookmarks()] == [first]
    assert events[-1] == LocalChanged("bookmarks")


def test_people_follow_through_the_publisher_and_keep_the_rest_on_this_device(
    service: Service, tmp_path: Path
) -> None:
    create_identity(tmp_path / "bo")
    with Service(tmp_path / "bo") as bo:
        bo_key = bo.public_key
    events: list[AnyEvent] = []
    _items, publisher = parts(service, events)
    naming = Naming(service.reader, service.local)
    people = People(service, service.reader, publisher, naming, events.append)

    author = trio.run(people.follow, key_to_text(bo_key))
    assert author.key == bo_key and author.source == "pasted key"
    assert events == [LocalChanged("published"), LocalChanged("following")]
    assert [a.key for a in people.following()] == [bo_key]
    assert service.own_state().height == 1  # the follow is an entry of my log
    people.set_muted(bo_key, True)
    assert people.author(bo_key).muted
    assert people.set_nickname(bo_key, "  Bo from class ") == "Bo from class"
    assert people.names([bo_key]) == {bo_key: "Bo from class"}
    with pytest.raises(UsageError, match="your own key"):
        trio.run(people.follow, key_to_text(service.public_key))


def test_an_inbox_and_posting_refuse_what_is_not_theirs_to_do(
    service: Service, tmp_path: Path
) -> None:
    create_identity(tmp_path / "bo")
    with Service(tmp_path / "bo") as bo:
        theirs = bo.post("a post by Bo")
        service.store.ingest(bo.public_key, list(bo.store.feed_items(bo.public_key)))
    events: list[AnyEvent] = []
    items, publisher = parts(service, events)
    posting = Posting(publisher, items, service.public_key)
    with pytest.raises(ContentError, match="only delete your own"):
        trio.run(posting.delete, (theirs.author, theirs.seq))
    with pytest.raises(UsageError, match="no longer stored"):
        trio.run(posting.share, (theirs.author, theirs.seq + 5))
    assert events == []
    inbox = Inbox(service, service.reader, events.append)
    assert inbox.requests_count() == 0
    inbox.accept(theirs.author)
    assert events == [LocalChanged("accepted")]


def test_answers_mark_and_search_lists_open_and_answered_questions(
    service: Service, tmp_path: Path
) -> None:
    from lndesk.app.desk_answers import Answers
    from lndesk.app.desk_search import Search
    from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS

    events: list[AnyEvent] = []
    items, publisher = parts(service, events)
    answers = Answers(
        service.reader,
        publisher,
        items,
        service.public_key,
        service.hidden,
        data_dir=service.data_dir,
        pseudonyms=service.pseudonyms.current,
    )
    search = Search(service, service.reader, items)
    create_identity(tmp_path / "bo")
    with Service(tmp_path / "bo") as bo:
        asked = [service.post(text, question=True) for text in ("Which book?", "Why fractions?")]
        service.post("Not a question")
        bo.store.ingest(service.public_key, list(service.store.feed_items(service.public_key)))
        answer = bo.reply(asked[0].id.hex(), "The blue one.")
        service.store.ingest(bo.public_key, list(bo.store.feed_items(bo.public_key)))

        def texts(type_: str, text: str = "") -> list[str]:
            return [r.item.text for r in search.posts(text, type=type_)]

        assert texts(OPEN_QUESTIONS) == ["Why fractions?", "Which book?"]
        assert texts(ANSWERED_QUESTIONS) == []
        trio.run(answers.mark_helpful, (bo.public_key, answer.seq))
        assert texts(OPEN_QUESTIONS) == ["Why fractions?"]
        assert texts(ANSWERED_QUESTIONS) == ["Which book?"]
        assert texts(ANSWERED_QUESTIONS, "book") == ["Which book?"]
        assert texts(ANSWERED_QUESTIONS, "fractions") == []
        (found,) = search.posts("which", type=ANSWERED_QUESTIONS)
        assert found.item.answered and found.spans == ((0, 5),)
        assert [i.text for i in answers.questions("answered")] == ["Which book?"]
        # a muted or blocked asker's questions are left out, as in every other list
        bo.post("Where to start?", question=True)
        service.store.ingest(bo.public_key, list(bo.store.feed_items(bo.public_key)))
        assert answers.questions()[0].text == "Where to start?"
        for hide in (service.local.set_muted, service.local.set_blocked):
            hide(bo.public_key, True, 1_000)
            assert [i.text for i in answers.questions()] == ["Why fractions?", "Which book?"]
            hide(bo.public_key, False, 1_000)
        assert len(answers.questions()) == 3
        with pytest.raises(ContentError, match="only the person who asked"):
            trio.run(
                Answers(
                    bo.reader,
                    publisher,
                    items,
                    bo.public_key,
                    bo.hidden,
                    data_dir=bo.data_dir,
                    pseudonyms=bo.pseudonyms.current,
                ).mark_helpful,
                (bo.public_key, answer.seq),
            )


def test_what_peers_reported_of_a_thread_is_kept_on_the_device(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "N more not fetched yet" survives a restart: the latest fetch's report is kept in
    local.sqlite3, replaced by the next, at most MAX_THREAD_TOTALS threads."""
    from lndesk.app import local as local_module
    from lndesk.app.desk_threads import Threads
    from lndesk.app.local import LocalState
    from lndesk.entry_refs import ref_of

    events: list[AnyEvent] = []
    items, _ = parts(service, events)
    question = service.post("Which book?", question=True)
    threads = Threads(service, NodeLink())
    assert threads.counts(ref_of(question)).reported == 0
    # Offline a fetch asks nobody: it says so, and keeps nothing.
    assert trio.run(threads.fetch_thread, ref_of(question)).asked == 0
    service.local.keep_thread_total(question.id, 3, 1_000)
    assert threads.counts(ref_of(question)).reported == 3
    (item,) = items.items([service.resolve(question.id.hex())])
    assert item.replies_reported == 3
    service.local.keep_thread_total(question.id, 2, 2_000)  # the next fetch's replaces it
    restarted = LocalState(service.data_dir)
    assert restarted.thread_total(question.id) == 2
    monkeypatch.setattr(local_module, "MAX_THREAD_TOTALS", 2)
    for number in range(3):
        restarted.keep_thread_total(bytes([number]) * 32, 5, 3_000 + number)
    kept = [restarted.thread_total(bytes([n]) * 32) for n in range(3)]
    assert kept == [0, 5, 5] and restarted.thread_total(question.id) == 0
    restarted.close()


def test_a_questions_item_and_its_thread_count_the_same_replies(service: Service) -> None:
    """What a peer reports (``total``) counts the whole thread: the question's item and
    the thread's counts compare it with the same count, nested replies included."""
    from lndesk.app.desk_threads import Threads, not_fetched
    from lndesk.entry_refs import ref_of

    items, _ = parts(service, [])
    question = service.post("Which book?", question=True)
    answer = service.reply(question.id.hex(), "The blue one.")
    service.reply(answer.id.hex(), "Which blue one?")  # answers the answer, in the thread
    service.local.keep_thread_total(question.id, 3, 1_000)
    (item,) = items.items([service.resolve(question.id.hex())])
    counts = Threads(service, NodeLink()).counts(ref_of(question))
    assert (item.reply_count, item.replies_known, counts.known) == (1, 2, 2)
    assert not_fetched(item.replies_reported, item.replies_known) == counts.not_fetched == 1
