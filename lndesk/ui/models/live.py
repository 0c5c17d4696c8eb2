"""A list view-model refreshed from the desk by diffing, never by a reset.

Subclasses say how to ask the desk for the rows, how to key them and how to show them;
this class keeps one request in flight at a time and applies each answer in place, so
selections and scroll positions survive every refresh.

:class:`RowsModel` is the plain list underneath, which the lists that are not refreshed
from the desk (search results, a reading list's items) use too: its rows, Qt's row count
and the row an index points at.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any, ClassVar, Generic, TypeVar

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
from lndesk.ui.plain_text import plain_tooltip

logger = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1
"""The row's value itself (an item from :mod:`lndesk.app.items`, or a string)."""

Index = QModelIndex | QPersistentModelIndex
Row = TypeVar("Row")


class RowsModel(QAbstractListModel, Generic[Row]):
    """A flat list of rows (``_rows``): Qt's row count, and the row an index points at."""

    ROLES: ClassVar[dict[int, bytes]] = {}
    """The model's own roles, by the names QML and the model tester know them by."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[Row] = []

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def row_at(self, index: Index) -> Row | None:
        """The row ``index`` points at (None: an invalid index, or one past the rows)."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        return self._rows[index.row()]

    def roleNames(self) -> dict[int, QByteArray]:
        names = super().roleNames()
        for role, name in self.ROLES.items():
            names[role] = QByteArray(name)
        return names


class LiveListModel(RowsModel[Row]):
    """A flat list of rows with stable keys, refreshed from the desk by diffing."""

    ROLES: ClassVar[dict[int, bytes]] = {ItemRole: b"item"}

    refreshed = Signal()
    """An answer from the desk was applied (or failed): the list is as fresh as it gets."""

    def __init__(
        self,
        bridge: Bridge | None,
        parent: QObject | None,
        *,
        query: Callable[[Desk], Iterable[Row]],
        key: Callable[[Row], Hashable],
        display: Callable[[Row], str],
        tooltip: Callable[[Row], str] | None = None,
    ) -> None:
        """``query`` asks the desk for the rows, ``key`` names a row across refreshes,
        ``display`` and ``tooltip`` say how a row reads."""
        super().__init__(parent)
        self.bridge = bridge
        self._query = query
        self._key = key
        self._display = display
        self._tooltip = tooltip or display
        self._busy = False
        self._again = False
        if bridge is not None:
            bridge.node_event.connect(self._on_event)

    def _on_event(self, event: object) -> None:
        """Refresh when ``event`` may have changed the rows (a subclass decides)."""

    # --- Qt model interface ------------------------------------------------------

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = self.row_at(index)
        if row is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row)
        if role == Qt.ItemDataRole.ToolTipRole:
            return plain_tooltip(self._tooltip(row))
        if role == ItemRole:
            return row
        return None

    def rows(self) -> list[Row]:
        """The rows as they are now (a copy)."""
        return list(self._rows)

    items = rows

    def item(self, row: int) -> Row:
        return self._rows[row]

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

    def _done(self, rows: Iterable[Row]) -> None:
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

    def _apply(self, rows: Iterable[Row]) -> None:
        """Make the list hold ``rows``, in their order: remove gone rows, update changed
        ones, insert new ones, then move rows whose place changed (a tag used more now
        goes up). Rows are changed and moved, never reset, so selections survive."""
        fresh: dict[Hashable, Row] = {}
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
        # A new row goes after the last known row that precedes it in ``rows`` (when both
        # orders agree, which is the usual case, exactly in place; else it is moved next).
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
        self._reorder(list(fresh))

    def _reorder(self, keys: list[Hashable]) -> None:
        """Move rows until they are in the order of ``keys`` (the rows' keys, each once).

        Without this a row stayed where it first appeared: a refresh that saw two tags
        used once each fixed their order for good, whichever one was used more later."""
        for target, key in enumerate(keys):
            if self._key(self._rows[target]) == key:
                continue
            source = next(
                n for n in range(target + 1, len(self._rows)) if self._key(self._rows[n]) == key
            )
            self.beginMoveRows(QModelIndex(), source, source, QModelIndex(), target)
            self._rows.insert(target, self._rows.pop(source))
            self.endMoveRows()
