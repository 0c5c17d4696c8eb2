"""The Network screen's lists: the peers connected now, and my own listen addresses.

Both are fed by the desk through the bridge and refreshed when the node reports a change
(and, for peers, every few seconds while the screen shows, since latencies change
without an event). A refresh applies the difference in place (rows removed, updated,
appended; never a reset), so a selected peer stays selected while the list updates.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from lndesk.app.desk import Desk
from lndesk.app.events import (
    AddressesChanged,
    NetworkUnavailable,
    NodeStarted,
    NodeStopped,
    PeerConnected,
    PeerLost,
)
from lndesk.app.items import PeerItem
from lndesk.ui.bridge import Bridge

logger = logging.getLogger(__name__)

ItemRole = Qt.ItemDataRole.UserRole + 1
"""The row's value itself: a :class:`PeerItem` (peers) or an address string."""
POLL_MS = 5000
REFRESH_ON = (
    PeerConnected,
    PeerLost,
    NodeStarted,
    NodeStopped,
    AddressesChanged,
    NetworkUnavailable,
)

Index = QModelIndex | QPersistentModelIndex


def short_peer_id(peer_id: str) -> str:
    """``12D3KooWAbCd…wXyZ``: enough to tell peers apart, short enough for a list."""
    return peer_id if len(peer_id) <= 20 else f"{peer_id[:12]}…{peer_id[-6:]}"


def latency_text(latency_ms: float | None) -> str:
    return "–" if latency_ms is None else f"{latency_ms:.0f} ms"  # noqa: RUF001 - a dash


class _LiveListModel(QAbstractListModel):
    """A flat list of rows with stable keys, refreshed from the desk by diffing."""

    refreshed = Signal()
    """An answer from the desk was applied (or failed): the list is as fresh as it gets."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.bridge = bridge
        self._rows: list[Any] = []
        self._busy = False
        self._again = False
        if bridge is not None:
            bridge.node_event.connect(self._on_event)

    # --- what a subclass defines -------------------------------------------------

    def _key(self, row: Any) -> Hashable:
        raise NotImplementedError

    def _query(self) -> Callable[[Desk], Any]:
        raise NotImplementedError

    def _display(self, row: Any) -> str:
        raise NotImplementedError

    def _tooltip(self, row: Any) -> str:
        return self._display(row)

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

    # --- refreshing ----------------------------------------------------------------

    def refresh(self) -> None:
        """Ask the desk for the list as it is now; one request at a time."""
        if self.bridge is None:
            return
        if self._busy:
            self._again = True
            return
        self._busy = True
        self.bridge.request(self._query(), done=self._done, failed=self._failed)

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

    def _on_event(self, event: object) -> None:
        if isinstance(event, REFRESH_ON):
            self.refresh()

    def _apply(self, rows: Iterable[Any]) -> None:
        """Make the list hold ``rows``: remove gone rows, update changed ones, append new
        ones (existing rows keep their place, so selections and scrolling survive)."""
        fresh: dict[Hashable, Any] = {}
        for row in rows:
            fresh.setdefault(self._key(row), row)
        for position in range(len(self._rows) - 1, -1, -1):
            if self._key(self._rows[position]) not in fresh:
                self.beginRemoveRows(QModelIndex(), position, position)
                del self._rows[position]
                self.endRemoveRows()
        known = set()
        for position, old in enumerate(self._rows):
            key = self._key(old)
            known.add(key)
            if fresh[key] != old:
                self._rows[position] = fresh[key]
                changed = self.index(position)
                self.dataChanged.emit(changed, changed)
        added = [row for key, row in fresh.items() if key not in known]
        if added:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._rows.extend(added)
            self.endInsertRows()


class PeersModel(_LiveListModel):
    """The peers connected now (rows: :class:`PeerItem`, keyed by peer ID)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(bridge, parent)
        self._poll = QTimer(self)
        self._poll.setInterval(POLL_MS)
        self._poll.timeout.connect(self.refresh)

    def set_polling(self, on: bool) -> None:
        """Refresh every few seconds (latencies) while on; the screen turns it on when shown."""
        if on:
            self._poll.start()
            self.refresh()
        else:
            self._poll.stop()

    @property
    def polling(self) -> bool:
        return self._poll.isActive()

    def peer(self, row: int) -> PeerItem:
        item: PeerItem = self._rows[row]
        return item

    def _key(self, row: Any) -> Hashable:
        item: PeerItem = row
        return item.peer_id

    def _query(self) -> Callable[[Desk], Any]:
        return lambda desk: desk.peers()

    def _display(self, row: Any) -> str:
        item: PeerItem = row
        parts = [item.name, short_peer_id(item.peer_id), latency_text(item.latency_ms)]
        if item.syncing:
            parts.append("syncing")
        return " · ".join(parts)

    def _tooltip(self, row: Any) -> str:
        item: PeerItem = row
        lines = [item.name, f"Peer ID: {item.peer_id}", f"Address: {item.address or 'unknown'}"]
        lines.append(f"Round trip: {latency_text(item.latency_ms)}")
        if item.syncing:
            lines.append("Syncing now")
        return "\n".join(lines)


class AddressesModel(_LiveListModel):
    """The addresses this node listens on (rows: multiaddr strings)."""

    def _key(self, row: Any) -> Hashable:
        return str(row)

    def _query(self) -> Callable[[Desk], Any]:
        return lambda desk: list(desk.network().addresses)

    def _display(self, row: Any) -> str:
        return str(row)

    def _tooltip(self, row: Any) -> str:
        return f"{row}\nOthers can connect to you with this address."
