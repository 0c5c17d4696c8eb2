"""The desk's web feeds: what the Following screen shows of them and does with them, and
the poller that runs in the node's trio runtime while the app is open.

Nothing here is published: following a web feed writes only to this device's
``feeds.sqlite3``. A change (a feed followed, fetched, failing, paused) is told to the
front end as ``LocalChanged("webfeeds")``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lndesk.app.desk_events import LocalChanged
from lndesk.app.desk_publish import Publisher
from lndesk.app.subscriptions import Subscriptions
from lndesk.content import WebShare
from lndesk.errors import UsageError
from lndesk.store.feedstore import NEWEST_ITEM, FeedStore, ItemCursor, StoredItem, Subscription
from lndesk.store.reading import now_ms

log = logging.getLogger(__name__)

WEB_FEEDS = "webfeeds"
"""What LocalChanged says changed."""


@dataclass(frozen=True, slots=True)
class WebFeedRow:
    """One followed web feed as the Following screen lists it."""

    sub: int
    title: str
    url: str
    site: str
    last_ok_ms: int | None
    last_fetch_ms: int | None
    error: str | None
    paused: str | None
    unread: int
    items: int


def _row(sub: Subscription, unread: dict[int, int], items: dict[int, int]) -> WebFeedRow:
    return WebFeedRow(
        sub.sub,
        sub.name,
        sub.url,
        sub.site,
        sub.last_ok_ms,
        sub.last_fetch_ms,
        sub.error,
        sub.paused,
        unread.get(sub.sub, 0),
        items.get(sub.sub, 0),
    )


class FeedReader:
    """One data directory's web feeds, for the desk. Use from the node thread."""

    def __init__(
        self, data_dir: Path, emit: Callable[[LocalChanged], None], *, in_memory: bool = False
    ) -> None:
        """``in_memory``: a read-only data directory: nothing followed is kept."""
        self.store = FeedStore(data_dir, in_memory=in_memory)
        self._emit = emit
        self.subscriptions = Subscriptions(self.store, on_change=self._changed)
        self.publisher: Publisher | None = None
        """How the desk publishes (set by it): shares and replies to items."""

    def close(self) -> None:
        self.store.close()

    def _changed(self) -> None:
        self._emit(LocalChanged(WEB_FEEDS))

    def rows(self) -> list[WebFeedRow]:
        unread = self.store.unread_counts()
        items = self.store.item_counts()
        return [_row(s, unread, items) for s in self.store.subscriptions()]

    def row(self, sub: int) -> WebFeedRow:
        return _row(
            self.store.subscription(sub), self.store.unread_counts(), self.store.item_counts()
        )

    async def follow(self, text: str) -> WebFeedRow:
        """Follow the web feed at ``text`` (or the one its page names): fetched now."""
        sub, _new = await self.subscriptions.follow(text)
        return self.row(sub.sub)

    def refresh_now(self, sub: int | None = None) -> None:
        """ "Refresh now": fetch this feed (every feed) at once, in the poller."""
        self.subscriptions.refresh_soon(sub)

    async def resume(self, sub: int) -> WebFeedRow:
        """Poll a paused feed again, taking what paused it (its new items, its new site)."""
        resumed = self.store.resume(sub)
        await self.subscriptions.refresh(resumed)
        self._changed()
        return self.row(sub)

    def remove(self, sub: int) -> None:
        self.store.remove(sub)
        self._changed()

    def mark_read(self, sub: int | None = None) -> int:
        count = self.store.mark_all_read(sub)
        self._changed()
        return count

    def items(self, before: ItemCursor = NEWEST_ITEM, limit: int = 50) -> list[StoredItem]:
        return self.store.page(before, limit)

    def set_bookmark(self, item: int, on: bool) -> None:
        self.store.set_bookmark(item, on, now_ms())
        self._changed()

    def tags(self, item: int) -> tuple[str, ...]:
        return self.store.tags(item)

    def set_tags(self, item: int, tags: Sequence[str]) -> tuple[str, ...]:
        """Replace the item's tags (local: never published, found by Search's tag)."""
        normal = self.store.set_tags(item, tags)
        self._changed()
        return normal

    def _publish(self) -> Publisher:
        if self.publisher is None:
            raise UsageError("this data directory is open for reading only: nothing is published")
        return self.publisher

    async def share(self, item: int, comment: str = "") -> int:
        """Share the item into my log (a ``webshare``, protocol 10.11); its seq."""
        found = self.store.get(item)
        if not found.link:
            raise UsageError(
                "that item has no link to share", "Reply to it instead, or write a post about it."
            )
        content = WebShare(
            found.link, found.title[:200], found.feed_url, found.guid[:1000], comment
        )
        entry = await self._publish().publish(lambda s: s.publish(content))
        return entry.seq

    async def reply(
        self, item: int, text: str, tags: Sequence[str] = (), links: Sequence[str] = ()
    ) -> int:
        """A post of mine about the item: it links the item (first)."""
        found = self.store.get(item)
        linked = [found.link, *links] if found.link else list(links)
        entry = await self._publish().publish(lambda s: s.post(text, tags, linked))
        return entry.seq

    async def run(self) -> None:
        """Poll the feeds until cancelled (the node's nursery runs this)."""
        await self.subscriptions.poll()
