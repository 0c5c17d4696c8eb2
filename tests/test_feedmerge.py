"""An article that several web feeds bring is one card in the timeline: the item stored
first stands for the others and names their feeds; each feed keeps its own item."""

from __future__ import annotations

from pathlib import Path

import pytest

from lndesk.app.desk_webitems import items_before, items_down_to
from lndesk.store.feedmerge import also_in, timeline_page, timeline_unread, timeline_window
from lndesk.store.feedstore import NEWEST_ITEM, FeedStore
from lndesk.webfeeds import FeedItem

NOW = 1_800_000_000_000
SHARED = "https://blog.example/2026/spacing"


@pytest.fixture
def store(tmp_path: Path) -> FeedStore:
    return FeedStore(tmp_path)


def _follow(store: FeedStore, url: str, title: str, items: list[FeedItem]) -> int:
    sub = store.add(url, NOW, title=title).sub
    store.apply(sub, items, NOW, flood_limit=None, first_limit=100)
    return sub


def test_the_same_link_in_two_feeds_is_shown_once_naming_the_other(store: FeedStore) -> None:
    blog = _follow(
        store,
        "https://blog.example/feed",
        "The Blog",
        [
            FeedItem("b1", SHARED, "Spacing", "Spread it out.", NOW - 3000),
            FeedItem("b2", "https://blog.example/2026/other", "Other", "x", NOW - 2000),
            FeedItem("b3", "", "No link", "y", NOW - 1000),
        ],
    )
    planet = _follow(
        store,
        "https://planet.example/rss",
        "Planet Learning",
        [
            FeedItem("p1", SHARED, "Spacing (via the planet)", "Spread it out.", NOW - 500),
            FeedItem("p2", "", "No link", "y", NOW - 400),
        ],
    )
    assert len(store.page(NEWEST_ITEM, 10)) == 5  # each feed keeps its own items
    shown = timeline_page(store, NEWEST_ITEM, 10)
    assert [(i.sub, i.title) for i in shown] == [
        (planet, "No link"),  # items without a link are never merged
        (blog, "No link"),
        (blog, "Other"),
        (blog, "Spacing"),  # stored first: it stands for the planet's copy
    ]
    assert timeline_window(store, (NOW - 3000, 0), 10) == shown
    assert timeline_unread(store, 100) == 4
    spacing = shown[-1]
    assert also_in(store, shown) == {spacing.item: ("Planet Learning",)}
    card = items_before(store, (NOW + 1, -1, 0), 10)[-1]
    assert card.text.endswith("*Also in:* Planet Learning")
    assert items_down_to(store, card.cursor, 10)[-1] == card
    # Unfollowing the feed that brought it first shows the other feed's item.
    store.remove(blog)
    assert [i.title for i in timeline_page(store, NEWEST_ITEM, 10)] == [
        "No link",
        "Spacing (via the planet)",
    ]
    assert also_in(store, timeline_page(store, NEWEST_ITEM, 10)) == {}


def test_many_other_feeds_are_named_a_few_and_counted(store: FeedStore) -> None:
    for n in range(6):
        _follow(
            store,
            f"https://f{n}.example/feed",
            f"Feed [{n}]",
            [FeedItem(f"g{n}", SHARED, "S", "s", NOW)],
        )
    (card,) = items_before(store, (NOW + 1, -1, 0), 10)
    # Feed titles are a stranger's text: escaped, and at most three named.
    assert card.text.endswith(r"*Also in:* Feed \[1\], Feed \[2\], Feed \[3\] and 2 more")
