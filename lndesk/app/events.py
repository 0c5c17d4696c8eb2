"""Every event a front end can receive: the node's and the desk's. This is the app's event API.

The node's events (:mod:`lndesk.p2p.events`) are published here as they are, as a
documented part of the app's API, rather than copied into app-owned types and translated
from the node's. Why: they already are what a front end needs, plain frozen values whose
keys are lndesk public keys (bytes), never libp2p objects, in a module that imports only
the standard library, so a front end that reads them loads neither libp2p nor trio. A
translated copy would repeat sixteen types field for field, and the desk, the control
socket and both front ends would read two kinds of the same event, without hiding
anything from them.

What keeps the network layer behind the app all the same: the desktop UI and the CLI
import these names only from here (the layering test allows exactly this module to pass
on exactly :mod:`lndesk.p2p.events`, and fails if that module ever imports what a front
end may not), and a change to one of these types is a change to the app's API, made with
the front ends in view.
"""

from lndesk.app.desk import AnyEvent, AppEvent, LocalChanged, NetworkUnavailable
from lndesk.p2p.events import (
    SYNC_CUT_SHORT,
    SYNC_NOT_SAVED,
    SYNC_PEER_BROKE_RULES,
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
    "SYNC_CUT_SHORT",
    "SYNC_NOT_SAVED",
    "SYNC_PEER_BROKE_RULES",
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
