"""The Reading lists screen and "Add to reading list…" against a real desk and store
(network off): creating, editing and reordering my lists, others' lists, opening items."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtWidgets import QWidget
from store_helpers import make_identity
from ui_helpers import ingest, search, shown, signed_chain

from lndesk.content import ListItem, Post, ReadingList
from lndesk.entry_refs import Ref
from lndesk.ui.main_window import LISTS, MainWindow
from lndesk.ui.models.lists import ListEntriesModel, entry_lines
from lndesk.ui.views import reading_lists
from lndesk.ui.views.add_to_list import choose_list_and_add
from lndesk.ui.views.reading_lists import ReadingListsView

OLD_MS = 1_700_000_000_000


@pytest.fixture
def view(bridge: Any, qtbot: Any) -> ReadingListsView:
    return shown(qtbot, ReadingListsView(bridge))


@pytest.fixture
def opened(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Links handed to the desktop (recorded instead of starting a browser)."""
    urls: list[str] = []

    class Desktop:
        @staticmethod
        def openUrl(url: Any) -> bool:
            urls.append(url.toString())
            return True

    monkeypatch.setattr(reading_lists, "QDesktopServices", Desktop)
    return urls


def titles(view: ReadingListsView) -> list[str]:
    return [view.entries_model.entry(r).title for r in range(view.entries_model.rowCount())]


def change(view: ReadingListsView, qtbot: Any, action: Any) -> None:
    """Make a change and wait until the screen shows the list's new state."""
    with qtbot.waitSignal(view.published, timeout=10_000):
        assert action() is True
    assert not view._busy


def test_create_a_list_add_links_reorder_rename_remove(
    view: ReadingListsView, qtbot: Any, call: Any
) -> None:
    with qtbot.waitSignal(view.model.refreshed):
        view.refresh()
    assert view.lists_empty.isVisible() and not view.editing.isVisible()
    change(view, qtbot, lambda: view.new_list("Statistics, gently"))
    assert view.model.rowCount() == 1
    assert view.selected_list() is not None and view.selected_list().mine
    assert view.title.text() == "Statistics, gently"
    assert "By you · 0 items" in view.meta.text()
    assert view.editing.isVisible() and view.entries_empty.isVisible()
    # add two links, each a new state; the one just added is selected
    view.link_field.setText("https://example.org/first")
    view.note_field.setText("start here")
    change(view, qtbot, view.add_link)
    assert view.link_field.text() == "" and view.note_field.text() == ""
    change(view, qtbot, lambda: view.add_link("https://example.org/second", ""))
    assert titles(view) == ["https://example.org/first", "https://example.org/second"]
    assert view.selected_row() == 1
    assert view.entries_model.entry(0).note == "start here"
    assert "start here" in view.entries_model.data(view.entries_model.index(0))
    assert "2 items" in view.meta.text()
    assert "2 items" in view.model.data(view.model.index(0))
    # while a change is out, no other change is taken (it would undo the first)
    view.select_entry(1)
    with qtbot.waitSignal(view.published):
        assert view.move_entry(-1)
        assert not view.up_button.isEnabled() and not view.add_button.isEnabled()
        assert view.move_entry(1) is False
    assert titles(view) == ["https://example.org/second", "https://example.org/first"]
    assert view.selected_row() == 0  # the moved item stays selected
    assert not view.up_button.isEnabled() and view.down_button.isEnabled()
    change(view, qtbot, lambda: view.move_entry(1))
    assert titles(view) == ["https://example.org/first", "https://example.org/second"]
    change(view, qtbot, lambda: view.rename("Statistics, in order"))
    assert view.title.text() == "Statistics, in order"
    assert titles(view) == ["https://example.org/first", "https://example.org/second"]
    view.select_entry(0)
    change(view, qtbot, view.remove_entry)
    assert titles(view) == ["https://example.org/second"]
    # every change was a new state of the same list: one list, its latest state
    lists = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert len(lists) == 1 and lists[0].text == "Statistics, in order"
    assert [e.link for e in lists[0].list_items] == ["https://example.org/second"]
    assert view.model.rowCount() == 1


def test_bad_input_is_explained_inline(view: ReadingListsView, qtbot: Any) -> None:
    assert view.new_list("   ") is False
    assert view.error.isVisible() and "title" in view.error.text()
    change(view, qtbot, lambda: view.new_list("Links"))
    assert not view.error.isVisible()
    assert view.add_link("") is False and "link" in view.error.text().lower()
    assert view.add_link("not a link", "note")  # the desk refuses it
    qtbot.waitUntil(lambda: not view._busy)
    assert view.error.isVisible() and "link" in view.error.text().lower()
    assert view.add_button.isEnabled()  # editing goes on
    assert view.entries_model.rowCount() == 0


def ingest_feed(call: Any, number: int, contents: list[Any]) -> tuple[bytes, list[Any]]:
    """Store another author's entries as a sync would, and follow them."""
    identity = make_identity(number)
    dates = [OLD_MS + seq * 1000 for seq in range(1, len(contents) + 1)]
    chain = signed_chain(identity, contents, dates)
    ingest(call, identity, chain, follow=True)
    return identity.public_key, [entry for entry, _ in chain]


def test_others_lists_show_after_mine_and_open_their_items(
    view: ReadingListsView, qtbot: Any, call: Any, opened: list[str]
) -> None:
    missing = Ref(make_identity(60).public_key, 3, b"\x01" * 32)
    bo_post = Post("Bo's favourite <b>paper</b>")
    first = ListItem(link="https://example.org/bo", note="a classic")
    # entry 1 is Bo's post; entry 2 his list, recommending it, a link and a post not here
    bo_key, entries = ingest_feed(call, 61, [bo_post])
    post_ref = Ref(bo_key, 1, entries[0].id)
    bo_list = ReadingList(
        "Bo's <i>list</i>",
        (ListItem(ref=post_ref, note="read first"), first, ListItem(ref=missing)),
    )
    ingest_feed(call, 61, [bo_post, bo_list])
    change(view, qtbot, lambda: view.new_list("Mine"))
    qtbot.waitUntil(lambda: view.model.rowCount() == 2)
    assert [i.mine for i in view.model.items()] == [True, False]  # mine first
    view.lists.setCurrentIndex(view.model.index(1))
    assert view.title.text() == "Bo's <i>list</i>"  # plain text, not markup
    assert not view.editing.isVisible() and "only its author" in view.meta.text()
    assert titles(view)[0] == "Bo's favourite <b>paper</b>"
    assert "not stored here yet" in view.entries_model.data(view.entries_model.index(2))
    # a post: its thread
    with qtbot.waitSignal(view.thread_requested) as thread:
        view.open_entry(0)
    assert thread.args[0].post_key == (bo_key, 1)
    # a link: to the browser
    with qtbot.waitSignal(view.link_activated):
        view.open_entry(1)
    assert opened == ["https://example.org/bo"]
    # a post not stored here: said so
    view.open_entry(2)
    assert view.error.isVisible() and "not stored here yet" in view.error.text()


def test_links_other_than_web_links_are_not_opened(
    bridge: Any, qtbot: Any, opened: list[str]
) -> None:
    view = ReadingListsView(bridge)
    qtbot.addWidget(view)
    from lndesk.app.items import ListEntry

    view.entries_model.set_entries(
        [ListEntry("x", link="lndesk://feed/abc"), ListEntry("y", link="file:///etc/passwd")]
    )
    with qtbot.waitSignal(view.lndesk_link_requested):
        view.open_entry(0)
    view.open_entry(1)
    assert opened == [] and view.error.isVisibleTo(view)


def test_add_to_list_menu(bridge: Any, call: Any, qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    call(lambda desk: desk.posting.post("worth reading"))
    post = call(lambda desk: desk.reading.page("mine", None, 1)[0])
    # no list yet: "New list…" makes one holding the post
    menu = choose_list_and_add(bridge, parent, post)
    assert menu.isVisible() and not menu.actions()[0].isEnabled()  # "Loading…" at once
    qtbot.waitUntil(lambda: any(a.text() == "New list…" for a in menu.actions()))
    assert menu.list_actions() == []
    with qtbot.waitSignal(menu.added):
        menu.new_list("Good reads")
    lists = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert len(lists) == 1 and lists[0].text == "Good reads"
    assert [e.ref[:2] for e in lists[0].list_items if e.ref] == [post.post_key]
    # the post is in it already: that list is offered but disabled
    menu = choose_list_and_add(bridge, parent, post)
    with qtbot.waitSignal(menu.loaded):
        pass
    (action,) = menu.list_actions()
    assert not action.isEnabled() and "already" in action.text()
    # another post (given by its key only) is appended to the list chosen
    call(lambda desk: desk.posting.post("also worth it"))
    other = call(lambda desk: desk.reading.page("mine", None, 1)[0])
    assert other.post_key != post.post_key
    menu = choose_list_and_add(bridge, parent, other.post_key)
    with qtbot.waitSignal(menu.loaded):
        pass
    (action,) = menu.list_actions()
    assert action.isEnabled() and action.text() == "Good reads"
    with qtbot.waitSignal(menu.added):
        action.trigger()
    lists = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert [e.ref[:2] for e in lists[0].list_items if e.ref] == [post.post_key, other.post_key]
    # a new list from a key only works too
    menu = choose_list_and_add(bridge, parent, other.post_key)
    with qtbot.waitSignal(menu.added):
        menu.new_list("Second")
    lists = call(lambda desk: desk.lists.reading_lists(mine=True))
    second = next(i for i in lists if i.text == "Second")
    assert [e.ref[:2] for e in second.list_items if e.ref] == [other.post_key]


def test_add_to_list_failure_is_reported(bridge: Any, call: Any, qtbot: Any) -> None:
    parent = QWidget()
    qtbot.addWidget(parent)
    menu = choose_list_and_add(bridge, parent, (b"\x05" * 32, 9))
    with qtbot.waitSignal(menu.failed), qtbot.waitSignal(bridge.error):
        menu.new_list("Nothing to add")


def test_models_pass_the_model_tester(
    view: ReadingListsView, qtbot: Any, call: Any, qtmodeltester: Any
) -> None:
    change(view, qtbot, lambda: view.new_list("One"))
    change(view, qtbot, lambda: view.add_link("https://example.org/a", "note a"))
    change(view, qtbot, lambda: view.new_list("Two"))
    assert view.model.rowCount() == 2
    qtmodeltester.check(view.model)
    qtmodeltester.check(view.entries_model)
    model = ListEntriesModel()
    from lndesk.app.items import ListEntry

    model.set_entries([ListEntry("t", "n\nmore", link="https://x.org"), ListEntry("p")])
    qtmodeltester.check(model)
    assert entry_lines(model.entry(0)) == "https://x.org\n“n more”\nlink"


# --- in the window ----------------------------------------------------------------------


def test_a_list_found_by_search_opens_on_the_lists_page(
    window: MainWindow, call: Any, qtbot: Any
) -> None:
    call(lambda desk: desk.lists.publish_list("Bayesian reading", []))
    call(lambda desk: desk.lists.publish_list("Other list", []))
    window.find_posts()
    screen = window.search
    search(screen, qtbot, "bayesian")
    assert screen.model.rowCount() == 1
    screen.results.setCurrentIndex(screen.model.index(0))
    screen.results.doubleClicked.emit(screen.model.index(0))
    assert window.stack.currentIndex() == LISTS
    page = window.reading_lists
    qtbot.waitUntil(lambda: page.selected_list() is not None)
    qtbot.waitUntil(lambda: page.title.text() == "Bayesian reading")
