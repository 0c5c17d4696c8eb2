"""The desk's learning features: edits, reading lists, search, tags, requests and blocks.

A mixin of :class:`lndesk.app.desk.Desk`, kept apart so that each module stays about one
thing. Like the rest of the desk it runs on the node thread and returns plain items.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.items import AuthorItem, ListEntry, PostItem, SearchResult, SearchResults
from lndesk.content import ListItem, ReadingList
from lndesk.entry_refs import PostKey, ref_of
from lndesk.errors import UsageError
from lndesk.keytext import key_to_text
from lndesk.search_query import SearchQuery
from lndesk.store import views
from lndesk.store.store import StoredEntry, now_ms

if TYPE_CHECKING:
    from lndesk.app.local import LocalState
    from lndesk.app.service import Service

T = TypeVar("T")
REQUESTS_CAP = 1000
SEARCH_LIMIT = 50
LISTS_CAP = 500


class CurationMixin:
    """Learning-network features of the desk (see the module docstring)."""

    if TYPE_CHECKING:
        service: Service
        local: LocalState
        own: bytes
        _emit: Callable[[AnyEvent], None]

        def _items(self, stored: Sequence[StoredEntry]) -> list[PostItem]: ...
        def find(self, post_key: PostKey) -> StoredEntry: ...
        def author(self, key: bytes) -> AuthorItem: ...
        async def _publish(self, action: Callable[[Service], T]) -> T: ...

    # --- edits ------------------------------------------------------------------

    async def edit(
        self,
        post_key: PostKey,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        question: bool = False,
    ) -> int:
        """Publish a new version of my post or reply ``key``."""
        target = self.find(post_key)
        entry = await self._publish(lambda s: s.edit(target, text, tags, links, question=question))
        return int(entry.seq)

    # --- reading lists -------------------------------------------------------------

    def reading_lists(self, *, mine: bool = False) -> list[PostItem]:
        """The current state of every reading list by me (and, unless ``mine``, by the
        people I follow), newest first."""
        authors = [self.own] if mine else [self.own, *self.service.store.following(self.own)]
        hidden = self.service.hidden()
        latest = views.reading_lists(self.service.store, [a for a in authors if a not in hidden])
        return self._items(latest[:LISTS_CAP])

    async def publish_list(
        self,
        title: str,
        items: Sequence[ListEntry],
        of: PostKey | None = None,
    ) -> int:
        """Publish a new reading list, or (``of``: its first version) its new state."""
        content_items = tuple(_list_item(item) for item in items)
        first = self.find(of) if of is not None else None
        entry = await self._publish(lambda s: s.publish_list(title, content_items, first))
        self._emit(LocalChanged("lists"))
        return int(entry.seq)

    async def add_to_list(self, of: PostKey, target: PostKey) -> int:
        """Append the post ``target`` to my reading list ``of`` (a new state of the list)."""
        first = self.find(of)
        current = views.reading_list(self.service.store, first.entry.author, first.entry.seq)
        if current is None or not isinstance(current.content, ReadingList):
            raise UsageError("that reading list is no longer stored here")
        post = self.find(target)
        ref = ref_of(post.entry)
        items = current.content.items
        if any(item.ref == ref for item in items):
            raise UsageError(f"that post is already in “{current.content.title}”")
        new_items = (*items, ListItem(ref=ref))
        title = current.content.title
        entry = await self._publish(lambda s: s.publish_list(title, new_items, first))
        self._emit(LocalChanged("lists"))
        return int(entry.seq)

    # --- finding things again ------------------------------------------------------

    def search(
        self,
        text: str,
        *,
        author: bytes | None = None,
        tag: str | None = None,
        type: str | None = None,
        since_ms: int | None = None,
        until_ms: int | None = None,
        limit: int = SEARCH_LIMIT,
        offset: int = 0,
    ) -> SearchResults:
        """Full-text search over everything stored, with the matched words' positions."""
        query = SearchQuery(text, author, tag, type, since_ms, until_ms, frozenset())
        hits = self.service.search(query, limit, offset)
        items = self._items([hit.entry for hit in hits])
        return SearchResults(
            (
                SearchResult(item, hit.snippet, tuple(hit.spans))
                for item, hit in zip(items, hits, strict=True)
            ),
            hits.pending,
        )

    def tags(self, limit: int = 100) -> list[tuple[str, int]]:
        """Tags used by me and the people I follow, most used first."""
        return views.tag_counts(self.service.store, self.own, limit)

    # --- requests, accepting and blocking --------------------------------------------

    def requests_count(self) -> int:
        """How many replies and mentions wait in Requests (capped)."""
        query = views.ListQuery(
            views.REQUESTS, self.own, self.service.hidden(), self.local.accepted()
        )
        return views.count_newer(self.service.store, query, -(2**62), REQUESTS_CAP, self.own)

    def accept(self, key: bytes, on: bool = True) -> None:
        """Show ``key``'s replies and mentions of me with the rest from now on."""
        self.service.accept(key_to_text(key), on)
        self._emit(LocalChanged("accepted"))

    async def block(self, key: bytes) -> None:
        """Block ``key``: unfollow if followed; stop storing, serving and showing it."""
        if key == self.own:
            raise UsageError("you cannot block yourself")
        following = key in self.service.store.following(self.own)
        if following:
            await self._publish(lambda s: s.block(key_to_text(key)))
        else:
            self.service.block(key_to_text(key))
        self._emit(LocalChanged("blocked"))
        if following:
            self._emit(LocalChanged("following"))

    def unblock(self, key: bytes) -> None:
        self.service.unblock(key_to_text(key))
        self._emit(LocalChanged("blocked"))

    def blocked(self) -> list[AuthorItem]:
        """Everyone I blocked, by name."""
        authors = [self.author(key) for key in self.local.blocked()]
        return sorted(authors, key=lambda a: a.name.casefold())

    # --- unread per author -------------------------------------------------------------

    def unread_by_author(self) -> dict[bytes, int]:
        """Unread posts of each person I follow (capped per author)."""
        keys = self.service.store.following(self.own)
        return views.unread_by_author(
            self.service.store,
            keys,
            self.local.read_marks(),
            self.local.get("read_mark_ms"),
            REQUESTS_CAP,
        )

    def mark_author_read(self, key: bytes, up_to_ms: int | None = None) -> None:
        self.local.set_read_mark(key, now_ms() if up_to_ms is None else up_to_ms)
        self._emit(LocalChanged("read"))


def _list_item(item: ListEntry) -> ListItem:
    if item.ref is not None:
        return ListItem(ref=item.ref, note=item.note)
    if item.link is None:
        raise UsageError("a reading list item is a post or a link")
    return ListItem(link=item.link, note=item.note)
