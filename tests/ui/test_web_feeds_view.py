"""Web feeds on the Following screen: follow by address (or a site's), see last fetch,
errors and pauses, Refresh now, Resume, Remove; hostile titles stay plain text."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lndesk.ui.views.following import FollowDialog, FollowingView
from tests.feed_server import DATA, Answer, FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_follow_a_site_refresh_pause_resume_and_remove(
    bridge: Any, qtbot: Any, server: FeedServer, qtmodeltester: Any
) -> None:
    view = FollowingView(bridge)
    qtbot.addWidget(view)
    view.show()
    panel = view.web_feeds
    qtbot.waitUntil(panel.empty.isVisible)
    view.form.field.setText(server.url("/site.html"))
    view.form.submit()
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1, timeout=10_000)
    assert "Now following the web feed Teaching Notes (3 items)" in view.form.result.text()
    text = panel.model.data(panel.model.index(0))
    assert text.startswith("Teaching Notes\nFetched ")
    assert "3 items, 3 unread items" in text
    qtmodeltester.check(panel.model)
    assert panel.selected() is not None and panel.selected().sub == 1

    # Refresh now is a conditional GET; a move elsewhere pauses the feed with a notice.
    other = f"http://localhost:{server.port}/podcast.xml"
    server.routes["/rss_guids.xml"] = lambda r: Answer(301, {"Location": other})
    panel.refresh_now()
    qtbot.waitUntil(lambda: "Paused: " in panel.model.data(panel.model.index(0)), timeout=10_000)
    assert panel.resume_button.isEnabled()
    panel.resume_selected()
    qtbot.waitUntil(lambda: "5 items" in panel.model.data(panel.model.index(0)), timeout=10_000)
    panel.mark_read_selected()
    qtbot.waitUntil(lambda: "all read" in panel.model.data(panel.model.index(0)))
    panel.remove_selected(confirm=False)
    qtbot.waitUntil(lambda: panel.model.rowCount() == 0)


def test_a_failing_feed_shows_its_error_and_a_hostile_title_stays_one_plain_line(
    bridge: Any, call: Any, qtbot: Any, server: FeedServer
) -> None:
    hostile = (
        (DATA / "rss_guids.xml")
        .read_bytes()
        .replace(
            b"<title>Teaching Notes</title>",
            b"<title>&lt;b&gt;Bold&lt;/b&gt;\xe2\x80\xae evil\nline</title>",
        )
    )
    server.routes["/h.xml"] = lambda r: Answer(200, {"Content-Type": "application/xml"}, hostile)
    call(lambda desk: desk.feed_reader.follow(server.url("/h.xml")))
    server.routes["/h.xml"] = lambda r: Answer(500, {}, b"")
    view = FollowingView(bridge)
    qtbot.addWidget(view)
    view.show()
    panel = view.web_feeds
    qtbot.waitUntil(lambda: panel.model.rowCount() == 1)
    panel.list.setCurrentIndex(panel.model.index(0))
    panel.refresh_now()
    qtbot.waitUntil(
        lambda: "Not fetched: " in panel.model.data(panel.model.index(0)), timeout=10_000
    )
    title, state = panel.model.data(panel.model.index(0)).split("\n")
    assert title == "<b>Bold</b> evil line"  # shown as plain text: no markup, no bidi override
    assert "HTTP 500" in state


def test_the_follow_dialog_takes_a_web_feed_address(
    bridge: Any, qtbot: Any, server: FeedServer
) -> None:
    dialog = FollowDialog(bridge, server.url("/feed.json"))
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=10_000):
        dialog.form.submit()
