"""Forgetting an expired inbox request (lndesk.store.forget) forgets its edits with it:
the request stays hidden and unsearchable, in the index as built and as rebuilt from the
log, whether its edit was stored before the request was forgotten or arrives after."""

from __future__ import annotations

from pathlib import Path

import pytest
from learning_helpers import CY, ME, Author, derived_state, listing
from search_index import assert_words_are_the_documents, indexed_texts, matching

from lndesk.content import Edit, Post, Reply
from lndesk.entry_refs import ref_of
from lndesk.errors import StoreError
from lndesk.store import store as store_module
from lndesk.store import views
from lndesk.store.search import SearchQuery, search
from lndesk.store.store import Store


def a_request_and_its_edit() -> tuple[Author, Author]:
    """My question, a stranger's reply to it (a request in my inbox) and its edit."""
    me, cy = Author(ME), Author(CY)
    question = me.sign(Post("which deck for kanji?", question=True))
    reply = cy.sign(Reply("try my deck", ref_of(question), ref_of(question)))
    cy.sign(Edit(ref_of(reply), "buy my premium flashcards spam", tags=("spam",)))
    return me, cy


def assert_forgotten(store: Store, me: Author, cy: Author) -> None:
    """Cy's reply shows nowhere and no word of it or of its edit can be found."""
    question = me.entries[0][0]
    assert listing(store, views.REQUESTS) == []
    assert listing(store, views.REPLIES) == []
    thread = views.thread(store, (ME.public_key, 1), question.id, 100)
    assert [item.entry.author for item in thread] == [ME.public_key]
    store.index_text()
    assert_words_are_the_documents(store)
    assert indexed_texts(store) == ["which deck for kanji?"]
    for words in ("premium", "spam", "deck"):
        found = {hit.entry.entry.author for hit in search(store, SearchQuery(words))}
        assert found <= {ME.public_key}, words
    assert matching(store, "premium") == []
    assert store.index.conn.execute("SELECT COUNT(*) FROM edits").fetchone()[0] == 0
    assert store.index.conn.execute("SELECT COUNT(*) FROM tags").fetchone()[0] == 0


@pytest.mark.parametrize("edit_arrives", ["before", "after"])
def test_a_forgotten_request_stays_forgotten_with_its_edit_after_a_rebuild(
    tmp_path: Path, edit_arrives: str
) -> None:
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        cy.deliver(store, 1)
        if edit_arrives == "before":
            cy.deliver(store, 2)
        store.index_text()
        store.forget(CY.public_key, [1])  # the request only: its edit is no request
        if edit_arrives == "after":
            cy.deliver(store, 2)
        assert_forgotten(store, me, cy)
        live = derived_state(store)
        store.reindex()
        assert derived_state(store) == live
        assert_forgotten(store, me, cy)
        assert derived_state(store) == live
    with Store(tmp_path / "store") as store:  # the log holds neither text any more
        assert [p for _, p in store.feed_items(CY.public_key)] == [None, None]


def test_an_edit_that_comes_as_a_hole_after_the_forgetting_is_purged_when_filled(
    tmp_path: Path,
) -> None:
    """The edit of a forgotten request arrives without its payload, then with it: the
    payload is purged on arrival and a rebuild brings no word of it back."""
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        cy.deliver(store, 1)
        store.forget(CY.public_key, [1])
        edit, _payload = cy.entries[1]
        store.ingest(CY.public_key, [(edit.raw, None)])
        assert store.payload_holes(CY.public_key, 1, 2, 10) == [2]
        cy.deliver(store, 2)  # the hole is filled: the edit of a forgotten post
        assert store.payload_holes(CY.public_key, 1, 2, 10) == []
        assert_forgotten(store, me, cy)
        live = derived_state(store)
        store.reindex()
        assert derived_state(store) == live
        assert_forgotten(store, me, cy)
    with Store(tmp_path / "store") as store:
        assert [p for _, p in store.feed_items(CY.public_key)] == [None, None]
        store.reindex()
        assert_forgotten(store, me, cy)


def test_a_forgotten_hole_stays_forgotten_when_its_payload_comes(tmp_path: Path) -> None:
    """A request held without its payload and forgotten: its log record says so (PURGED),
    so neither a rebuild nor the payload arriving later brings it back."""
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        request, _payload = cy.entries[0]
        store.ingest(CY.public_key, [(request.raw, None)])
        store.forget(CY.public_key, [1])
        assert store.payload_holes(CY.public_key, 1, 1, 10) == []
        live = derived_state(store)
        store.reindex()
        assert derived_state(store) == live
        assert store.payload_holes(CY.public_key, 1, 1, 10) == []
        cy.deliver(store, 1, 2)  # the payload comes after all, and the edit
        assert_forgotten(store, me, cy)
    with Store(tmp_path / "store") as store:
        assert [p for _, p in store.feed_items(CY.public_key)] == [None, None]
        store.reindex()
        cy.deliver(store, 1)
        assert_forgotten(store, me, cy)
        assert [p for _, p in store.feed_items(CY.public_key)] == [None, None]


def test_a_forgotten_request_whose_purge_is_queued_stays_forgotten_when_rules_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log could not be rewritten when the request was forgotten: the index queued
    the purge. An index of older rules is rebuilt from the log at the next open; no
    tombstone there names the request, so the queued purge is run before the index goes."""
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        cy.deliver(store, 1)
        with monkeypatch.context() as patched:

            def failing(*_args: object) -> int:
                raise OSError("the disk did not take the write")

            patched.setattr(store_module, "purge_payloads", failing)
            store.forget(CY.public_key, [1])
        assert store.index.pending_purges() != []
        store.index.set_meta("rules", b"older rules")
    with Store(tmp_path / "store") as store:
        assert [p for _, p in store.feed_items(CY.public_key)] == [None]
        assert listing(store, views.REQUESTS) == []
        assert listing(store, views.REPLIES) == []


@pytest.mark.parametrize("where", ["open store", "at open"])
def test_a_forgotten_request_whose_purge_is_queued_stays_forgotten_after_a_reindex(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """As above, with the index rebuilt by lndesk reindex (by the node, or at open)."""
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        cy.deliver(store, 1)
        with monkeypatch.context() as patched:

            def failing(*_args: object) -> int:
                raise OSError("the disk did not take the write")

            patched.setattr(store_module, "purge_payloads", failing)
            store.forget(CY.public_key, [1])
        if where == "open store":
            rebuild = store.start_rebuild()
            # Run as it starts, so that it reads the record purged and need not begin
            # again when it finishes.
            assert [p for _, p in store.feed_items(CY.public_key)] == [None]
            store.finish_rebuild(rebuild)
            assert rebuild.restarts == 0
    with Store(tmp_path / "store", reindex=where == "at open") as store:
        assert listing(store, views.REQUESTS) == []
        assert listing(store, views.REPLIES) == []
        assert [p for _, p in store.feed_items(CY.public_key)] == [None]


@pytest.mark.parametrize("disk", ["mended", "still failing"])
def test_a_request_forgotten_while_the_index_is_rebuilt_stays_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, disk: str
) -> None:
    """The log could not be rewritten when the request was forgotten, and a rebuild had
    read its record already: only the old index's queue says it was forgotten, so that
    queue is run before the rebuilt index takes the old one's place (a rebuild that
    cannot run it ends, and the old index stays)."""
    me, cy = a_request_and_its_edit()
    with Store(tmp_path / "store") as store:
        me.deliver(store)
        cy.deliver(store, 1)
        rebuild = store.start_rebuild()
        store.rebuild_step(rebuild, 100)  # the request's record is in the new index
        with monkeypatch.context() as patched:

            def failing(*_args: object) -> int:
                raise OSError("the disk did not take the write")

            patched.setattr(store_module, "purge_payloads", failing)
            store.forget(CY.public_key, [1])
            assert store.index.pending_purges() != []
            store.rebuild_step(rebuild, 100)  # read again: it began again at the failure
            if disk == "still failing":
                with pytest.raises(StoreError, match="did not take the write"):
                    store.finish_rebuild(rebuild)
                assert not store.rebuilding
        if disk == "mended":
            store.finish_rebuild(rebuild)
            assert store.index.pending_purges() == []
        assert listing(store, views.REQUESTS) == []
        assert listing(store, views.REPLIES) == []
    with Store(tmp_path / "store") as store:
        assert [p for _, p in store.feed_items(CY.public_key)] == [None]
        assert listing(store, views.REQUESTS) == []
