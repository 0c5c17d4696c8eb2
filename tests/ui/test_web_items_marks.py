"""Bookmarked items of web feeds are on the Bookmarks screen beside bookmarked posts, and
the window's unread count includes unread items."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

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
