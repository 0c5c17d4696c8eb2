"""Answers to a pseudonym's question are answers to mine (docs/protocol.md 32.5, README
"Pseudonyms"): in Mentions & replies whoever wrote them, marked as not followed when
their author is outside my circle, and offered to follow in one click; a stranger's
mention of the pseudonym that answers nothing stays in Requests, as one of me would."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import trio
from store_helpers import make_identity

import lndesk.pseudonyms
from lndesk.app import answers, pseudonym_marks, pseudonyms
from lndesk.app.desk import Desk
from lndesk.app.service import Service, create_identity
from lndesk.content import Post, Profile, Reply
from lndesk.entry_refs import ref_of
from lndesk.errors import ContentError, UsageError
from lndesk.keytext import key_to_text

BO, CY = make_identity(42), make_identity(43)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    create_identity(tmp_path / "ann")
    with Service(tmp_path / "ann") as service:
        desk = Desk(service)
        try:
            yield desk
        finally:
            desk.close()


def test_a_strangers_answer_to_a_pseudonyms_question_shows_and_offers_a_follow(
    desk: Desk,
) -> None:
    service = desk.service
    fox, question, _created = pseudonyms.ask(service, "curious-fox", "Why do cats purr?")
    plain = service.store.publish(fox, Post("A note, not a question."))
    root, note = ref_of(question), ref_of(plain)
    store = service.store
    store.publish(BO, Profile("Bo"))
    answer = store.publish(BO, Reply("To calm themselves.", root, root))
    store.publish(CY, Profile("Cy"))
    aside = store.publish(CY, Reply("Nice note.", note, note))  # no question: a request
    mention = store.publish(CY, Post("Ask curious-fox.", mentions=(fox.public_key,)))
    replies = {item.post_key: item for item in desk.reading.page("replies", None, 50)}
    requests = [item.post_key for item in desk.reading.page("requests", None, 50)]
    shown = replies[BO.public_key, answer.seq]
    assert shown.answers_mine and not shown.followed and shown.author_name == "Bo"
    assert (CY.public_key, aside.seq) in requests
    assert (CY.public_key, mention.seq) in requests
    assert (CY.public_key, aside.seq) not in replies
    assert not any(item.answers_mine for item in replies.values() if item.author == CY.public_key)

    # One click follows Bo (as myself: nothing names the pseudonym), and the offer goes.
    trio.run(lambda: desk.people.follow(key_to_text(BO.public_key), source="answer"))
    (again,) = desk.items.marks_changed([shown])
    assert again.followed and again.answers_mine
    assert store.following(fox.public_key) == []


def test_lists_read_the_key_files_only_when_a_pseudonym_is_made_or_removed(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Which pseudonyms are mine decides whether an answer answers me; a list reads the
    key files again only when a pseudonym was made, replaced or removed (a reveal
    changes no key file)."""
    reads = counted_reads(monkeypatch)
    service, store = desk.service, desk.service.store
    store.publish(BO, Profile("Bo"))

    fox, question, _created = pseudonyms.ask(service, "curious-fox", "Why do cats purr?")
    answer = store.publish(BO, Reply("To calm themselves.", ref_of(question), ref_of(question)))

    def answers_mine() -> bool:
        (shown,) = desk.items.items([desk.items.find((BO.public_key, answer.seq))])
        return shown.answers_mine

    assert answers_mine() and len(reads) == 1  # made after the desk: read once
    assert answers_mine() and answers_mine() and len(reads) == 1
    pseudonyms.reveal(service, "curious-fox")
    assert answers_mine() and len(reads) == 1
    path = service.data_dir / "pseudonyms" / "curious-fox.key"
    kept = path.read_bytes()
    path.unlink()  # removed by hand
    assert not answers_mine() and len(reads) == 2
    path.write_bytes(kept)
    assert answers_mine() and len(reads) == 3
    assert fox.public_key in desk.service.pseudonyms()


def counted_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """One item per reading of every pseudonym key file, from now on, whichever module
    reads them (one that imported the reading function by its name too)."""
    reads: list[int] = []
    real = lndesk.pseudonyms.pseudonym_keys

    def counted(data_dir: Path) -> frozenset[bytes]:
        reads.append(1)
        return real(data_dir)

    for name, module in list(sys.modules.items()):
        if name.startswith("lndesk") and vars(module).get("pseudonym_keys") is real:
            monkeypatch.setattr(module, "pseudonym_keys", counted)
    return reads


def test_the_inbox_lists_and_marks_share_one_read_of_the_key_files(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service's inbox, the desk's reply list, its items and the three ways to mark
    an answer (the desk's, the command's and a pseudonym's) ask one set of keys, read
    again only when a key file is removed by hand or put back; each sees the change when
    asked first."""
    reads = counted_reads(monkeypatch)
    service, store = desk.service, desk.service.store
    store.publish(BO, Profile("Bo"))
    fox, question, _created = pseudonyms.ask(service, "curious-fox", "Why do cats purr?")
    answer = store.publish(BO, Reply("To calm themselves.", ref_of(question), ref_of(question)))
    mine = service.publish(Post("Why do dogs bark?", question=True))
    own_answer = store.publish(fox, Reply("To talk.", ref_of(mine), ref_of(mine)))
    my_reply = service.publish(Reply("Contentment.", ref_of(question), ref_of(question)))
    key = (BO.public_key, answer.seq)

    def refused(mark: Callable[[], object], error: type[Exception], match: str) -> bool:
        try:
            mark()
        except error as exc:
            assert re.search(match, str(exc))
            return True
        return False

    def desk_mark() -> bool:
        """Fox answered my question: marking that answer would link us."""
        mark = (fox.public_key, own_answer.seq)
        return refused(lambda: trio.run(desk.answers.mark_helpful, mark), ContentError, "link")

    def command_mark() -> bool:
        """Bo answered fox: the command leaves that mark to the pseudonym."""
        try:
            answers.mark(service, answer.id.hex())
        except UsageError as exc:
            return "under one of your pseudonyms" in str(exc)
        except ContentError as exc:
            assert "someone else's post" in str(exc)  # as for any stranger's question
        return False

    def pseudonym_mark() -> bool:
        """I answered fox's question: fox's mark of my answer would link us (with fox's
        key file gone, no pseudonym of mine asked it)."""
        stored = service.resolve(my_reply.id.hex())
        try:
            return refused(lambda: pseudonym_marks.mark(service, stored), ContentError, "link")
        except UsageError as exc:
            assert "not asked under one of your pseudonyms" in str(exc)
            return False

    readers: dict[str, Callable[[], bool]] = {
        "inbox": lambda: key in [(e.entry.author, e.entry.seq) for e in service.inbox()],
        "replies": lambda: key in [i.post_key for i in desk.reading.page("replies", None, 50)],
        "items": lambda: desk.items.items([desk.items.find(key)])[0].answers_mine,
        "desk mark": desk_mark,
        "command mark": command_mark,
        "pseudonym mark": pseudonym_mark,
    }
    assert {name: read() for name, read in readers.items()} == dict.fromkeys(readers, True)
    assert len(reads) == 1
    path = service.data_dir / "pseudonyms" / "curious-fox.key"
    kept = path.read_bytes()
    for name, first in readers.items():
        path.unlink()  # removed by hand: Bo answered a stranger, and fox is not me
        assert not first(), name
        assert not any(read() for read in readers.values())
        path.write_bytes(kept)  # put back
        assert first(), name
        assert all(read() for read in readers.values())
    assert len(reads) == 1 + 2 * len(readers)
