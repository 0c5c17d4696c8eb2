"""Reading: the timeline and the other post lists, threads, bookmarks and what is unread.

Every query here is bounded (a page, a window, a capped count), so no answer keeps the
node thread long.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_items import READ_MARK, PostItems
from lndesk.app.desk_webitems import items_before, items_down_to, merged, web_post_item
from lndesk.app.items import PostItem
from lndesk.app.service import Service
from lndesk.entry_refs import PostKey, Ref
from lndesk.errors import UsageError
from lndesk.store import views
from lndesk.store.feedmerge import timeline_unread
from lndesk.store.feedstore import FeedStore
from lndesk.store.reading import StoredEntry, StoreReader
from lndesk.store.store import now_ms
from lndesk.store.views import ListQuery

BOOKMARKS = "bookmarks"
THREAD = "thread"
UNREAD_CAP = 1000
WINDOW_CAP = 5000
THREAD_CAP = 2000
BOOKMARKED_ITEMS_CAP = 1000
OLDEST = views.OLDEST
"""A cursor below every entry: a list's refresh down to it covers the whole list."""


@dataclass(frozen=True, slots=True)
class Refresh:
    """What a list holds now from its newest entry down to a cursor."""

    post_keys: list[PostKey]
    new: list[PostItem]
    """Items for the posts the caller did not know yet."""
    changed: list[PostItem]
    """Known items whose counts or marks changed."""
    truncated: bool = False
    """The list goes on below ``post_keys`` (the limit was reached before ``down_to``)."""


class Reading:
    """The lists a window pages through and keeps up to date, and the read marks.

    Lists are read from the index through the store's read side (``StoreReader``), not
    through :class:`~lndesk.app.service.Service`: they are bounded view queries (a page,
    a window, a capped count) with no invariant for the service to keep; which feeds are
    hidden comes from the service.
    """

    def __init__(
        self,
        service: Service,
        reader: StoreReader,
        items: PostItems,
        emit: Callable[[AnyEvent], None],
    ) -> None:
        self._service = service
        self._reader = reader
        self._local = service.local
        self._items = items
        self._emit = emit
        self._own = service.public_key
        self.web: FeedStore | None = None
        """The web feeds whose items the timeline shows beside posts (set by the desk)."""
        if self._local.get(READ_MARK) == 0:
            # "Unread" means new since you started using lndesk on this device: the history
            # of someone you follow today arrives as already read, not as 10,000 unread posts.
            self._local.set(READ_MARK, now_ms())

    def query(self, kind: str) -> ListQuery:
        """The store query of a list kind: "timeline", "mine", "replies", "requests",
        "tag:<tag>" or "author:<hex key>"."""
        name, _, arg = kind.partition(":")
        hidden = self._service.hidden()
        accepted = self._local.accepted()
        if name == views.TAG:
            return ListQuery(views.TAG, self._own, hidden, accepted, tag=arg)
        if name == views.AUTHOR:
            try:
                author = bytes.fromhex(arg)
            except ValueError:
                raise UsageError(f"{arg!r} is not an author key") from None
            return ListQuery(views.AUTHOR, self._own, hidden, accepted, author=author)
        if name in (views.REPLIES, views.REQUESTS):
            # Answers to my pseudonyms' questions come back here too (app.pseudonyms).
            mine = self._service.pseudonyms.current()
            return ListQuery(kind, self._own, hidden, accepted, pseudonyms=mine)
        return ListQuery(kind, self._own, hidden, accepted)

    def page(
        self, kind: str, older_than: tuple[int, int, int] | None, limit: int
    ) -> list[PostItem]:
        """The next ``limit`` items of a paged list ("timeline", "mine", "replies"), older
        than ``older_than`` (None: the newest). Bookmarks and threads come whole, from
        :meth:`refresh`."""
        cursor = views.NEWEST if older_than is None else older_than
        posts = self._items.items(views.page(self._reader, self.query(kind), cursor, limit))
        if kind != views.TIMELINE or self.web is None:
            return posts
        return merged(posts, items_before(self.web, cursor, limit), limit)

    def refresh(
        self,
        kind: str,
        down_to: tuple[int, int, int] | None,
        known: dict[PostKey, PostItem],
        limit: int = WINDOW_CAP,
        root: Ref | None = None,
    ) -> Refresh:
        """The list as it is now: its newest ``limit`` entries down to ``down_to`` (None:
        the first page). Only entries the caller does not know yet are loaded in full.
        Bookmarks and a thread (``root``) are read whole."""
        if kind in (BOOKMARKS, THREAD):
            # Short lists, read whole: compare what is there now with what is shown.
            if kind == THREAD:
                assert root is not None
                now = self.thread(root)
            else:
                now = self.bookmarks()
            return Refresh(
                [i.post_key for i in now],
                [i for i in now if i.post_key not in known],
                [i for i in now if i.post_key in known and i != known[i.post_key]],
            )
        bottom = views.OLDEST if down_to is None else down_to
        limit = min(limit if down_to is not None else 50, WINDOW_CAP)
        rows = views.window(self._reader, self.query(kind), bottom, limit + 1)
        truncated = len(rows) > limit
        rows = rows[:limit]
        new_rows = [r for r in rows if (r.key, r.seq) not in known]
        loaded = self._items.items(views.load_rows(self._reader, new_rows))
        current = {i.post_key: i for i in loaded}
        keys = [(r.key, r.seq) for r in rows]
        changed = self._items.marks_changed([known[k] for k in keys if k in known])
        if kind == views.TIMELINE and self.web is not None:
            # Web feed items beside the posts: one order (their cursors), one limit.
            cursors = {(r.key, r.seq): (r.claimed_ms, r.feed, r.seq) for r in rows}
            items = items_down_to(self.web, bottom, limit + 1)
            cursors.update({i.post_key: i.cursor for i in items})
            order = sorted(cursors, key=cursors.__getitem__, reverse=True)
            truncated = truncated or len(order) > limit
            keys = order[:limit]
            shown = set(keys)
            for item in items:
                if item.post_key not in shown:
                    continue
                if item.post_key not in known:
                    current[item.post_key] = item
                elif known[item.post_key] != item:
                    changed.append(item)
        return Refresh(keys, [current[k] for k in keys if k in current], changed, truncated)

    def bookmarks(self) -> list[PostItem]:
        """Bookmarked posts and web feed items, most recently bookmarked first."""
        stored = views.load_keys(self._reader, self._local.bookmarks())
        posts = self._items.items([s for s in stored if not s.deleted])
        if self.web is None:
            return posts
        times = self._local.bookmark_times()
        marked = [(times.get(p.post_key, 0), p) for p in posts]
        marked += [(ms, web_post_item(i)) for ms, i in self.web.bookmarked(BOOKMARKED_ITEMS_CAP)]
        marked.sort(key=lambda pair: pair[0], reverse=True)
        return [item for _ms, item in marked]

    def thread(self, root: Ref) -> list[PostItem]:
        """A thread without what blocked people wrote in it: its first post, then the
        answers its asker marked as helpful, then the other replies, each oldest first."""
        author, seq, root_id = root
        blocked = self._local.blocked()
        stored = views.thread(self._reader, (author, seq), root_id, THREAD_CAP)
        items = self._items.items([s for s in stored if s.entry.author not in blocked])
        return sorted(items, key=lambda item: (item.id != root_id, not item.helpful))

    def unread_count(self) -> int:
        """Unread posts and web feed items in the timeline (capped at UNREAD_CAP)."""
        query = self.query(views.TIMELINE)
        mark = self._local.get(READ_MARK)
        posts = views.count_newer(self._reader, query, mark, UNREAD_CAP, self._own)
        if self.web is None or posts >= UNREAD_CAP:
            return posts
        return posts + timeline_unread(self.web, UNREAD_CAP - posts)

    def mark_read(self, up_to_ms: int | None = None) -> None:
        """Everything claimed up to ``up_to_ms`` (default: now) counts as read."""
        mark = now_ms() if up_to_ms is None else up_to_ms
        if mark > self._local.get(READ_MARK):
            self._local.set(READ_MARK, mark)
            self._local.clear_read_marks()
            if self.web is not None:
                self.web.mark_read_until(mark)
            self._emit(LocalChanged("read"))

    def set_bookmark(self, post_key: PostKey, on: bool) -> None:
        self._local.set_bookmark(post_key[0], post_key[1], on, now_ms())
        self._emit(LocalChanged("bookmarks"))

    def find(self, post_key: PostKey) -> StoredEntry:
        """The stored post ``post_key``; a clear error if it is not (or no longer) stored."""
        return self._items.find(post_key)
