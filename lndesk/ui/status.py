"""What the status bar says: online or not, peers connected, sync progress, last problem.

Built from the node's events only (no request to the node), so it is cheap to keep up
to date however busy the node is.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from lndesk.app.events import (
    FeedForked,
    NetworkUnavailable,
    NodeWarning,
    PeerPenalised,
    SyncFinished,
)
from lndesk.app.items import NetworkInfo, PeerItem
from lndesk.app.refusals import shown_reason
from lndesk.app.sync_words import sync_ended_text
from lndesk.keytext import short_key
from lndesk.ui.bridge import Bridge


class StatusTracker(QObject):
    """The app's one :class:`~lndesk.app.connectivity.Connectivity`, kept up to date from
    the node's events; the status bar, the Network screen, cards and publishing notes all
    read it, so they never disagree about being online."""

    changed = Signal()
    message = Signal(str)
    """Something the user should read (a warning, a peer refused, a forked feed)."""

    def __init__(self, bridge: Bridge, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.state = bridge.connectivity  # updated by the bridge before we hear of an event
        bridge.node_event.connect(self.on_event)
        # The network may have started before this tracker existed: ask once.
        bridge.request(lambda desk: (desk.network.info(), desk.network.peers()), self._initial)

    def _initial(self, state: tuple[NetworkInfo, list[PeerItem]]) -> None:
        info, peers = state
        self.state.seed(info.online, (peer.key for peer in peers))
        self.changed.emit()

    def on_event(self, event: object) -> None:
        # The bridge has applied it already; applying an event twice changes nothing.
        changed = self.state.apply(event)
        if isinstance(event, NetworkUnavailable):
            self.message.emit(f"Offline: {event.message}")
        elif isinstance(event, SyncFinished):
            text = sync_ended_text(event, short_key(event.peer))
            if text is not None:
                self.message.emit(text)
        elif isinstance(event, NodeWarning):
            self.message.emit(event.message)
        elif isinstance(event, PeerPenalised):
            self.message.emit(
                f"Ignoring {short_key(event.peer)} for {event.seconds / 60:.0f} min: "
                f"{shown_reason(event.reason)}."
            )
        elif isinstance(event, FeedForked):
            self.message.emit(
                f"{short_key(event.feed)} signed two different posts at entry {event.seq}; "
                "both are kept as proof and nothing more of theirs is accepted."
            )
        elif not changed:
            return
        self.changed.emit()

    @property
    def online(self) -> bool:
        return self.state.online

    @property
    def peers(self) -> set[bytes]:
        return self.state.peers

    def connection_text(self) -> str:
        return self.state.headline()

    def sync_text(self) -> str:
        syncing = self.state.syncing
        if not syncing:
            return ""
        held = sum(h for h, _ in syncing.values())
        target = sum(t for _, t in syncing.values())
        return f"Syncing: {held:,} of {target:,} entries here"
