"""The people I follow, as the Following screen lists them, and the people I blocked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QFont

from lndesk.app.desk import Desk
from lndesk.app.events import EntriesStored, FeedForked, FeedSynced, LocalChanged
from lndesk.app.items import AuthorItem
from lndesk.ui.avatar_worker import avatar_decoder, person_icon
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import relative_time
from lndesk.ui.models.live import Index, ItemRole, LiveListModel
from lndesk.wording import counted

__all__ = [
    "AuthorsModel",
    "BlockedModel",
    "FollowingModel",
    "ItemRole",
    "UnreadRole",
    "describe_author",
]

FINGERPRINT = 24
FOLLOWING_DELAY_MS = 500
"""Bursts during a sync: the people I follow are read again at most twice a second."""
"""The side of the key fingerprint drawn beside each person."""
UnreadRole = Qt.ItemDataRole.UserRole + 2
"""The author's unread post count (an int)."""


def unread_text(author: AuthorItem) -> str:
    if author.unread <= 0:
        return ""
    return f"{author.unread} unread" if author.unread < 1000 else "999+ unread"


def author_line(author: AuthorItem) -> str:
    """The first line of a row: the name (my nickname for them, then theirs), and how
    many of their posts are unread."""
    name = f'{author.name} "{author.chosen_name}"' if author.chosen_name else author.name
    unread = unread_text(author)
    return f"{name}  ·  {unread}" if unread else name


def describe_author(author: AuthorItem) -> str:
    """One line per author: what a reader checks when deciding whom to read."""
    last = (
        "no posts yet"
        if author.last_post_ms is None
        else f"last post {relative_time(author.last_post_ms)}"
    )
    synced = (
        "never synced"
        if author.last_synced_ms is None
        else f"synced {relative_time(author.last_synced_ms)} ago"
    )
    if synced.endswith("now ago"):
        synced = "synced just now"
    held = f"{counted(author.height, 'entry', 'entries')} held"
    if author.max_seq > author.height:
        held = f"{author.height:,} of at least {author.max_seq:,} entries held"
    parts = [last, held, synced, f"followed via {author.source}"]
    if author.pseudonyms:
        names = ", ".join(name for _key, name in author.pseudonyms)
        parts.append(f"revealed as theirs: {names}")
    if author.muted:
        parts.append("muted")
    if author.forked_at is not None:
        parts.append(
            f"signed two different entries at entry {author.forked_at} (nothing newer accepted)"
        )
    return " · ".join(parts)


class AuthorsModel(LiveListModel[AuthorItem]):
    """People (rows: :class:`AuthorItem`, keyed by key, their key text as the tooltip)."""

    def __init__(
        self,
        bridge: Bridge | None,
        parent: QObject | None,
        *,
        query: Callable[[Desk], list[AuthorItem]],
        display: Callable[[AuthorItem], str],
    ) -> None:
        super().__init__(
            bridge,
            parent,
            query=query,
            key=lambda item: item.key,
            display=display,
            tooltip=lambda item: item.key_text,
        )
        avatar_decoder().changed.connect(self._avatars_ready)

    def _avatars_ready(self) -> None:
        """A picture finished decoding: the rows draw it instead of the fingerprint."""
        if self.rowCount():
            last = self.index(self.rowCount() - 1)
            self.dataChanged.emit(self.index(0), last, [Qt.ItemDataRole.DecorationRole])

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DecorationRole:
            found = self.row_at(index)
            return None if found is None else person_icon(found.key, found.avatar, FINGERPRINT)
        return super().data(index, role)


class FollowingModel(AuthorsModel):
    """The people I follow (rows: :class:`AuthorItem`, sorted by name)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.people.following(),
            display=lambda item: f"{author_line(item)}\n{describe_author(item)}",
        )
        self._timer = bridge.timer(self, self.refresh) if bridge is not None else None

    def _on_event(self, event: object) -> None:
        relevant = isinstance(event, EntriesStored | FeedSynced | FeedForked) or (
            isinstance(event, LocalChanged)
            and event.what
            in ("following", "muted", "profile", "published", "read", "blocked", "accepted")
        )
        # bursts during a sync: one refresh per half second is plenty
        if relevant and self._timer is not None and not self._timer.isActive():
            self._timer.start(FOLLOWING_DELAY_MS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role in (UnreadRole, Qt.ItemDataRole.FontRole):
            author = self.row_at(index)
            if author is None:
                return None
            if role == UnreadRole:
                return author.unread
            if author.unread > 0:
                font = QFont()
                font.setBold(True)
                return font
            return None
        return super().data(index, role)


class BlockedModel(AuthorsModel):
    """The people I blocked (rows: :class:`AuthorItem`, sorted by name)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.people.blocked(),
            display=lambda item: f"{item.name}\n{item.key_text}",
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, LocalChanged) and event.what in ("blocked", "accepted", "profile"):
            self.refresh()
