"""Bookmarked items of web feeds are on the Bookmarks screen beside bookmarked posts, and
the window's unread count includes unread items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.ui.main_window import MainWindow
from tests.feed_server import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_bookmarked_items_are_on_the_bookmarks_screen(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer
) -> None:
    call(lambda desk: desk.posting.post("keep this post"))
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=10_000)
    post = next(i for i in model.items() if i.kind == "post")
    item = next(i for i in model.items() if i.kind == WEB_ITEM and "Spacing" in i.text)
    bookmarks = window.bookmarks.model
    bookmarks.start()
    window.toggle_bookmark(post)
    qtbot.waitUntil(lambda: bookmarks.rowCount() == 1, timeout=10_000)
    window.toggle_bookmark(item)  # the Bookmarks screen follows (no reopening)
    qtbot.waitUntil(lambda: bookmarks.rowCount() == 2, timeout=10_000)
    shown = {i.post_key: i for i in bookmarks.items()}
    assert shown[item.post_key].kind == WEB_ITEM and shown[item.post_key].bookmarked
    assert shown[post.post_key].text == "keep this post"

    def mark_at_known_times(desk: Any) -> list[Any]:
        desk.service.local.set_bookmark(*post.post_key, False, 0)
        desk.service.local.set_bookmark(*post.post_key, True, 2_000)
        desk.feed_reader.store.set_bookmark(item.seq, True, 3_000)
        desk.feed_reader.store.set_bookmark(1, True, 1_000)
        return list(desk.reading.bookmarks())

    # Newest bookmark first, items and posts alike.
    listed = call(mark_at_known_times)
    assert [i.post_key for i in listed] == [item.post_key, post.post_key, (item.author, 1)]
    call(lambda desk: desk.feed_reader.store.set_bookmark(1, False, 0))
    window.toggle_bookmark(shown[item.post_key])
    qtbot.waitUntil(lambda: bookmarks.rowCount() == 1, timeout=10_000)
    assert bookmarks.items()[0].post_key == post.post_key


def test_the_unread_count_includes_items(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer
) -> None:
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    qtbot.waitUntil(lambda: window.unread == 3, timeout=10_000)
    assert call(lambda desk: desk.reading.unread_count()) == 3
    call(lambda desk: desk.feed_reader.store.set_read(1))
    assert call(lambda desk: desk.reading.unread_count()) == 2
    window.mark_all_read()
    qtbot.waitUntil(lambda: window.unread == 0, timeout=10_000)


def test_items_go_into_reading_lists_as_links_titled_by_the_item(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer
) -> None:
    from lndesk.ui.models.lists import list_key
    from lndesk.ui.views.add_to_list import AddToListMenu

    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10_000)
    spacing = next(i for i in model.items() if "Spacing" in i.text)
    welcome = next(i for i in model.items() if "Welcome" in i.text)

    def menu_for(item: Any) -> AddToListMenu:
        menu = window.add_to_reading_list(item)  # L on a card
        qtbot.waitUntil(lambda: any(a.text() == "New list…" for a in menu.actions()))
        return menu

    with qtbot.waitSignal((menu := menu_for(spacing)).added, timeout=10_000):
        menu.new_list("Teaching")
    (made,) = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert [(e.link, e.note, e.ref) for e in made.list_items] == [
        ("https://teaching.example/2026/spacing", "Spacing", None)
    ]
    # The same item is offered as already in it; another is appended as a link.
    menu = menu_for(spacing)
    (action,) = menu.list_actions()
    assert not action.isEnabled() and "already" in action.text()
    menu.close()
    menu = menu_for(welcome)
    (action,) = menu.list_actions()
    with qtbot.waitSignal(menu.added, timeout=10_000):
        action.trigger()
    (now,) = call(lambda desk: desk.lists.reading_lists(mine=True))
    assert [(e.link, e.note) for e in now.list_items] == [
        ("https://teaching.example/2026/spacing", "Spacing"),
        ("https://teaching.example/2026/welcome", "Welcome"),
    ]
    # Adding it twice by another way is refused with the list's name.
    first = list_key(now)
    with pytest.raises(Exception, match="already in “Teaching”"):
        call(lambda desk: desk.lists.add_web_item(first, welcome.seq))


def test_an_item_is_tagged_from_the_timeline_and_found_by_its_tag(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer
) -> None:
    call(lambda desk: desk.posting.post("a post of mine"))
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    model = window.timeline.model
    qtbot.waitUntil(lambda: model.rowCount() == 4, timeout=10_000)
    view = window.timeline.view
    post_row = next(r for r, i in enumerate(model.items()) if i.kind == "post")
    item_row = next(r for r, i in enumerate(model.items()) if "Spacing" in i.text)
    # Tags… is offered on items of web feeds only (a post's tags are in its text).
    assert "Tags…" not in [a.text() for a in view.menu_actions(model.item(post_row))]
    assert "Tags…" in [a.text() for a in view.menu_actions(model.item(item_row))]
    with qtbot.waitSignal(view.tags_requested) as asked:
        view.setCurrentIndex(model.index(item_row))
        view.setFocus()
        qtbot.keyClick(view, Qt.Key.Key_T)
    seq = asked.args[0].seq
    qtbot.waitUntil(lambda: window.tags_dialog is not None, timeout=10_000)
    dialog = window.tags_dialog
    assert dialog is not None and dialog.isVisible() and dialog.textValue() == ""
    dialog.setTextValue("#Memory, study")
    dialog.accept()
    qtbot.waitUntil(lambda: call(lambda desk: desk.feed_reader.tags(seq)) == ("memory", "study"))
    qtbot.waitUntil(lambda: "#memory #study" in window.statusBar().currentMessage())
    found = call(lambda desk: desk.search.posts("", tag="memory"))
    assert [r.item.seq for r in found] == [seq]
