"""What the status bar says: online or not, peers connected, sync progress, last problem.

Built from the node's events only (no request to the node), so it is cheap to keep up
to date however busy the node is.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lndesk.app.events import (
    FeedForked,
    NetworkUnavailable,
    NodeStarted,
    NodeStopped,
    NodeWarning,
    PeerConnected,
    PeerLost,
    PeerPenalised,
    SyncFinished,
    SyncProgress,
)
from lndesk.app.items import NetworkInfo, PeerItem
from lndesk.keytext import short_key
from lndesk.ui.bridge import Bridge


class StatusTracker(QObject):
    changed = Signal()
    message = Signal(str)
    """Something the user should read (a warning, a peer refused, a forked feed)."""

    def __init__(self, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.network_up = False
        self.problem: str | None = None
        self.peers: set[bytes] = set()
        self.syncing: dict[bytes, tuple[int, int]] = {}
        """Per peer: (entries held, entries the peer has) of the feed being fetched."""
        bridge.node_event.connect(self.on_event)
        # The network may have started before this tracker existed: ask once.
        bridge.request(lambda desk: (desk.network(), desk.peers()), self._initial)

    def _initial(self, state: tuple[NetworkInfo, list[PeerItem]]) -> None:
        info, peers = state
        self.network_up = self.network_up or info.online
        self.peers |= {peer.key for peer in peers if peer.key}
        self.changed.emit()

    def on_event(self, event: object) -> None:
        if isinstance(event, NodeStarted):
            self.network_up, self.problem = True, None
        elif isinstance(event, NodeStopped):
            self.network_up = False
            self.peers.clear()
            self.syncing.clear()
        elif isinstance(event, NetworkUnavailable):
            self.network_up, self.problem = False, event.message
            self.message.emit(f"Offline: {event.message}")
        elif isinstance(event, PeerConnected):
            self.peers.add(event.peer)
        elif isinstance(event, PeerLost):
            self.peers.discard(event.peer)
            self.syncing.pop(event.peer, None)
        elif isinstance(event, SyncProgress):
            self.syncing[event.peer] = (event.held, event.target)
        elif isinstance(event, SyncFinished):
            self.syncing.pop(event.peer, None)
            if event.error:
                self.message.emit(f"Sync with {short_key(event.peer)} stopped: {event.error}")
        elif isinstance(event, NodeWarning):
            self.message.emit(event.message)
        elif isinstance(event, PeerPenalised):
            self.message.emit(
                f"Ignoring {short_key(event.peer)} for {event.seconds / 60:.0f} min: it sent "
                f"invalid data ({event.reason})."
            )
        elif isinstance(event, FeedForked):
            self.message.emit(
                f"{short_key(event.feed)} signed two different posts at entry {event.seq}; "
                "both are kept as proof and their feed is frozen there."
            )
        else:
            return
        self.changed.emit()

    @property
    def online(self) -> bool:
        return self.network_up and bool(self.peers)

    def connection_text(self) -> str:
        if not self.network_up:
            return "Offline (network off)" if self.problem else "Starting network…"
        count = len(self.peers)
        if count == 0:
            return "Offline: no peers yet (posts are kept and sent later)"
        return f"Online · {count} peer{'s' if count != 1 else ''}"

    def sync_text(self) -> str:
        if not self.syncing:
            return ""
        held = sum(h for h, _ in self.syncing.values())
        target = sum(t for _, t in self.syncing.values())
        return f"Syncing {held:,} / {target:,}"
