"""Items of web feeds are found again like posts: Search lists them beside posts, newest
first, with pages that continue across both kinds; the type filter lists items alone;
their tags and dates narrow them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from ui_helpers import search

from lndesk.app.desk_webitems import WEB_ITEM
from lndesk.content import Post
from lndesk.ui.main_window import SEARCH, TIMELINE, MainWindow
from lndesk.ui.models.search import HIGHLIGHT_OPEN, HtmlRole
from lndesk.ui.views.search import PAGE
from tests.feed_server import Answer, FeedServer, Request

BASE_MS = 1_780_000_000_000
"""May 2026: every item and post below is claimed after it, a minute apart."""
MINUTE = 60_000


def _date(ms: int) -> str:
    return format_datetime(datetime.fromtimestamp(ms / 1000, UTC), usegmt=True)


def _rss(count: int) -> bytes:
    """A feed of ``count`` items about flashcards, item n published at BASE_MS + 2n minutes."""
    items = "".join(
        f"<item><title>Flashcards item {n}</title>"
        f"<link>https://cards.example/{n}</link><guid>card-{n}</guid>"
        f"<pubDate>{_date(BASE_MS + 2 * n * MINUTE)}</pubDate>"
        f"<description>About flashcards, part {n}.</description></item>"
        for n in range(count)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Cards</title>'
        f"<link>https://cards.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def _serve(server: FeedServer, count: int) -> str:
    body = _rss(count)

    def route(_request: Request) -> Answer:
        return Answer(200, {"Content-Type": "application/rss+xml"}, body)

    server.routes["/cards.xml"] = route
    return server.url("/cards.xml")


def _posts(call: Any, count: int) -> None:
    """My posts about flashcards, post n claimed at BASE_MS + (2n + 1) minutes."""

    def run(desk: Any) -> None:
        for n in range(count):
            desk.service.store.publish(
                desk.service.identity,
                Post(f"flashcards post {n}"),
                BASE_MS + (2 * n + 1) * MINUTE,
            )

    call(run)


def test_search_finds_items_beside_posts_newest_first_across_pages(
    call: Any, server: FeedServer
) -> None:
    url = _serve(server, 30)
    call(lambda desk: desk.feed_reader.follow(url))
    _posts(call, 30)
    pages = []
    offset = 0
    while True:
        found = call(lambda desk, at=offset: desk.search.posts("flashcards", limit=7, offset=at))
        pages.extend(found)
        offset += len(found)
        if len(found) < 7:
            break
    assert len(pages) == 60
    claimed = [r.item.claimed_ms for r in pages]
    assert claimed == sorted(claimed, reverse=True)
    assert [r.item.kind for r in pages[:2]] == ["post", WEB_ITEM]
    assert len({r.item.post_key for r in pages if r.item.kind == WEB_ITEM}) == 30
    newest_item = pages[1]
    assert newest_item.item.author_name == "Cards"
    assert newest_item.snippet.startswith("Flashcards item 29")
    start, end = newest_item.spans[0]
    assert newest_item.snippet[start:end] == "Flashcards"

    # The type filter lists items alone; an author filter leaves them out.
    only = call(lambda desk: desk.search.posts("flashcards", type=WEB_ITEM, limit=100))
    assert len(only) == 30 and {r.item.kind for r in only} == {WEB_ITEM}
    me = call(lambda desk: desk.service.public_key)
    mine = call(lambda desk: desk.search.posts("flashcards", author=me, limit=100))
    assert {r.item.kind for r in mine} == {"post"}
    # Dates narrow items by when they were published.
    since = BASE_MS + 50 * MINUTE
    late = call(lambda desk: desk.search.posts("flashcards", type=WEB_ITEM, since_ms=since))
    assert sorted(r.item.seq for r in late) == sorted(
        r.item.seq for r in only if r.item.claimed_ms >= since
    )
    assert len(late) == 5  # items 25 to 29


def test_an_item_tag_finds_it(call: Any, server: FeedServer) -> None:
    url = _serve(server, 3)
    call(lambda desk: desk.feed_reader.follow(url))
    item = call(lambda desk: desk.search.posts("item 1", type=WEB_ITEM))[0].item
    call(lambda desk: desk.feed_reader.store.set_tags(item.seq, ["memory"]))
    tagged = call(lambda desk: desk.search.posts("", tag="#memory"))
    assert [r.item.post_key for r in tagged] == [item.post_key]
    assert call(lambda desk: desk.search.posts("", tag="other", type=WEB_ITEM)) == []


def test_the_search_screen_shows_items_and_pages_through_them(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer
) -> None:
    url = _serve(server, PAGE)
    call(lambda desk: desk.feed_reader.follow(url))
    _posts(call, 10)
    window.show_page(SEARCH)
    view = window.search
    search(view, qtbot, "flashcards")
    assert view.model.rowCount() == PAGE and view.more.isVisible()
    html = view.model.index(1).data(HtmlRole)
    assert "Cards" in html and "web feed item" in html and HIGHLIGHT_OPEN in html
    with qtbot.waitSignal(view.searched, timeout=10_000):
        view.more.click()
    assert view.model.rowCount() == PAGE + 10 and not view.more.isVisible()
    keys = {view.model.result(r).item.post_key for r in range(view.model.rowCount())}
    assert len(keys) == PAGE + 10
    # B on a found item bookmarks the item (not a post).
    row = next(
        r for r in range(view.model.rowCount()) if view.model.result(r).item.kind == WEB_ITEM
    )
    view.results.setCurrentIndex(view.model.index(row))
    view.results.setFocus()
    qtbot.keyClick(view.results, Qt.Key.Key_B)
    seq = view.model.result(row).item.seq
    qtbot.waitUntil(lambda: call(lambda desk: desk.feed_reader.store.get(seq).bookmarked))


class Browser(QObject):
    """Where QDesktopServices hands http(s) links while a test runs (no browser starts)."""

    def __init__(self) -> None:
        super().__init__()
        self.opened: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.opened.append(url.toString())


@pytest.fixture
def browser() -> Iterator[Browser]:
    made = Browser()
    for scheme in ("http", "https"):
        QDesktopServices.setUrlHandler(scheme, made, "open")
    yield made
    for scheme in ("http", "https"):
        QDesktopServices.unsetUrlHandler(scheme)


def test_enter_on_a_found_item_opens_its_page_as_a_click_does(
    window: MainWindow, call: Any, qtbot: Any, server: FeedServer, browser: Browser
) -> None:
    call(lambda desk: desk.feed_reader.follow(_serve(server, 3)))
    window.show_page(SEARCH)
    view = window.search
    search(view, qtbot, "flashcards item 1")
    row = next(r for r in range(view.model.rowCount()) if "item 1" in view.model.result(r).snippet)
    view.results.setCurrentIndex(view.model.index(row))
    view.results.setFocus()
    qtbot.keyClick(view.results, Qt.Key.Key_Return)
    assert browser.opened == ["https://cards.example/1"]
    view.results.doubleClicked.emit(view.model.index(row))
    assert browser.opened == ["https://cards.example/1"] * 2
    # Enter on an item in the timeline ("Open thread" for a post) opens its page too.
    window.show_page(TIMELINE)
    timeline = window.timeline
    qtbot.waitUntil(lambda: timeline.model.rowCount() == 3, timeout=10_000)
    timeline.view.setCurrentIndex(timeline.model.index(0, 0))
    timeline.view.setFocus()
    qtbot.keyClick(timeline.view, Qt.Key.Key_Return)
    assert browser.opened[-1] == "https://cards.example/2"
