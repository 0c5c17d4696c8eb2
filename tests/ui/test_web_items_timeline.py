"""Items of web feeds in the timeline beside posts: one order, paging across both kinds,
live refresh, read marks, bookmarks, share and reply into my own log, and an article two
feeds bring shown once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from lndesk.app.desk_webitems import ITEM_FEED, WEB_ITEM, feed_fingerprint
from lndesk.ui.models.posts import PostListModel
from tests.feed_server import DATA, Answer, FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as running:
        yield running


def test_items_are_in_the_timeline_beside_posts(
    bridge: Any, call: Any, qtbot: Any, server: FeedServer
) -> None:
    call(lambda desk: desk.feed_reader.follow(server.url("/podcast.xml")))
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    call(lambda desk: desk.posting.post("my own post"))
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 6, timeout=10_000)
    items = model.items()
    assert [i.kind for i in items][:2] == ["post", WEB_ITEM]  # the post is newest
    claimed = [i.cursor for i in items]
    assert claimed == sorted(claimed, reverse=True)
    spacing = next(i for i in items if "Spacing" in i.text)
    assert spacing.author_name == "Teaching Notes"
    assert spacing.author == feed_fingerprint(server.url("/rss_guids.xml"))
    assert spacing.links == ("https://teaching.example/2026/spacing",)
    assert spacing.text.startswith("**Spacing**\n\nSpread it out.")
    assert spacing.cursor[1] == ITEM_FEED and spacing.unread
    episode = next(i for i in items if "Episode 12" in i.text)
    assert "*episode (1:02:03, 48.1 MB):* [e12.mp3](https://cdn.podcast.example/e12.mp3)" in (
        episode.text
    )

    # Pages continue across both kinds from either kind of cursor.
    first = call(lambda desk: desk.reading.page("timeline", None, 2))
    second = call(lambda desk: desk.reading.page("timeline", first[-1].cursor, 2))
    rest = call(lambda desk: desk.reading.page("timeline", second[-1].cursor, 10))
    assert [i.post_key for i in first + second + rest] == [i.post_key for i in items]

    # A new item arrives live; reading up to now marks items read.
    spacing_key = spacing.post_key
    call(lambda desk: desk.feed_reader.set_bookmark(spacing_key[1], True))
    fresh = call(lambda desk: desk.reading.refresh("timeline", items[-1].cursor, {}))
    assert len(fresh.post_keys) == 6
    assert next(i for i in fresh.new if i.post_key == spacing_key).bookmarked
    call(lambda desk: desk.reading.mark_read())
    again = call(lambda desk: desk.reading.page("timeline", None, 10))
    assert not any(i.unread for i in again if i.kind == WEB_ITEM)


def test_share_and_reply_to_an_item_publish_into_my_log(
    bridge: Any, call: Any, server: FeedServer
) -> None:
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    page = call(lambda desk: desk.reading.page("timeline", None, 10))
    item = next(i for i in page if "Retrieval" in i.text)
    seq = call(lambda desk: desk.feed_reader.share(item.seq, "worth it"))
    assert seq >= 1
    call(lambda desk: desk.feed_reader.reply(item.seq, "I tried it"))
    mine = call(lambda desk: desk.reading.page("mine", None, 10))
    kinds = {i.kind: i for i in mine}
    assert kinds["webshare"].links == ("https://teaching.example/2026/retrieval",)
    assert "worth it" in kinds["webshare"].text
    assert "Retrieval practice works" in kinds["webshare"].text
    assert kinds["post"].links == ("https://teaching.example/2026/retrieval",)


def test_the_compose_dialog_shares_and_replies_to_an_item(
    bridge: Any, call: Any, qtbot: Any, server: FeedServer
) -> None:
    from lndesk.ui.views.compose import REPLY, SHARE, ComposeDialog

    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    page = call(lambda desk: desk.reading.page("timeline", None, 10))
    item = next(i for i in page if "Spacing" in i.text)
    for mode, text in ((SHARE, "a comment"), (REPLY, "my answer")):
        dialog = ComposeDialog(bridge, mode, item)
        qtbot.addWidget(dialog)
        dialog.show()
        dialog.box.text.setPlainText(text)
        with qtbot.waitSignal(dialog.box.published, timeout=10_000):
            dialog.box.submit()
    mine = call(lambda desk: desk.reading.page("mine", None, 10))
    assert sorted(i.kind for i in mine) == ["post", "webshare"]


def test_following_reading_and_bookmarking_web_feeds_publishes_nothing(
    bridge: Any, call: Any, server: FeedServer
) -> None:
    height = call(lambda desk: desk.service.own_state().height)
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    call(lambda desk: desk.feed_reader.set_bookmark(1, True))
    call(lambda desk: desk.feed_reader.mark_read(None))
    call(lambda desk: desk.feed_reader.remove(1))
    assert call(lambda desk: desk.service.own_state().height) == height


def test_an_article_two_feeds_bring_is_one_card_naming_the_other_feed(
    bridge: Any, call: Any, qtbot: Any, server: FeedServer
) -> None:
    body = (DATA / "rss_guids.xml").read_bytes()
    server.routes["/mirror.xml"] = lambda _r: Answer(200, {"Content-Type": "application/xml"}, body)
    call(lambda desk: desk.feed_reader.follow(server.url("/rss_guids.xml")))
    call(lambda desk: desk.feed_reader.follow(server.url("/mirror.xml")))
    model = PostListModel(bridge, "timeline")
    model.start()
    qtbot.waitUntil(lambda: model.rowCount() == 3, timeout=10_000)
    items = model.items()
    first = feed_fingerprint(server.url("/rss_guids.xml"))
    assert {i.author for i in items} == {first}  # the feed that brought them first
    assert all(i.text.endswith("*Also in:* Teaching Notes") for i in items)
    assert call(lambda desk: desk.reading.unread_count()) == 3
    assert len(call(lambda desk: desk.feed_reader.items())) == 6  # each feed keeps its own
