"""The list of posts behind every post view: timeline, my posts, replies, bookmarks, thread.

It holds only the rows loaded so far. Scrolling to the end asks the desk for the next
page (``canFetchMore``/``fetchMore``), so a store of a million entries costs what the
user has actually looked at. When the node reports new entries the model asks for the
list as it is now *down to its oldest loaded row* and applies the difference in place:
rows are inserted where they belong (a newest-first sync also fills in older posts),
removed when deleted or muted, and updated when their counts change. It never resets,
so a view keeps its selection and, with :mod:`lndesk.ui.views.posts`, its scroll position.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    Qt,
    Signal,
)

from lndesk.app.desk import BOOKMARKS, THREAD, Desk, Refresh
from lndesk.app.events import (
    EntriesStored,
    FeedForked,
    LocalChanged,
)
from lndesk.app.items import AuthorItem, PostItem
from lndesk.entry_refs import PostKey, Ref
from lndesk.keytext import key_to_text
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import error_text
from lndesk.ui.models.live import Index, ItemRole
from lndesk.ui.plain_text import plain_tooltip

logger = logging.getLogger(__name__)

PAGE = 60
MentionNamesRole = Qt.ItemDataRole.UserRole + 2
"""``{key: name}`` of the people a post mentions (short keys until the names are known)."""
QuestionRole = Qt.ItemDataRole.UserRole + 3
EditedRole = Qt.ItemDataRole.UserRole + 4
FollowOfferRole = Qt.ItemDataRole.UserRole + 5
"""For a share of someone I do not follow: (their key, their name); else None."""
LIVE_ROWS = 300
"""How many rows a refresh keeps (or as many as are loaded, if the reader scrolled
further): new posts arriving at the top push the oldest rows off the bottom, where
scrolling fetches them again. A view lays out every row after a change, so this bound
is what keeps applying a refresh cheap during a sync of 100,000 entries."""
REFRESH_DELAY_MS = 250
"""New entries arrive in bursts during a sync; one refresh per burst is enough."""
REFRESHED_BY = frozenset(
    (
        "published",
        "following",
        "muted",
        "bookmarks",
        "read",
        "holders",
        "profile",
        "accepted",
        "blocked",
        "lists",
        "webfeeds",
    )
)
"""The local changes (``LocalChanged.what``) a list is refreshed for."""
NAMES_CAP = 200
"""Mentioned people whose names are asked for in one request."""


def follow_offer(item: PostItem) -> tuple[bytes, str] | None:
    """(key, name) of someone I do not follow yet whom ``item`` offers to follow in one
    click: a shared post's author, or the author of an answer to my question (asked as
    myself or as one of my pseudonyms)."""
    if item.kind == "reply" and item.answers_mine and not item.followed and not item.mine:
        return (item.author, item.author_name)
    quoted = item.quoted
    if item.kind != "share" or quoted is None or quoted.followed:
        return None
    return (quoted.author, quoted.author_name)


class PostListModel(QAbstractListModel):
    """One list of posts ("timeline", "mine", "replies", "requests", "bookmarks" or "thread")."""

    loaded = Signal()
    """A page or a refresh has been applied (tests and the cold-start probe wait on it)."""
    failed = Signal(str)
    followed = Signal(object)
    """The AuthorItem of a shared post's author just followed from this list."""
    applying = Signal()
    """A refresh is about to change rows (a view notes what the reader is looking at)."""
    applied = Signal(int)
    """The refresh is done; the number of rows it put above the first one shown before."""

    def __init__(
        self,
        bridge: Bridge,
        kind: str,
        parent: QObject | None = None,
        *,
        root: Ref | None = None,
    ) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self.kind = kind
        self.root = root
        self._items: list[PostItem] = []
        self._rows: dict[PostKey, int] = {}
        self._exhausted = kind in (BOOKMARKS, THREAD)
        self._fetching = False
        self._stale_page = False
        """A refresh was applied while a page was on its way: that page may end the list
        too early (it was read before what the refresh brought, a person followed say)."""
        self._refreshing = False
        self._again = False
        self._started = False
        self.reading_row = 0
        """The first row in view (the view keeps it up to date)."""
        self._names: dict[bytes, str] = {}
        """Names of mentioned people, as far as asked."""
        self._naming: set[bytes] = set()
        self._timer = bridge.timer(self, self.refresh)
        bridge.node_event.connect(self._on_event)

    # --- Qt model interface ------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.text or item.problem or ""
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(f"{item.shown_name} ({item.short_key})")
        if role == Qt.ItemDataRole.AccessibleTextRole:
            marks = ("question, " if item.question else "") + ("edited, " if item.edited else "")
            if item.question and item.root is None:
                marks += "answered, " if item.answered else "open, "
            if item.helpful:
                marks += "marked helpful by the asker, "
            return f"{item.shown_name}: {marks}{item.text or item.problem or ''}"
        if role == ItemRole:
            return item
        if role == MentionNamesRole:
            return {key: self._names.get(key, "") for key in item.mentions}
        if role == QuestionRole:
            return item.question
        if role == EditedRole:
            return item.edited
        if role == FollowOfferRole:
            return follow_offer(item)
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        names[ItemRole] = QByteArray(b"item")
        names[MentionNamesRole] = QByteArray(b"mentionNames")
        names[QuestionRole] = QByteArray(b"question")
        names[EditedRole] = QByteArray(b"edited")
        names[FollowOfferRole] = QByteArray(b"followOffer")
        return names

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._started and not self._exhausted

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching or self._exhausted:
            return
        self._fetching = True
        older = self._items[-1].cursor if self._items else None
        kind = self.kind
        self.bridge.request(
            lambda desk: desk.reading.page(kind, older, PAGE), self._append_page, self._on_failed
        )

    # --- loading -----------------------------------------------------------------

    def start(self) -> None:
        """Load the first page (once); afterwards the view's scrolling loads more."""
        if self._started:
            return
        self._started = True
        if self.kind in (THREAD, BOOKMARKS):
            self.refresh()
        else:
            self.fetchMore()

    def item(self, row: int) -> PostItem:
        return self._items[row]

    def items(self) -> list[PostItem]:
        return list(self._items)

    def row_of(self, post_key: PostKey) -> int | None:
        return self._rows.get(post_key)

    def _append_page(self, items: list[PostItem]) -> None:
        self._fetching = False
        stale, self._stale_page = self._stale_page, False
        fresh = [i for i in items if i.post_key not in self._rows]
        if len(items) < PAGE and not stale:
            self._exhausted = True
        if fresh:
            first = len(self._items)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            self._items.extend(fresh)
            self._reindex()
            self.endInsertRows()
            self._ask_names(fresh)
        self.loaded.emit()
        if stale and self.canFetchMore() and len(self._items) < PAGE:
            self.fetchMore()  # the page the refresh wanted, read now

    def _on_failed(self, error: BaseException) -> None:
        self._fetching = False
        self._stale_page = False
        self._refreshing = False
        message = error_text(error)
        logger.warning("a post list could not be loaded: %s", message)
        self.failed.emit(message)

    # --- live updates ------------------------------------------------------------

    def _on_event(self, event: object) -> None:
        # Entries arriving, live or in a sync, cost one refresh per burst and nothing per
        # row here: the desk's refresh loads again the rows whose post was edited since
        # they were shown (a peer's edit, mine) and brings the marks of the others up to
        # date, including whether I follow the author a share quotes.
        if not self._started:
            return
        if isinstance(event, LocalChanged) and event.what in ("following", "profile"):
            self._update_names()
        if isinstance(event, EntriesStored | FeedForked) or (
            isinstance(event, LocalChanged) and event.what in REFRESHED_BY
        ):
            self.schedule_refresh()

    # --- following a shared post's author ------------------------------------------

    def follow_quoted(self, item: PostItem) -> None:
        """Follow the author of the post ``item`` shares; the rows offering it update."""
        offer = follow_offer(item)
        if offer is None:
            return
        key = offer[0]
        source = "share" if item.kind == "share" else "answer"
        self.bridge.request_async(
            lambda desk: desk.people.follow(key_to_text(key), source=source),
            self._followed,
            lambda error: self.failed.emit(error_text(error)),
        )

    def _followed(self, author: AuthorItem) -> None:
        for row, item in enumerate(self._items):
            quoted = item.quoted
            if quoted is not None and quoted.author == author.key and not quoted.followed:
                self._items[row] = replace(item, quoted=replace(quoted, followed=True))
                index = self.index(row)
                self.dataChanged.emit(index, index)
        self.followed.emit(author)

    # --- names of mentioned people ----------------------------------------------------

    def _ask_names(self, items: list[PostItem], *, again: bool = False) -> None:
        """Ask for the names of the people ``items`` mention (``again``: also those known)."""
        wanted = [
            key
            for item in items
            if item.mentions
            for key in item.mentions
            if again or (key not in self._names and key not in self._naming)
        ]
        keys = list(dict.fromkeys(wanted))[:NAMES_CAP]
        if not keys:
            return
        self._naming.update(keys)

        def names(desk: Desk) -> dict[bytes, str]:
            try:
                return dict(desk.people.names(keys))
            except Exception:  # a name is a nicety; the key still shows
                logger.debug("no names for mentioned keys", exc_info=True)
                return {}

        def failed(_error: BaseException) -> None:
            self._naming.difference_update(keys)

        def done(found: dict[bytes, str]) -> None:
            self._naming.difference_update(keys)
            self._set_names(found)

        self.bridge.request(names, done, failed)

    def _set_names(self, names: dict[bytes, str]) -> None:
        """Keep the names; only the rows mentioning someone whose name changed are redrawn."""
        changed = {key for key, name in names.items() if self._names.get(key) != name}
        self._names.update(names)
        if not changed:
            return
        for row, item in enumerate(self._items):
            if item.mentions and not changed.isdisjoint(item.mentions):
                index = self.index(row)
                self.dataChanged.emit(index, index)

    def _update_names(self) -> None:
        """Names may have changed (a follow, a profile): ask again for those shown. The
        names known so far stay until the answer, so no row falls back to a key meanwhile."""
        self._ask_names(self._items, again=True)

    def schedule_refresh(self) -> None:
        if not self._timer.isActive():
            self._timer.start(REFRESH_DELAY_MS)

    def refresh(self) -> None:
        """Bring the loaded rows up to date with the store (asynchronously)."""
        if self._refreshing:
            self._again = True
            return
        self._refreshing = True
        # Rows whose post was edited since are loaded again by the desk (PostItem.version).
        known = {item.post_key: item for item in self._items}
        # Down to the oldest row loaded (None: nothing loaded yet, the first page only).
        # Rows that arrive below it are not inserted; scrolling down fetches them.
        down_to = self._items[-1].cursor if self._items else None
        # Keep the row being read, and a screenful of new arrivals above it, in the list.
        limit = max(len(self._items), LIVE_ROWS, self.reading_row + LIVE_ROWS)
        kind, root = self.kind, self.root
        self.bridge.request(
            lambda desk: desk.reading.refresh(kind, down_to, known, limit, root),
            self._apply,
            self._on_failed,
        )

    def _apply(self, refresh: Refresh) -> None:
        self._refreshing = False
        if self.kind not in (THREAD, BOOKMARKS):
            # More may exist below the last row now (arrived there, or pushed down).
            self._exhausted = False
        wanted = set(refresh.post_keys)
        self.applying.emit()
        if self.kind == THREAD:
            self._reorder(refresh, wanted)
        top = self._items[0].post_key if self._items else None
        # 1. rows that left the list (deleted, muted, unbookmarked, unfollowed)
        row = len(self._items) - 1
        while row >= 0:
            if self._items[row].post_key in wanted:
                row -= 1
                continue
            last = row
            while row >= 0 and self._items[row].post_key not in wanted:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, last)
            del self._items[row + 1 : last + 1]
            self.endRemoveRows()
        self._reindex()
        # 2. rows read again in full (a new version) replace the ones shown; new rows are
        # inserted where the list order puts them, run by run from the top, so each run's
        # place is already its final row and the index is rebuilt once, at the end
        new = {item.post_key: item for item in refresh.new}
        for key, item in new.items():
            at = self._rows.get(key)
            if at is not None and self._items[at] != item:
                self._items[at] = item
                index = self.index(at)
                self.dataChanged.emit(index, index)
        position = 0
        inserted = 0
        run: list[PostItem] = []
        for key in refresh.post_keys:
            old = self._rows.get(key)
            if old is None:
                if key in new:
                    run.append(new[key])
                continue
            if run:
                self._insert(position, run)
                inserted += len(run)
                run = []
            position = old + inserted + 1
        if run:
            self._insert(position, run)
            inserted += len(run)
        if inserted:
            self._reindex()
        # 3. rows whose counts or marks changed
        for item in refresh.changed:
            at = self._rows.get(item.post_key)
            if at is not None:
                self._items[at] = item
                index = self.index(at)
                self.dataChanged.emit(index, index)
        self._ask_names(refresh.new)
        above = self._rows.get(top, 0) if top is not None else 0
        self.applied.emit(above)
        self.loaded.emit()
        if self._again:
            self._again = False
            self.refresh()
        elif self.canFetchMore() and len(self._items) < PAGE:
            if self._fetching:
                self._stale_page = True  # read again after it (see _append_page)
            self.fetchMore()  # a short list: fill it up to a page

    def _reorder(self, refresh: Refresh, wanted: set[PostKey]) -> None:
        """Rows of a thread in the refresh's order when the rows kept changed places (a
        mark moved an answer to the top, or took it back): the steps of ``_apply`` then
        find everything in place."""
        kept = [item.post_key for item in self._items if item.post_key in wanted]
        if kept == [key for key in refresh.post_keys if key in self._rows]:
            return
        fresh = {item.post_key: item for item in (*self._items, *refresh.changed, *refresh.new)}
        self.beginResetModel()
        self._items = [fresh[key] for key in refresh.post_keys if key in fresh]
        self._reindex()
        self.endResetModel()

    def _insert(self, position: int, items: list[PostItem]) -> None:
        """Insert ``items`` at row ``position``; the caller rebuilds the index afterwards."""
        self.beginInsertRows(QModelIndex(), position, position + len(items) - 1)
        self._items[position:position] = items
        self.endInsertRows()

    def _reindex(self) -> None:
        self._rows = {item.post_key: row for row, item in enumerate(self._items)}
