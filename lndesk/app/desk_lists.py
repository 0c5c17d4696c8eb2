"""Reading lists: mine and those of the people I follow, publishing and adding to mine."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_items import PostItems
from lndesk.app.desk_publish import Publisher
from lndesk.app.items import ListEntry, PostItem
from lndesk.app.service import Service
from lndesk.content import MAX_NOTE_CHARS, ListItem, ReadingList
from lndesk.content_fields import is_valid_link
from lndesk.entry_refs import PostKey, ref_of
from lndesk.errors import UsageError
from lndesk.store import views
from lndesk.store.feedstore import FeedStore
from lndesk.store.reading import StoreReader

LISTS_CAP = 500


class Lists:
    """Reading lists, each in its current state (a list is republished whole when it
    changes). The current states are read from the store's read side (``StoreReader``),
    not through :class:`~lndesk.app.service.Service`: a bounded index lookup with no
    invariant to keep; every new state is published through the publisher."""

    def __init__(
        self,
        service: Service,
        reader: StoreReader,
        publisher: Publisher,
        items: PostItems,
        emit: Callable[[AnyEvent], None],
    ) -> None:
        self._service = service
        self._reader = reader
        self._publisher = publisher
        self._items = items
        self._emit = emit
        self._own = service.public_key
        self.web: FeedStore | None = None
        """The web feeds whose items can go into a list, as links (set by the desk)."""

    def reading_lists(self, *, mine: bool = False) -> list[PostItem]:
        """The current state of every reading list by me (and, unless ``mine``, by the
        people I follow), newest first."""
        authors = [self._own] if mine else [self._own, *self._reader.following(self._own)]
        hidden = self._service.hidden()
        latest = views.reading_lists(self._reader, [a for a in authors if a not in hidden])
        return self._items.items(latest[:LISTS_CAP])

    async def publish_list(
        self,
        title: str,
        items: Sequence[ListEntry],
        of: PostKey | None = None,
    ) -> int:
        """Publish a new reading list, or (``of``: its first version) its new state."""
        content_items = tuple(_list_item(item) for item in items)
        first = self._items.find(of) if of is not None else None
        entry = await self._publisher.publish(lambda s: s.publish_list(title, content_items, first))
        self._emit(LocalChanged("lists"))
        return entry.seq

    def web_item_entry(self, item: int) -> ListEntry:
        """The item ``item`` of a web feed as a reading list's link: its link, with its
        title as the note (docs/protocol.md 10.9: an item is a ``ref`` or a ``link``)."""
        if self.web is None:
            raise UsageError("this data directory follows no web feeds")
        found = self.web.get(item)
        if not found.link or not is_valid_link(found.link):
            raise UsageError(
                "that item has no link a reading list can hold",
                "Share it with a comment instead, or write a post about it.",
            )
        title = " ".join(found.title.split())[:MAX_NOTE_CHARS]
        return ListEntry(title, note=title, link=found.link)

    async def add_to_list(self, of: PostKey, target: PostKey) -> int:
        """Append the post ``target`` to my reading list ``of`` (a new state of the list)."""
        post = self._items.find(target)
        return await self._append(of, ListItem(ref=ref_of(post.entry)), "that post")

    async def add_web_item(self, of: PostKey, item: int) -> int:
        """Append the web feed item ``item`` to my reading list ``of``, as a link."""
        entry = self.web_item_entry(item)
        return await self._append(of, _list_item(entry), "that link")

    async def _append(self, of: PostKey, new: ListItem, what: str) -> int:
        first = self._items.find(of)
        current = views.reading_list(self._reader, first.entry.author, first.entry.seq)
        if current is None or not isinstance(current.content, ReadingList):
            raise UsageError("that reading list is no longer stored here")
        items = current.content.items
        if any(
            (new.ref is not None and item.ref == new.ref)
            or (new.link is not None and item.link == new.link)
            for item in items
        ):
            raise UsageError(f"{what} is already in “{current.content.title}”")
        new_items = (*items, new)
        title = current.content.title
        entry = await self._publisher.publish(lambda s: s.publish_list(title, new_items, first))
        self._emit(LocalChanged("lists"))
        return entry.seq


def _list_item(item: ListEntry) -> ListItem:
    if item.ref is not None:
        return ListItem(ref=item.ref, note=item.note)
    if item.link is None:
        raise UsageError("a reading list item is a post or a link")
    return ListItem(link=item.link, note=item.note)
