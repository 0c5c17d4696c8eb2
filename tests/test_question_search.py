"""Search of open or answered questions with words (the app's Search, type "Open
questions" or "Answered questions"): a full-text search narrowed to the documents of
questions by their facet (lndesk.store.fulltext.QUESTION_FACET), so a page costs what a
page of any search does, however many other posts have the words."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from learning_helpers import Author
from store_helpers import make_identity

from lndesk.app.desk_items import PostItems
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_search import Search
from lndesk.app.service import Service, create_identity
from lndesk.content import Edit, Helpful, Post, Reply
from lndesk.entry_refs import ref_of
from lndesk.search_query import ANSWERED_QUESTIONS, OPEN_QUESTIONS
from lndesk.store import search as store_search
from lndesk.store.fulltext import QUESTION_FACET

BEN, CY = make_identity(81), make_identity(82)
QUESTIONS = 150
PLAIN = 2_000


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    create_identity(tmp_path / "me")
    with Service(tmp_path / "me") as opened:
        yield opened


def searcher(service: Service) -> Search:
    naming = Naming(service.reader, service.local)
    items = PostItems(service.reader, service.local, naming, service.public_key)
    return Search(service, service.reader, items)


def shelf(service: Service) -> tuple[list[int], list[int]]:
    """Ben's questions among many plain posts, every third answered (Cy replied, Ben
    marked it helpful); (open, answered) question seqs, newest first."""
    ben, cy = Author(BEN), Author(CY)
    open_seqs: list[int] = []
    answered_seqs: list[int] = []
    for number in range(PLAIN):
        ben.sign(Post(f"note {number} on spaced practice"))
        asked_so_far = len(open_seqs) + len(answered_seqs)
        if number % (PLAIN // QUESTIONS) or asked_so_far == QUESTIONS:
            continue
        asked = ben.sign(Post(f"question {number}: which book on practice?", question=True))
        if asked_so_far % 3:
            open_seqs.append(asked.seq)
            continue
        answer = cy.sign(Reply("this one", ref_of(asked), ref_of(asked)))
        ben.sign(Helpful(ref_of(answer), ref_of(asked)))
        answered_seqs.append(asked.seq)
    for author in (ben, cy):
        batch = [(entry.raw, payload) for entry, payload in author.entries]
        for start in range(0, len(batch), 1000):
            service.store.ingest(author.key, batch[start : start + 1000])
    return open_seqs[::-1], answered_seqs[::-1]


def seqs_found(search: Search, words: str, kind: str, *, limit: int = 50) -> list[int]:
    """Every result, page by page (``limit`` a page)."""
    found: list[int] = []
    while True:
        page = search.posts(words, type=kind, limit=limit, offset=len(found))
        assert all(r.item.author == BEN.public_key for r in page)
        found += [r.item.seq for r in page]
        if len(page) < limit:
            return found


def test_words_find_exactly_the_questions_in_that_state_page_by_page(service: Service) -> None:
    open_seqs, answered_seqs = shelf(service)
    search = searcher(service)
    assert len(open_seqs) == 100 and len(answered_seqs) == 50
    assert seqs_found(search, "which", OPEN_QUESTIONS) == open_seqs
    assert seqs_found(search, "which book", ANSWERED_QUESTIONS, limit=7) == answered_seqs
    assert seqs_found(search, "practice", OPEN_QUESTIONS, limit=30) == open_seqs
    # In every other post, in no question: nothing.
    assert search.posts("spaced", type=OPEN_QUESTIONS) == []
    (first,) = search.posts("book", type=OPEN_QUESTIONS, limit=1)
    assert first.item.seq == open_seqs[0] and first.spans  # the word is marked
    # Without words: the index's questions, a page at a time.
    assert [r.item.seq for r in search.posts("", type=OPEN_QUESTIONS, offset=90)] == open_seqs[90:]
    # A muted asker's questions are left out, as in every other list.
    service.local.set_muted(BEN.public_key, True, 1_000)
    assert search.posts("which", type=OPEN_QUESTIONS) == []


def test_an_edit_that_asks_or_takes_the_question_back_moves_the_post(service: Service) -> None:
    ben = Author(BEN)
    plain = ben.sign(Post("a note on interleaving"))
    taken = ben.sign(Post("why interleaving?", question=True))
    ben.deliver(service.store)
    search = searcher(service)
    assert [r.item.seq for r in search.posts("interleaving", type=OPEN_QUESTIONS)] == [2]
    ben.sign(Edit(ref_of(plain), "a note on interleaving: which order?", question=True))
    ben.sign(Edit(ref_of(taken), "why interleaving, I see now"))
    ben.deliver(service.store, 3, 4)
    assert [r.item.seq for r in search.posts("interleaving", type=OPEN_QUESTIONS)] == [1]
    assert [r.item.seq for r in search.posts("order", type=OPEN_QUESTIONS)] == [1]


def test_the_question_facet_is_what_narrows_the_search(
    service: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A search of questions asks FTS5 for the facet: with another token in its place it
    finds nothing (the questions join alone would find them, walking every match)."""
    ben = Author(BEN)
    ben.sign(Post("which book?", question=True))
    ben.deliver(service.store)
    search = searcher(service)
    assert len(search.posts("which", type=OPEN_QUESTIONS)) == 1
    monkeypatch.setattr(store_search, "QUESTION_FACET", QUESTION_FACET + "x")
    assert search.posts("which", type=OPEN_QUESTIONS) == []
