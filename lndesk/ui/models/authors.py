"""The people I follow, as the Following screen lists them."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from lndesk.app.events import EntriesStored, FeedForked, FeedSynced, LocalChanged
from lndesk.app.items import AuthorItem
from lndesk.ui.bridge import Bridge
from lndesk.ui.format import relative_time

ItemRole = Qt.ItemDataRole.UserRole + 1
Index = QModelIndex | QPersistentModelIndex


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
    held = f"{author.height:,} entries held"
    if author.max_seq > author.height:
        held = f"{author.height:,} of {author.max_seq:,}+ entries held"
    parts = [last, held, synced, f"followed via {author.source}"]
    if author.muted:
        parts.append("muted")
    if author.forked_at is not None:
        parts.append(f"feed forked at entry {author.forked_at} (frozen)")
    return " · ".join(parts)


class FollowingModel(QAbstractListModel):
    loaded = Signal()

    def __init__(self, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._items: list[AuthorItem] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(500)
        self._timer.timeout.connect(self.refresh)
        bridge.node_event.connect(self._on_event)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._items):
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.name}\n{describe_author(item)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.key_text
        if role == ItemRole:
            return item
        return None

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        names[ItemRole] = QByteArray(b"item")
        return names

    def item(self, row: int) -> AuthorItem:
        return self._items[row]

    def items(self) -> list[AuthorItem]:
        return list(self._items)

    def refresh(self) -> None:
        self.bridge.request(lambda desk: desk.following(), self.apply)

    def _on_event(self, event: object) -> None:
        if (
            isinstance(event, LocalChanged)
            and event.what in ("following", "muted", "profile", "published")
        ) or (
            isinstance(event, EntriesStored | FeedSynced | FeedForked)
            and not self._timer.isActive()
        ):
            self._timer.start()

    def apply(self, items: list[AuthorItem]) -> None:
        """Make the rows equal ``items`` with row moves kept small (keeps the selection)."""
        wanted = {i.key for i in items}
        row = len(self._items) - 1
        while row >= 0:
            if self._items[row].key not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._items[row]
                self.endRemoveRows()
            row -= 1
        for position, item in enumerate(items):
            if position < len(self._items) and self._items[position].key == item.key:
                if self._items[position] != item:
                    self._items[position] = item
                    self.dataChanged.emit(self.index(position), self.index(position))
                continue
            existing = next((r for r, i in enumerate(self._items) if i.key == item.key), None)
            if existing is not None:
                self.beginRemoveRows(QModelIndex(), existing, existing)
                del self._items[existing]
                self.endRemoveRows()
            self.beginInsertRows(QModelIndex(), position, position)
            self._items.insert(position, item)
            self.endInsertRows()
        self.loaded.emit()
