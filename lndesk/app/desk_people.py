"""People: following and unfollowing, muting, blocking, nicknames, and how each one reads.

Follows, unfollows and blocks of someone I follow are entries of my log (through the
:class:`~lndesk.app.desk_publish.Publisher`); mutes, nicknames, where a follow came from
and when a feed last synced are this device's own (:class:`~lndesk.app.local.LocalState`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from lndesk.app.desk_events import AnyEvent, LocalChanged
from lndesk.app.desk_items import READ_MARK
from lndesk.app.desk_naming import Naming
from lndesk.app.desk_publish import Publisher
from lndesk.app.items import AuthorItem
from lndesk.app.service import Service
from lndesk.errors import UsageError
from lndesk.keytext import key_to_text, parse_key_or_link
from lndesk.p2p.events import EntriesStored, FeedSynced
from lndesk.store import views
from lndesk.store.reading import StoreReader
from lndesk.store.store import now_ms

UNREAD_CAP = 1000


class People:
    """Whom I follow, mute and block, and each person as the following list shows them.

    Feed states and post times are read from the store's read side (``StoreReader``),
    not through :class:`~lndesk.app.service.Service`: they are single-row index lookups
    with no invariant to keep; every change goes through the service or the publisher.
    """

    def __init__(
        self,
        service: Service,
        reader: StoreReader,
        publisher: Publisher,
        naming: Naming,
        emit: Callable[[AnyEvent], None],
    ) -> None:
        self._service = service
        self._reader = reader
        self._local = service.local
        self._publisher = publisher
        self._naming = naming
        self._emit = emit
        self._own = service.public_key
        self._synced: dict[bytes, int] = {}

    # --- what the node tells ------------------------------------------------------

    def on_event(self, event: AnyEvent) -> None:
        """Note when a feed last synced (kept in memory, written by :meth:`flush`)."""
        if isinstance(event, (FeedSynced, EntriesStored)):
            self._synced[event.feed] = now_ms()

    def flush(self) -> None:
        """Write the sync times kept in memory to the local state."""
        for key, when in self._synced.items():
            self._local.set_synced(key, when)
        self._synced.clear()

    # --- reading people -------------------------------------------------------------

    def author(self, key: bytes) -> AuthorItem:
        state = self._reader.feed_state(key)
        source = self._local.follow_source(key)
        hint = source[1] if source else None
        synced = self._synced.get(key) or self._local.last_synced(key)
        return AuthorItem(
            key=key,
            name=self._naming.name(key, state.name, hint),
            chosen_name=self._naming.chosen(key, state.name, hint),
            key_text=key_to_text(key),
            height=state.height,
            max_seq=state.max_seq,
            last_post_ms=views.last_post_ms(self._reader, key),
            last_synced_ms=synced,
            source=source[0] if source else "your log",
            muted=key in self._local.muted(),
            forked_at=state.forked_at,
            blocked=key in self._local.blocked(),
            avatar=self._naming.avatar_of(key),
            pseudonyms=tuple(self._naming.revealed(key)),
        )

    def names(self, keys: Sequence[bytes]) -> dict[bytes, str]:
        """The names :meth:`author` gives these people, without the rest of what it reads."""
        found = {}
        for key in keys:
            source = self._local.follow_source(key)
            hint = source[1] if source else None
            found[key] = self._naming.name(key, self._reader.feed_state(key).name, hint)
        return found

    def avatar(self, key: bytes) -> bytes:
        return self._naming.avatar(key)

    def following(self) -> list[AuthorItem]:
        """Everyone I follow, by name, with their unread counts."""
        if self._synced:
            self.flush()
        unread = self.unread_by_author()
        authors = [
            replace(self.author(key), unread=unread.get(key, 0))
            for key in self._reader.following(self._own)
        ]
        return sorted(authors, key=lambda a: a.name.casefold())

    def blocked(self) -> list[AuthorItem]:
        """Everyone I blocked, by name."""
        authors = [self.author(key) for key in self._local.blocked()]
        return sorted(authors, key=lambda a: a.name.casefold())

    def unread_by_author(self) -> dict[bytes, int]:
        """Unread posts of each person I follow (capped per author)."""
        return views.unread_by_author(
            self._reader,
            self._reader.following(self._own),
            self._local.read_marks(),
            self._local.get(READ_MARK),
            UNREAD_CAP,
        )

    # --- changing whom I follow and how they show --------------------------------------

    async def follow(self, text: str, source: str = "pasted key") -> AuthorItem:
        """Follow a key or share link; returns the author as the following list shows it."""
        key, name = parse_key_or_link(text)
        if key == self._own:
            raise UsageError(
                "that is your own key",
                "Your own posts are always in your timeline. Paste someone else's key or link.",
            )
        if "://" in text and source == "pasted key":
            source = "share link"
        await self._publisher.publish(lambda s: s.follow(key_to_text(key)))
        self._local.set_follow_source(key, source, now_ms(), name)
        self._emit(LocalChanged("following"))
        return self.author(key)

    async def unfollow(self, key: bytes) -> None:
        await self._publisher.publish(lambda s: s.unfollow(key_to_text(key)))
        self._emit(LocalChanged("following"))

    def set_muted(self, key: bytes, on: bool) -> None:
        if key == self._own:
            raise UsageError("you cannot mute yourself")
        self._local.set_muted(key, on, now_ms())
        self._emit(LocalChanged("muted"))

    def set_nickname(self, key: bytes, name: str | None) -> str | None:
        """Call ``key`` ``name`` everywhere on this device (None or "": their own name
        again). Returns the nickname as stored (cleaned)."""
        _key, stored = self._service.set_nickname(key_to_text(key), name)
        self._emit(LocalChanged("profile"))  # how a person's name reads changed everywhere
        return stored

    async def block(self, key: bytes) -> None:
        """Block ``key``: unfollow if followed; stop storing, serving and showing it."""
        if key == self._own:
            raise UsageError("you cannot block yourself")
        following = key in self._reader.following(self._own)
        if following:
            await self._publisher.publish(lambda s: s.block(key_to_text(key)))
        else:
            self._service.block(key_to_text(key))
        self._emit(LocalChanged("blocked"))
        if following:
            self._emit(LocalChanged("following"))

    def unblock(self, key: bytes) -> None:
        self._service.unblock(key_to_text(key))
        self._emit(LocalChanged("blocked"))

    def mark_author_read(self, key: bytes, up_to_ms: int | None = None) -> None:
        self._local.set_read_mark(key, now_ms() if up_to_ms is None else up_to_ms)
        self._emit(LocalChanged("read"))
