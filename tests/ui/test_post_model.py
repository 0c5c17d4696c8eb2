"""The post list view-model against a real desk and store (network off)."""

from __future__ import annotations

from typing import Any

from lndesk.app.desk import LocalChanged
from lndesk.ui.models.posts import PAGE, ItemRole, PostListModel
from lndesk.ui.views.posts import PostListView


def publish_many(call: Any, count: int, start_ms: int = 1_700_000_000_000) -> None:
    from lndesk.content import Post

    def run(desk: Any) -> None:
        for n in range(count):
            desk.service.store.publish(
                desk.service.identity, Post(f"post number {n}"), claimed_ms=start_ms + n * 1000
            )

    call(run)


def test_pages_load_lazily_and_pass_the_model_tester(
    bridge: Any, call: Any, qtbot: Any, qtmodeltester: Any
) -> None:
    publish_many(call, PAGE * 2 + 5)
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == PAGE)
    assert model.item(0).text == f"post number {PAGE * 2 + 4}"
    assert model.canFetchMore()
    with qtbot.waitSignal(model.loaded):
        model.fetchMore()
    assert model.rowCount() == PAGE * 2
    with qtbot.waitSignal(model.loaded):
        model.fetchMore()
    assert model.rowCount() == PAGE * 2 + 5
    assert not model.canFetchMore()
    texts = [model.item(r).text for r in range(model.rowCount())]
    assert texts == [f"post number {n}" for n in reversed(range(PAGE * 2 + 5))]
    assert model.data(model.index(0), ItemRole).mine
    qtmodeltester.check(model)


def test_published_post_appears_at_the_top_with_its_delivery_state(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    publish_many(call, 3)
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 3)
    call(lambda desk: desk.posting.post("written on a train", ["travel"]))
    qtbot.waitUntil(lambda: model.rowCount() == 4)
    top = model.item(0)
    assert top.text == "written on a train" and top.tags == ("travel",)
    assert top.seen_by == 0  # offline: published locally, not yet seen by any peer


def test_entries_filled_in_below_the_top_keep_the_reader_in_place(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    publish_many(call, 40, start_ms=1_700_000_000_000)
    model = PostListModel(bridge, "timeline")
    view = PostListView(model)
    view.resize(500, 400)
    view.show()
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 40)
    view.scrollTo(model.index(20), PostListView.ScrollHint.PositionAtTop)
    qtbot.waitUntil(lambda: view.first_visible_row() == 20)
    reading = model.item(20).post_key
    # newer posts arrive at the top, and one is filled in between (claimed in the past)
    publish_many(call, 5, start_ms=1_790_000_000_000)
    publish_many(call, 1, start_ms=1_700_000_030_500)  # between posts 30 and 31
    call(lambda desk: desk._emit(LocalChanged("published")))
    qtbot.waitUntil(lambda: model.rowCount() == 46)
    assert model.item(14).claimed_ms == 1_700_000_030_500
    assert model.item(view.first_visible_row()).post_key == reading
    assert view.new_posts.isVisible() and "5 new posts" in view.new_posts.text()
    view.scroll_to_newest()
    assert view.first_visible_row() == 0


def test_deleting_removes_the_row_and_bookmarks_list_follows(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    publish_many(call, 3)
    timeline = PostListModel(bridge, "timeline")
    bookmarks = PostListModel(bridge, "bookmarks")
    timeline.start()
    bookmarks.start()
    qtbot.waitUntil(lambda: timeline.rowCount() == 3)
    middle = timeline.item(1)
    call(lambda desk: desk.reading.set_bookmark(middle.post_key, True))
    qtbot.waitUntil(lambda: bookmarks.rowCount() == 1)
    qtbot.waitUntil(lambda: timeline.item(1).bookmarked)
    call(lambda desk: desk.posting.delete(middle.post_key))
    qtbot.waitUntil(lambda: timeline.rowCount() == 2)
    assert middle.post_key not in [i.post_key for i in timeline.items()]
    qtbot.waitUntil(lambda: bookmarks.rowCount() == 0)


def test_a_big_burst_keeps_the_list_bounded_but_not_the_row_being_read(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    from lndesk.ui.models.posts import LIVE_ROWS

    publish_many(call, 100, start_ms=1_700_000_000_000)
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == PAGE)
    publish_many(call, LIVE_ROWS + 50, start_ms=1_750_000_000_000)
    model.refresh()
    qtbot.waitUntil(lambda: model.rowCount() == LIVE_ROWS)  # the oldest pushed off the bottom
    assert model.canFetchMore()  # ... and fetched again by scrolling
    # a reader deep in the list keeps their row however much arrives above it
    model.reading_row = 250
    reading = model.item(250).post_key
    publish_many(call, 40, start_ms=1_780_000_000_000)
    model.refresh()
    qtbot.waitUntil(lambda: model.rowCount() > LIVE_ROWS)
    assert model.row_of(reading) == 290


def test_a_new_name_and_avatar_reach_rows_already_shown(bridge: Any, call: Any, qtbot: Any) -> None:
    from PySide6.QtGui import QColor, QImage

    from lndesk.ui.avatar import avatar_from_image

    publish_many(call, 2)
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 2)
    assert model.item(0).avatar == b"" and model.item(0).author_name.startswith("lnd1")
    image = QImage(300, 200, QImage.Format.Format_RGB32)
    image.fill(QColor("#3a7"))
    picture = avatar_from_image(image)
    call(lambda desk: desk.account.set_profile("Ann", "", picture))
    qtbot.waitUntil(lambda: model.item(1).author_name == "Ann")
    assert model.item(0).avatar == picture and model.item(1).avatar == picture


def test_clicking_a_web_link_in_a_post_opens_it_and_nothing_else(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    from PySide6.QtCore import QObject, QPoint, Qt, QUrl, Slot
    from PySide6.QtGui import QDesktopServices, QFontMetrics

    from lndesk.ui.views import post_delegate as d

    class Browser(QObject):
        def __init__(self) -> None:
            super().__init__()
            self.opened: list[str] = []

        @Slot(QUrl)
        def open(self, url: QUrl) -> None:
            self.opened.append(url.toString())

    browser = Browser()
    for scheme in ("https", "http", "file"):
        QDesktopServices.setUrlHandler(scheme, browser, "open")
    try:
        call(lambda desk: desk.posting.post("[the paper](https://example.org/paper) is good"))
        call(lambda desk: desk.posting.post("[my files](file:///etc/passwd) are here"))
        model = PostListModel(bridge, "timeline")
        view = PostListView(model)
        view.resize(600, 500)
        view.show()
        model.start()
        qtbot.waitUntil(lambda: model.rowCount() == 2)
        line = QFontMetrics(view.font()).height()

        def click_first_word(row: int) -> None:
            rect = view.visualRect(model.index(row))
            x = rect.left() + d.MARGIN + d.AVATAR + d.GAP + 6
            y = rect.top() + d.MARGIN + line + d.GAP + line // 2
            qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))

        with qtbot.waitSignal(view.link_activated) as link:
            click_first_word(1)
        assert link.args == ["https://example.org/paper"]
        assert browser.opened == ["https://example.org/paper"]
        click_first_word(0)  # file: links from a post are never opened
        assert browser.opened == ["https://example.org/paper"]
    finally:
        for scheme in ("https", "http", "file"):
            QDesktopServices.unsetUrlHandler(scheme)


def test_a_model_deleted_while_its_page_loads_is_left_alone(
    bridge: Any, call: Any, qtbot: Any
) -> None:
    """The answer to a deleted model's request is dropped instead of reaching a dead
    object ("Signal source has been deleted" would end the app's slot with an error)."""
    import threading

    from shiboken6 import delete

    publish_many(call, 5)
    errors: list[str] = []
    bridge.error.connect(errors.append)
    gate = threading.Event()
    bridge.request(lambda _desk: gate.wait(10))  # the node thread is busy: the page waits
    model = PostListModel(bridge, "timeline")
    model.start()
    delete(model)
    gate.set()
    qtbot.waitUntil(lambda: bridge.pending == 0)
    survivor = PostListModel(bridge, "timeline")
    survivor.start()
    qtbot.waitUntil(lambda: survivor.rowCount() == 5)
    assert errors == []


def test_a_burst_of_posts_costs_one_refresh_once_time_moves(
    bridge: Any, call: Any, clock: Any, qtbot: Any
) -> None:
    """The refresh timer runs on injected time: nothing is read again until the test moves
    the clock past the delay, and then once for the whole burst."""
    from lndesk.ui.models.posts import REFRESH_DELAY_MS

    clock.autojump = False
    model = PostListModel(bridge, "timeline")
    with qtbot.waitSignal(model.loaded):
        model.start()
    loads: list[int] = []
    model.loaded.connect(lambda: loads.append(model.rowCount()))
    for n in range(3):  # each call returns after its event reached the model
        call(lambda desk, n=n: desk.posting.post(f"post {n}"))
    clock.advance(REFRESH_DELAY_MS / 1000 - 0.001)
    assert bridge.pending == 0 and model.rowCount() == 0  # not read again yet
    with qtbot.waitSignal(model.loaded):
        clock.advance(0.001)
    assert loads == [3]  # one refresh brought all three


def test_a_page_read_before_a_refresh_does_not_end_the_list(
    bridge: Any, call: Any, clock: Any, qtbot: Any
) -> None:
    """A page on its way while a refresh applies may predate what the refresh brought
    (someone just followed, their older posts now in the list): its being short must not
    end the list; the page the refresh wanted is read after it."""
    from lndesk.app.desk import Refresh

    clock.autojump = False  # no refresh but the one applied here
    model = PostListModel(bridge, "timeline")
    with qtbot.waitSignal(model.loaded):
        model.start()  # nothing yet: a short page, the end of the list
    assert not model.canFetchMore()
    model._exhausted = False
    model._fetching = True  # a page on its way, read before the post below
    model._apply(Refresh([], [], []))  # a refresh lands first and wants more below
    call(lambda desk: desk.posting.post("older, below the rows shown"))
    model._append_page([])  # the page comes back short: it was read before the post
    qtbot.waitUntil(lambda: model.rowCount() == 1)  # the page read after the short one
