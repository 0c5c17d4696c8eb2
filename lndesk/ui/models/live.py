"""A list view-model refreshed from the desk by diffing, never by a reset.

Subclasses say how to ask the desk for the rows, how to key them and how to show them;
this class keeps one request in flight at a time and applies each answer in place, so
selections and scroll positions survive every refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QByteArray,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)

from lndesk.app.desk import Desk
from lndesk.ui.bridge import Bridge

logger = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1
"""The row's value itself (an item from :mod:`lndesk.app.items`, or a string)."""

Index = QModelIndex | QPersistentModelIndex


class LiveListModel(QAbstractListModel):
    """A flat list of rows with stable keys, refreshed from the desk by diffing."""

    refreshed = Signal()
    """An answer from the desk was applied (or failed): the list is as fresh as it gets."""

    def __init__(
        self,
        bridge: Bridge | None,
        parent: QObject | None,
        *,
        query: Callable[[Desk], Any],
        key: Callable[[Any], Hashable],
        display: Callable[[Any], str],
        tooltip: Callable[[Any], str] | None = None,
    ) -> None:
        """``query`` asks the desk for the rows, ``key`` names a row across refreshes,
        ``display`` and ``tooltip`` say how a row reads."""
        super().__init__(parent)
        self.bridge = bridge
        self._query = query
        self._key = key
        self._display = display
        self._tooltip = tooltip or display
        self._rows: list[Any] = []
        self._busy = False
        self._again = False
        if bridge is not None:
            bridge.node_event.connect(self._on_event)

    def _on_event(self, event: object) -> None:
        """Refresh when ``event`` may have changed the rows (a subclass decides)."""

    # --- Qt model interface ------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row)
        if role == ItemRole:
            return row
        return None

    def rows(self) -> list[Any]:
        return list(self._rows)

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        names[ItemRole] = QByteArray(b"item")
        return names

    # --- refreshing ----------------------------------------------------------------

    def refresh(self) -> None:
        """Ask the desk for the list as it is now; one request at a time."""
        if self.bridge is None:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.bridge.request(self._query, done=self._done, failed=self._failed)

    def _done(self, rows: Iterable[Any]) -> None:
        self._busy = False
        self._apply(rows)
        self.refreshed.emit()
        self._follow_up()

    def _failed(self, error: BaseException) -> None:
        self._busy = False
        logger.info("could not refresh %s: %s", type(self).__name__, error)
        self.refreshed.emit()
        self._follow_up()

    def _follow_up(self) -> None:
        if self._again:
            self._again = False
            self.refresh()

    def _apply(self, rows: Iterable[Any]) -> None:
        """Make the list hold ``rows``: remove gone rows, update changed ones, insert new
        ones where ``rows`` puts them (existing rows keep their place, so selections and
        scrolling survive)."""
        fresh: dict[Hashable, Any] = {}
        for row in rows:
            fresh.setdefault(self._key(row), row)
        for position in range(len(self._rows) - 1, -1, -1):
            if self._key(self._rows[position]) not in fresh:
                self.beginRemoveRows(QModelIndex(), position, position)
                del self._rows[position]
                self.endRemoveRows()
        where = {self._key(row): position for position, row in enumerate(self._rows)}
        for key, position in where.items():
            if fresh[key] != self._rows[position]:
                self._rows[position] = fresh[key]
                changed = self.index(position)
                self.dataChanged.emit(changed, changed)
        # Rows are never moved; a new row goes after the last known row that precedes it
        # in ``rows`` (when both orders agree, which is the usual case, exactly in place).
        at = inserted = 0
        for key, row in fresh.items():
            if key in where:
                at = max(at, where[key] + inserted + 1)
                continue
            self.beginInsertRows(QModelIndex(), at, at)
            self._rows.insert(at, row)
            self.endInsertRows()
            at += 1
            inserted += 1
