"""The Network screen's lists: the peers connected now, and my own listen addresses.

Both are fed by the desk through the bridge and refreshed when the node reports a change
(and, for peers, every few seconds while the screen shows, since latencies change
without an event). A refresh applies the difference in place (rows removed, updated,
appended; never a reset), so a selected peer stays selected while the list updates.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QObject, Qt

from lndesk.app.events import (
    AddressesChanged,
    NetworkUnavailable,
    NodeStarted,
    NodeStopped,
    PeerConnected,
    PeerLost,
)
from lndesk.app.items import PeerItem
from lndesk.ui.avatar_worker import avatar_decoder, person_icon
from lndesk.ui.bridge import Bridge
from lndesk.ui.models.live import Index, ItemRole, LiveListModel
from lndesk.ui.timers import RepeatingTimer, qt_timer

__all__ = ["AddressesModel", "ItemRole", "PeersModel", "latency_text", "short_peer_id"]

logger = logging.getLogger(__name__)

POLL_MS = 5000
FINGERPRINT = 20
"""The side of the key fingerprint drawn beside each peer."""
REFRESH_ON = (
    PeerConnected,
    PeerLost,
    NodeStarted,
    NodeStopped,
    AddressesChanged,
    NetworkUnavailable,
)


def short_peer_id(peer_id: str) -> str:
    """``12D3KooWAbCd…wXyZ``: enough to tell peers apart, short enough for a list."""
    return peer_id if len(peer_id) <= 20 else f"{peer_id[:12]}…{peer_id[-6:]}"


def latency_text(latency_ms: float | None) -> str:
    return "–" if latency_ms is None else f"{latency_ms:.0f} ms"  # noqa: RUF001 - a dash


def peer_line(item: PeerItem) -> str:
    parts = [item.name, short_peer_id(item.peer_id), latency_text(item.latency_ms)]
    if item.syncing:
        parts.append("syncing")
    return " · ".join(parts)


def peer_tooltip(item: PeerItem) -> str:
    lines = [item.name, f"Peer ID: {item.peer_id}", f"Address: {item.address or 'unknown'}"]
    lines.append(f"Round trip: {latency_text(item.latency_ms)}")
    if item.syncing:
        lines.append("Syncing now")
    return "\n".join(lines)


class PeersModel(LiveListModel[PeerItem]):
    """The peers connected now (rows: :class:`PeerItem`, keyed by peer ID)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: desk.network.peers(),
            key=lambda item: item.peer_id,
            display=peer_line,
            tooltip=peer_tooltip,
        )
        self._poll = RepeatingTimer(bridge.timer if bridge else qt_timer, self, self.refresh)
        avatar_decoder().changed.connect(self._avatars_ready)

    def _avatars_ready(self) -> None:
        """A picture finished decoding: the rows draw it instead of the fingerprint."""
        if self.rowCount():
            last = self.index(self.rowCount() - 1)
            self.dataChanged.emit(self.index(0), last, [Qt.ItemDataRole.DecorationRole])

    def set_polling(self, on: bool) -> None:
        """Refresh every few seconds (latencies) while on; the screen turns it on when shown."""
        if on:
            self._poll.start(POLL_MS)
            self.refresh()
        else:
            self._poll.stop()

    @property
    def polling(self) -> bool:
        return self._poll.isActive()

    def _on_event(self, event: object) -> None:
        if isinstance(event, REFRESH_ON):
            self.refresh()

    def peer(self, row: int) -> PeerItem:
        return self.item(row)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DecorationRole:
            found = self.row_at(index)
            if found is None or not found.key:
                return None
            return person_icon(found.key, found.avatar, FINGERPRINT)
        return super().data(index, role)


class AddressesModel(LiveListModel[str]):
    """The addresses this node listens on (rows: multiaddr strings)."""

    def __init__(self, bridge: Bridge | None, parent: QObject | None = None) -> None:
        super().__init__(
            bridge,
            parent,
            query=lambda desk: list(desk.network.info().addresses),
            key=str,
            display=str,
            tooltip=lambda address: f"{address}\nOthers can connect to you with this address.",
        )

    def _on_event(self, event: object) -> None:
        if isinstance(event, REFRESH_ON):
            self.refresh()
