"""Items of web feeds as the timeline shows them: an article once, however many feeds
bring it.

The same article often comes in two feeds (a blog and a planet that gathers it, a site's
whole feed and one of its topics). The timeline shows it once: of the items with the same
link in different feeds, the one stored first (the lowest item number) stands for the
others, and its card names the other feeds (:func:`also_in`). The timeline's unread count
leaves the others out too. Search, bookmarks, a feed's own list on the Following screen
and ``lndesk feeds items`` still list each feed's item: they are about items, the timeline
about what there is to read.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from lndesk.store.feedrecords import ITEM_COLUMNS, ItemCursor, StoredItem, item_of_row
from lndesk.store.feedstore import FeedStore

SHOWN = (
    "(i.link = '' OR NOT EXISTS (SELECT 1 FROM items j "
    "WHERE j.link != '' AND j.link = i.link AND j.sub != i.sub AND j.item < i.item))"
)
"""An item the timeline shows: no other feed's item with its link was stored before it."""
_FROM = "FROM items i JOIN subscriptions s ON s.sub = i.sub"


def timeline_page(feeds: FeedStore, before: ItemCursor, limit: int) -> list[StoredItem]:
    """The items the timeline shows below ``before``, newest first."""
    rows = feeds.conn.execute(
        f"SELECT {ITEM_COLUMNS} {_FROM} WHERE (i.published_ms, i.item) < (?, ?) "
        f"AND {SHOWN} ORDER BY i.published_ms DESC, i.item DESC LIMIT ?",
        (before[0], before[1], limit),
    )
    return [item_of_row(r) for r in rows]


def timeline_window(feeds: FeedStore, bottom: ItemCursor, limit: int) -> list[StoredItem]:
    """The items the timeline shows at or above ``bottom``, newest first."""
    rows = feeds.conn.execute(
        f"SELECT {ITEM_COLUMNS} {_FROM} WHERE (i.published_ms, i.item) >= (?, ?) "
        f"AND {SHOWN} ORDER BY i.published_ms DESC, i.item DESC LIMIT ?",
        (bottom[0], bottom[1], limit),
    )
    return [item_of_row(r) for r in rows]


def timeline_unread(feeds: FeedStore, cap: int) -> int:
    """Unread items the timeline shows (at most ``cap``)."""
    row = feeds.conn.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM items i WHERE i.read = 0 AND {SHOWN} LIMIT ?)",  # noqa: S608
        (cap,),
    ).fetchone()
    return int(row[0])


def also_in(feeds: FeedStore, items: Sequence[StoredItem]) -> dict[int, tuple[str, ...]]:
    """For each of ``items`` whose link other feeds bring too, those feeds' names (their
    titles, else their addresses' host), by item number."""
    links = sorted({item.link for item in items if item.link})
    if not links:
        return {}
    marks = ", ".join("?" * len(links))
    rows = feeds.conn.execute(
        "SELECT DISTINCT j.link, j.sub, s.title, s.url FROM items j "  # noqa: S608
        f"JOIN subscriptions s ON s.sub = j.sub WHERE j.link != '' AND j.link IN ({marks})",
        links,
    ).fetchall()
    names: dict[str, dict[int, str]] = {}
    for link, sub, title, url in rows:
        names.setdefault(str(link), {})[int(sub)] = str(title) or urlsplit(url).hostname or url
    found: dict[int, tuple[str, ...]] = {}
    for item in items:
        others = sorted(name for sub, name in names.get(item.link, {}).items() if sub != item.sub)
        if item.link and others:
            found[item.item] = tuple(others)
    return found
