"""The desktop app's service: every question a window asks and every action it takes.

A :class:`Desk` lives on the node's trio thread (see :mod:`lndesk.app.runtime`) and owns
the open data directory's service, this device's local state and, once the network is
up, the node. Widgets never call it directly: the GUI bridge submits functions of the
desk and gets plain values back (:mod:`lndesk.app.items`). Every query here is bounded
(a page, a window, a capped count), so no answer keeps the node thread long.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import trio

from lndesk.app.curation import CurationMixin
from lndesk.app.desk_events import AnyEvent, AppEvent, LocalChanged, NetworkUnavailable
from lndesk.app.desk_network import NetworkMixin
from lndesk.app.feed_reader import FeedReader
from lndesk.app.items import (
    AuthorItem,
    IdentityInfo,
    ListEntry,
    PostItem,
    Quoted,
    post_item,
    quoted_of,
    text_of,
)
from lndesk.app.local import LocalState
from lndesk.app.restore import RestoreStatus, confirm_own_log, restore_status
from lndesk.app.service import Service
from lndesk.content import Profile, ReadingList, Reply, Share, Tombstone
from lndesk.entry_refs import PostKey, Ref, ref_of
from lndesk.errors import ContentError, UsageError
from lndesk.keyfile import is_sealed, read_key_file
from lndesk.keytext import key_to_link, key_to_text, parse_key_or_link
from lndesk.names import display_name
from lndesk.p2p.events import EntriesStored, FeedSynced, HolderProven
from lndesk.store import views
from lndesk.store.store import Store, StoredEntry, now_ms
from lndesk.store.views import ListQuery

if TYPE_CHECKING:
    from lndesk.app.node import AppNode

logger = logging.getLogger(__name__)
T = TypeVar("T")

__all__ = ["AnyEvent", "AppEvent", "Desk", "LocalChanged", "NetworkUnavailable", "Refresh"]

BOOKMARKS = "bookmarks"
THREAD = "thread"
READ_MARK = "read_mark_ms"
UNREAD_CAP = 1000
WINDOW_CAP = 5000
THREAD_CAP = 2000
OLDEST = views.OLDEST
"""A cursor below every entry: a list's refresh down to it covers the whole list."""
HOLDERS_CHECK_DELAYS = (1.0, 5.0)
"""Seconds after a publish at which peers are asked how far they hold my feed, so
"seen by N peers" follows gossip within seconds instead of the next sync round."""


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


def _quoted_ref(content: object) -> Ref | None:
    """The post a share points at or a reply answers (None: neither)."""
    if isinstance(content, Share):
        return content.ref
    if isinstance(content, Reply):
        return content.parent
    return None


class Desk(CurationMixin, NetworkMixin):
    def __init__(self, service: Service, emit: Callable[[AnyEvent], None] = lambda _e: None):
        self.service = service
        self.own = service.public_key
        self.local: LocalState = service.local
        self.node: AppNode | None = None
        self._emit = emit
        self._nursery: trio.Nursery | None = None
        self._synced: dict[bytes, int] = {}
        self._avatars: dict[bytes, tuple[int, bytes]] = {}
        self.feed_reader = FeedReader(service.data_dir, emit, in_memory=service.store.read_only)
        if self.local.get(READ_MARK) == 0:
            # "Unread" means new since you started using lndesk on this device: the history
            # of someone you follow today arrives as already read, not as 10,000 unread posts.
            self.local.set(READ_MARK, now_ms())

    def close(self) -> None:
        """Write what is kept in memory; the service closes the local state."""
        self._flush_synced()
        self.feed_reader.close()

    def attach(self, node: AppNode | None, nursery: trio.Nursery | None = None) -> None:
        self.node = node
        if nursery is not None:
            self._nursery = nursery

    @property
    def store(self) -> Store:
        return self.service.store

    # --- events from the node ---------------------------------------------------

    def on_event(self, event: AnyEvent) -> None:
        if isinstance(event, (FeedSynced, EntriesStored)):
            self._synced[event.feed] = now_ms()
        elif isinstance(event, HolderProven) and event.feed == self.own:
            # Only a proven holder is "seen by": a claim costs nothing to make up.
            self._holds(event.peer, event.height)

    def _holds(self, peer: bytes, height: int) -> None:
        if peer != self.own and self.local.set_holds(peer, self.own, height):
            self._emit(LocalChanged("holders"))

    def _flush_synced(self) -> None:
        for key, when in self._synced.items():
            self.local.set_synced(key, when)
        self._synced.clear()

    # --- lists --------------------------------------------------------------------

    def _query(self, kind: str) -> ListQuery:
        """The store query of a list kind: "timeline", "mine", "replies", "requests",
        "tag:<tag>" or "author:<hex key>"."""
        name, _, arg = kind.partition(":")
        hidden = self.service.hidden()
        accepted = self.local.accepted()
        if name == views.TAG:
            return ListQuery(views.TAG, self.own, hidden, accepted, tag=arg)
        if name == views.AUTHOR:
            try:
                author = bytes.fromhex(arg)
            except ValueError:
                raise UsageError(f"{arg!r} is not an author key") from None
            return ListQuery(views.AUTHOR, self.own, hidden, accepted, author=author)
        return ListQuery(kind, self.own, hidden, accepted)

    def _items(self, stored: Sequence[StoredEntry]) -> list[PostItem]:
        """The items of ``stored``. What every row asks (who is followed or blocked, the
        bookmarks, an author's avatar, the posts shares and replies point at and their
        current versions) is read once per call, not once per row: this runs on the node
        thread, and while it holds the GIL the GUI thread waits."""
        unread = self._unread_test()
        holders = self.local.holder_heights(self.own)
        edits = views.current_versions(self.store, stored)
        following = {self.own, *self.store.following(self.own)}
        bookmarked = set(self.local.bookmarks())
        quoted = self._quoted_all([entry.content for entry in stored], following)
        nicknames = self.local.nicknames()
        avatars: dict[bytes, bytes] = {}
        items = []
        for entry in stored:
            e = entry.entry
            mine = e.author == self.own
            content = entry.content
            if e.author not in avatars:
                avatars[e.author] = self._avatar_of(e.author)
            items.append(
                post_item(
                    entry,
                    self.own,
                    reply_count=views.reply_count(self.store, e.id),
                    unread=not mine and unread(e.author, e.claimed_ms),
                    bookmarked=(e.author, e.seq) in bookmarked,
                    seen_by=sum(1 for h in holders if h >= e.seq) if mine else 0,
                    quoted=quoted.get(_quoted_ref(content) or Ref(b"", -1, b"")),
                    avatar=avatars[e.author],
                    edit=edits.get((e.author, e.seq)),
                    list_items=self._list_entries(content),
                    followed=e.author in following,
                    nickname=nicknames.get(e.author),
                )
            )
        return items

    def _quoted_all(self, contents: Sequence[object], following: set[bytes]) -> dict[Ref, Quoted]:
        """The posts these shares point at and replies answer, in their current versions,
        by their reference: one load and one version lookup for all."""
        blocked = self.local.blocked()
        refs = {
            ref
            for ref in (_quoted_ref(content) for content in contents)
            if ref is not None and ref.author not in blocked
        }
        if not refs:
            return {}
        keys = list(dict.fromkeys(ref.post_key for ref in refs))
        found = [s for s in views.load_keys(self.store, keys) if not s.deleted]
        edits = views.current_versions(self.store, found)
        shown = {}
        for stored in found:
            e = stored.entry
            ref = ref_of(e)
            if ref in refs:
                edit = edits.get((e.author, e.seq))
                shown[ref] = quoted_of(
                    stored,
                    edit,
                    followed=e.author in following,
                    nickname=self.local.nicknames().get(e.author),
                )
        return shown

    def _list_entries(self, content: object) -> tuple[ListEntry, ...]:
        """A reading list's items, each entry resolved as far as it is stored here."""
        if not isinstance(content, ReadingList):
            return ()
        keys = [(i.ref.author, i.ref.seq) for i in content.items if i.ref is not None]
        stored = {
            (s.entry.author, s.entry.seq): s
            for s in views.load_keys(self.store, keys)
            if not s.deleted
        }
        edits = views.current_versions(self.store, list(stored.values()))
        shown = []
        for item in content.items:
            if item.ref is None:
                shown.append(ListEntry(item.link or "", item.note, link=item.link))
                continue
            ref = item.ref
            found = stored.get((ref.author, ref.seq))
            if found is None or found.entry.id != ref.id:
                name = self._name(ref.author, self.store.feed_state(ref.author).name)
                title = f"A post by {name} (not stored here yet)"
                shown.append(ListEntry(title, item.note, ref=ref, author_name=name))
                continue
            name = self._name(ref.author, found.author_name)
            text = text_of(found, edits.get((ref.author, ref.seq)))
            title = text.strip().splitlines()[0][:200] if text.strip() else "(no text)"
            shown.append(
                ListEntry(
                    title,
                    item.note,
                    ref=ref,
                    author_name=name,
                    stored=True,
                )
            )
        return tuple(shown)

    def _unread_test(self) -> Callable[[bytes, int], bool]:
        """Whether a post by an author, claimed at a time, is unread: after the overall
        read mark and after that author's own mark."""
        mark = self.local.get(READ_MARK)
        marks = self.local.read_marks()
        return lambda author, claimed: claimed > max(mark, marks.get(author, 0))

    def page(
        self, kind: str, older_than: tuple[int, int, int] | None, limit: int
    ) -> list[PostItem]:
        """The next ``limit`` items of a paged list ("timeline", "mine", "replies"), older
        than ``older_than`` (None: the newest). Bookmarks and threads come whole, from
        :meth:`refresh`."""
        cursor = views.NEWEST if older_than is None else older_than
        return self._items(views.page(self.store, self._query(kind), cursor, limit))

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
        rows = views.window(self.store, self._query(kind), bottom, limit + 1)
        truncated = len(rows) > limit
        rows = rows[:limit]
        new_rows = [r for r in rows if (r.key, r.seq) not in known]
        current = {i.post_key: i for i in self._items(views.load_rows(self.store, new_rows))}
        keys = [(r.key, r.seq) for r in rows]
        changed = self._marks_changed([known[k] for k in keys if k in known])
        return Refresh(keys, [current[k] for k in keys if k in current], changed, truncated)

    def _marks_changed(self, items: Sequence[PostItem]) -> list[PostItem]:
        """Known items with fresh counts and marks; an item edited since it was loaded is
        loaded again (only then is a payload read). Whether I follow the author of a post a
        share quotes is a mark too: it changes without the share being read again."""
        versions = views.edit_seqs(self.store, [item.post_key for item in items])
        stale = [item.post_key for item in items if item.version != versions.get(item.post_key, 0)]
        changed = self._items(views.load_keys(self.store, stale)) if stale else []
        unread = self._unread_test()
        holders = self.local.holder_heights(self.own)
        following = {self.own, *self.store.following(self.own)}
        bookmarked = set(self.local.bookmarks())
        names: dict[bytes, tuple[str, str, bytes]] = {}
        skip = set(stale)
        for item in items:
            if item.post_key in skip:
                continue
            if item.author not in names:
                state = self.store.feed_state(item.author)
                names[item.author] = (
                    self._name(item.author, state.name),
                    self._chosen(item.author, state.name),
                    self._avatar_of(item.author),
                )
            name, chosen, avatar = names[item.author]
            quoted = item.quoted
            if quoted is not None and quoted.followed != (quoted.author in following):
                quoted = replace(quoted, followed=quoted.author in following)
            fresh = replace(
                item,
                author_name=name,
                chosen_name=chosen,
                avatar=avatar,
                reply_count=views.reply_count(self.store, item.id),
                followed=item.author in following,
                unread=not item.mine and unread(item.author, item.claimed_ms),
                bookmarked=item.post_key in bookmarked,
                seen_by=sum(1 for h in holders if h >= item.seq) if item.mine else 0,
                quoted=quoted,
            )
            if fresh != item:
                changed.append(fresh)
        return changed

    def bookmarks(self) -> list[PostItem]:
        stored = views.load_keys(self.store, self.local.bookmarks())
        return self._items([s for s in stored if not s.deleted])

    def thread(self, root: Ref) -> list[PostItem]:
        """A thread, oldest first, without what blocked people wrote in it."""
        author, seq, root_id = root
        blocked = self.local.blocked()
        stored = views.thread(self.store, (author, seq), root_id, THREAD_CAP)
        return self._items([s for s in stored if s.entry.author not in blocked])

    def unread_count(self) -> int:
        """Unread posts in the timeline (capped at UNREAD_CAP)."""
        query = self._query(views.TIMELINE)
        return views.count_newer(self.store, query, self.local.get(READ_MARK), UNREAD_CAP, self.own)

    def mark_read(self, up_to_ms: int | None = None) -> None:
        """Everything claimed up to ``up_to_ms`` (default: now) counts as read."""
        mark = now_ms() if up_to_ms is None else up_to_ms
        if mark > self.local.get(READ_MARK):
            self.local.set(READ_MARK, mark)
            self.local.clear_read_marks()
            self._emit(LocalChanged("read"))

    def find(self, post_key: PostKey) -> StoredEntry:
        found = views.load_keys(self.store, [post_key])
        if not found or found[0].deleted:
            raise UsageError("that post is no longer stored here")
        return found[0]

    # --- publishing ---------------------------------------------------------------

    async def _publish(self, action: Callable[[Service], T]) -> T:
        if self.node is not None:
            result = await self.node.publish(action)  # reports EntriesStored(via="local")
            self._check_holders_soon()
        else:
            result = action(self.service)  # offline: synced when the network is back
            self._emit(LocalChanged("published"))
        return result

    def _check_holders_soon(self) -> None:
        node, nursery = self.node, self._nursery
        if node is None or nursery is None:
            return

        async def check() -> None:
            for delay in HOLDERS_CHECK_DELAYS:
                await trio.sleep(delay)
                if self.node is not None:
                    self.node.node.check_holders(self.own)

        nursery.start_soon(check)

    async def post(
        self,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
        *,
        question: bool = False,
    ) -> int:
        """Publish a post (a question if ``question``); ``@lnd1…`` keys in it are mentioned."""
        entry = await self._publish(lambda s: s.post(text, tags, links, question=question))
        return int(entry.seq)

    async def reply(
        self,
        parent: PostKey,
        text: str,
        tags: Sequence[str] = (),
        links: Sequence[str] = (),
    ) -> int:
        target = self.find(parent)
        entry = await self._publish(lambda s: s.reply(target, text, tags, links))
        return int(entry.seq)

    async def share(self, target: PostKey, comment: str = "") -> int:
        stored = self.find(target)
        entry = await self._publish(lambda s: s.publish(Share(ref_of(stored.entry), comment)))
        return int(entry.seq)

    async def delete(self, target: PostKey) -> None:
        stored = self.find(target)
        if stored.entry.author != self.own:
            raise ContentError("you can only delete your own posts")
        await self._publish(lambda s: s.publish(Tombstone(ref_of(stored.entry))))

    async def follow(self, text: str, source: str = "pasted key") -> AuthorItem:
        """Follow a key or share link; returns the author as the following list shows it."""
        key, name = parse_key_or_link(text)
        if key == self.own:
            raise UsageError(
                "that is your own key",
                "Your own posts are always in your timeline. Paste someone else's key or link.",
            )
        if "://" in text and source == "pasted key":
            source = "share link"
        await self._publish(lambda s: s.follow(key_to_text(key)))
        self.local.set_follow_source(key, source, now_ms(), name)
        self._emit(LocalChanged("following"))
        return self.author(key)

    async def unfollow(self, key: bytes) -> None:
        await self._publish(lambda s: s.unfollow(key_to_text(key)))
        self._emit(LocalChanged("following"))

    async def set_profile(self, name: str, bio: str, avatar: bytes) -> None:
        await self._publish(lambda s: s.publish(Profile(name, bio, avatar)))
        self._emit(LocalChanged("profile"))

    def set_muted(self, key: bytes, on: bool) -> None:
        if key == self.own:
            raise UsageError("you cannot mute yourself")
        self.local.set_muted(key, on, now_ms())
        self._emit(LocalChanged("muted"))

    def set_bookmark(self, post_key: PostKey, on: bool) -> None:
        self.local.set_bookmark(post_key[0], post_key[1], on, now_ms())
        self._emit(LocalChanged("bookmarks"))

    # --- people -------------------------------------------------------------------

    def author(self, key: bytes) -> AuthorItem:
        state = self.store.feed_state(key)
        source = self.local.follow_source(key)
        hint = source[1] if source else None
        synced = self._synced.get(key) or self.local.last_synced(key)
        return AuthorItem(
            key=key,
            name=self._name(key, state.name, hint),
            chosen_name=self._chosen(key, state.name, hint),
            key_text=key_to_text(key),
            height=state.height,
            max_seq=state.max_seq,
            last_post_ms=views.last_post_ms(self.store, key),
            last_synced_ms=synced,
            source=source[0] if source else "your log",
            muted=key in self.local.muted(),
            forked_at=state.forked_at,
            blocked=key in self.local.blocked(),
            avatar=self._avatar_of(key),
        )

    def names(self, keys: Sequence[bytes]) -> dict[bytes, str]:
        """The names :meth:`author` gives these people, without the rest of what it reads."""
        found = {}
        for key in keys:
            source = self.local.follow_source(key)
            hint = source[1] if source else None
            found[key] = self._name(key, self.store.feed_state(key).name, hint)
        return found

    def _name(self, key: bytes, chosen: str | None, hint: str | None = None) -> str:
        """What to call ``key`` here: my nickname for them, else their cleaned chosen name
        (else the share link's hint, else their short key)."""
        return self.local.nicknames().get(key) or display_name(chosen, key, hint)

    def _chosen(self, key: bytes, chosen: str | None, hint: str | None = None) -> str:
        """Their own name, shown beside my nickname for them ("" if I gave them none)."""
        if key not in self.local.nicknames():
            return ""
        return display_name(chosen, key, hint)

    def set_nickname(self, key: bytes, name: str | None) -> str | None:
        """Call ``key`` ``name`` everywhere on this device (None or "": their own name
        again). Returns the nickname as stored (cleaned)."""
        _key, stored = self.service.set_nickname(key_to_text(key), name)
        self._emit(LocalChanged("profile"))  # how a person's name reads changed everywhere
        return stored

    def following(self) -> list[AuthorItem]:
        """Everyone I follow, by name, with their unread counts."""
        if self._synced:
            self._flush_synced()
        unread = self.unread_by_author()
        authors = [
            replace(self.author(key), unread=unread.get(key, 0))
            for key in self.store.following(self.own)
        ]
        return sorted(authors, key=lambda a: a.name.casefold())

    def identity(self) -> IdentityInfo:
        state = self.store.feed_state(self.own)
        profile = views.profile_entry(self.store, self.own)
        avatar = b""
        if profile is not None and isinstance(profile.content, Profile):
            avatar = profile.content.avatar
        return IdentityInfo(
            key=self.own,
            key_text=key_to_text(self.own),
            link=key_to_link(self.own, state.name),
            name=state.name or "",
            bio=state.bio or "",
            avatar=avatar,
            sealed=is_sealed(read_key_file(self.service.key_path)),
            can_publish=self.service.own_log.confirmed,
            restore=None if self.service.own_log.confirmed else restore_status(self.service),
        )

    async def ask_own_log(self) -> RestoreStatus:
        """A restored identity asks its peers again how far its own log goes."""
        if self.node is not None and self.node.survey.active():
            return await self.node.survey.run()
        return restore_status(self.service)

    def confirm_own_log(self, latest: int) -> RestoreStatus:
        """The user confirmed ``latest`` as their log's last entry: publishing resumes."""
        if self.node is not None:
            status = self.node.survey.confirm(latest)
        else:
            status = confirm_own_log(self.service, latest)
        self._emit(LocalChanged("profile"))
        return status

    def avatar(self, key: bytes) -> bytes:
        profile = views.profile_entry(self.store, key)
        if profile is not None and isinstance(profile.content, Profile):
            return profile.content.avatar
        return b""

    def _avatar_of(self, key: bytes) -> bytes:
        """The author's avatar, read once per profile change (one object shared by posts)."""
        seq = views.profile_seq(self.store, key)
        cached = self._avatars.get(key)
        if cached is None or cached[0] != seq:
            cached = (seq, self.avatar(key) if seq else b"")
            self._avatars[key] = cached
        return cached[1]

    def backup_words(self, passphrase: str | None = None) -> str:
        """The 24 words; a sealed key file's passphrase must be given again."""
        self.service.check_passphrase(passphrase)
        return self.service.backup_words()

    def export(self, path: Path) -> int:
        return self.service.export(path)

    def import_backup(self, path: Path, *, latest: bool = False) -> int:
        """Bring back this identity's log from a backup file; ``latest`` says nothing was
        published after it, which lets a restored identity publish again."""
        result = self.service.import_backup(path, latest=latest)
        self._emit(LocalChanged("published"))
        self._emit(LocalChanged("profile"))
        return result.ingest.stored
