"""Every event a front end can receive: the node's (:mod:`lndesk.p2p.events`) and the desk's.

Front ends import events from here, so the desktop app needs no import of the network
package to react to what the node does.
"""

from lndesk.app.desk import AnyEvent, AppEvent, LocalChanged, NetworkUnavailable
from lndesk.p2p.events import (
    AddressesChanged,
    EntriesStored,
    Event,
    FeedForked,
    FeedSynced,
    HolderProven,
    NodeStarted,
    NodeStopped,
    NodeWarning,
    PeerConnected,
    PeerFound,
    PeerHolds,
    PeerLost,
    PeerPenalised,
    PenaltyEnded,
    SyncFinished,
    SyncProgress,
)

__all__ = [
    "AddressesChanged",
    "AnyEvent",
    "AppEvent",
    "EntriesStored",
    "Event",
    "FeedForked",
    "FeedSynced",
    "HolderProven",
    "LocalChanged",
    "NetworkUnavailable",
    "NodeStarted",
    "NodeStopped",
    "NodeWarning",
    "PeerConnected",
    "PeerFound",
    "PeerHolds",
    "PeerLost",
    "PeerPenalised",
    "PenaltyEnded",
    "SyncFinished",
    "SyncProgress",
]
