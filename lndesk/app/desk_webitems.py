"""Items of web feeds in the timeline, beside posts.

An item becomes a :class:`~lndesk.app.items.PostItem` of kind ``webitem``: its "author"
is a fingerprint of the feed's address (32 bytes, drawn as an identicon: no favicon is
fetched), its name the feed's title, its ``seq`` the item's number in the feeds file.
Its cursor is ``(published_ms, -1, item)``: below every post of the same millisecond
(stored feeds are numbered from 1), so one order covers both and a page of the merged
timeline continues from either kind of cursor.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from urllib.parse import urlsplit

from lndesk.app.items import PostItem
from lndesk.feeds.htmltext import escape_markdown
from lndesk.store.feedmerge import also_in, timeline_page, timeline_window
from lndesk.store.feedstore import FeedStore, ItemCursor, StoredItem

WEB_ITEM = "webitem"
ITEM_FEED = -1
"""The cursor's middle part for web feed items (stored feeds are numbered from 1)."""
_AFTER_EVERY_ITEM = 2**62


def feed_fingerprint(url: str) -> bytes:
    """The 32 bytes a web feed is drawn and keyed by (a hash of its address)."""
    return hashlib.blake2b(url.encode(), digest_size=32, person=b"lndesk-webfeed").digest()


def _duration(seconds: int | None) -> str:
    if not seconds:
        return ""
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


ALSO_IN_NAMES = 3
"""How many other feeds an item's card names (then "and N more")."""


def _also_in(names: Sequence[str]) -> str:
    """The line under an item that other feeds bring too (the timeline shows it once)."""
    if not names:
        return ""
    shown = [escape_markdown(" ".join(n.split())[:80]) for n in names[:ALSO_IN_NAMES]]
    more = len(names) - len(shown)
    return f"*Also in:* {', '.join(shown)}{f' and {more} more' if more else ''}"


def item_markdown(item: StoredItem, others: Sequence[str] = ()) -> str:
    """The card's text: the title (escaped, bold), the item's reduced markdown, a line
    per podcast episode (length and size; never downloaded) and the other feeds that
    bring the same link (``others``: the timeline shows it once)."""
    parts = [f"**{escape_markdown(item.title)}**" if item.title else ""]
    parts.append(item.text)
    for audio in item.enclosures:
        facts = [f for f in (_duration(audio.duration_s), _size(audio.length)) if f]
        what = "episode" if audio.mime.startswith(("audio/", "video/")) else "attachment"
        parts.append(
            f"*{what}{' (' + ', '.join(facts) + ')' if facts else ''}:* "
            f"[{escape_markdown(urlsplit(audio.url).path.rsplit('/', 1)[-1] or audio.url)}]"
            f"({audio.url.replace('(', '%28').replace(')', '%29')})"
        )
    parts.append(_also_in(others))
    return "\n\n".join(p for p in parts if p)


def _size(length: int | None) -> str:
    if not length:
        return ""
    return f"{length / 1_000_000:.1f} MB" if length >= 100_000 else f"{length:,} bytes"


def web_post_item(item: StoredItem, others: Sequence[str] = ()) -> PostItem:
    author = feed_fingerprint(item.feed_url)
    host = urlsplit(item.feed_url).hostname or item.feed_url
    return PostItem(
        id=hashlib.blake2b(f"{item.feed_url}\n{item.item}".encode(), digest_size=32).digest(),
        author=author,
        seq=item.item,
        author_name=" ".join((item.feed_title or host).split())[:80],
        short_key=host[:40],
        kind=WEB_ITEM,
        text=item_markdown(item, others),
        tags=(),
        links=(item.link,) if item.link else (),
        claimed_ms=item.published_ms,
        cursor=(item.published_ms, ITEM_FEED, item.item),
        mine=False,
        unread=not item.read,
        bookmarked=item.bookmarked,
        followed=True,
    )


def item_cursor(cursor: tuple[int, int, int]) -> ItemCursor:
    """A timeline cursor as the feeds file's: items strictly below it come after it."""
    claimed, feed, seq = cursor
    return (claimed, seq) if feed == ITEM_FEED else (claimed, _AFTER_EVERY_ITEM)


def _timeline_items(feeds: FeedStore, stored: Sequence[StoredItem]) -> list[PostItem]:
    others = also_in(feeds, stored)
    return [web_post_item(i, others.get(i.item, ())) for i in stored]


def items_before(feeds: FeedStore, cursor: tuple[int, int, int], limit: int) -> list[PostItem]:
    """The timeline's items below ``cursor``, newest first: an article that several
    feeds bring once (:mod:`lndesk.store.feedmerge`)."""
    return _timeline_items(feeds, timeline_page(feeds, item_cursor(cursor), limit))


def items_down_to(feeds: FeedStore, bottom: tuple[int, int, int], limit: int) -> list[PostItem]:
    """The timeline's items from the newest down to ``bottom`` (included), newest first."""
    claimed, feed, seq = bottom
    start: ItemCursor = (claimed, seq) if feed == ITEM_FEED else (claimed + 1, 0)
    return _timeline_items(feeds, timeline_window(feeds, start, limit))


def merged(posts: Sequence[PostItem], items: Sequence[PostItem], limit: int) -> list[PostItem]:
    """Posts and items newest first by cursor, the first ``limit``."""
    return sorted([*posts, *items], key=lambda i: i.cursor, reverse=True)[:limit]
