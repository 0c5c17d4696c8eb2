"""What a node reports as it works: the event stream the desktop app and `serve` read.

Events are plain frozen values, delivered in order to one sink on the node's trio
thread; the runtime bridge carries them to other threads. Keys are lndesk public keys
(32 bytes), never libp2p objects, so readers need no libp2p import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NodeStarted:
    peer_id: str
    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AddressesChanged:
    """The node's reachable addresses changed (e.g. it got a relay slot)."""

    addresses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeStopped:
    pass


@dataclass(frozen=True, slots=True)
class PeerConnected:
    peer: bytes
    """The peer's lndesk key (its peer ID is derived from it)."""
    address: str


@dataclass(frozen=True, slots=True)
class PeerLost:
    peer: bytes


@dataclass(frozen=True, slots=True)
class PeerFound:
    peer: bytes
    source: str
    """How: "mdns", "bootstrap", "dht", "peerbook"."""


@dataclass(frozen=True, slots=True)
class PeerPenalised:
    peer: bytes
    reason: str
    seconds: float


@dataclass(frozen=True, slots=True)
class FeedForked:
    """Two validly signed entries at one seq of ``feed``: both kept as proof, feed frozen."""

    feed: bytes
    seq: int


@dataclass(frozen=True, slots=True)
class PenaltyEnded:
    """A penalised peer is allowed again."""

    peer: bytes


@dataclass(frozen=True, slots=True)
class EntriesStored:
    """New entries of ``feed`` were authenticated and stored (``count`` includes held
    entries whose missing payloads arrived)."""

    feed: bytes
    count: int
    height: int
    max_seq: int
    via: str
    """How they came: "sync", "gossip" (a head announcement), "inbox" (addressed to this
    node's owner or to a followed feed: an inbox notice or inbox catch-up), "fetch"
    (entries named by stored ones, or asked for by the app); "local" for entries this
    node's owner just published."""
    peer: bytes | None


@dataclass(frozen=True, slots=True)
class SyncProgress:
    """A sync session is fetching ``feed`` from ``peer``."""

    peer: bytes
    feed: bytes
    held: int
    """Entries of the feed now held (its contiguous height, or the count when sparse)."""
    target: int
    """The peer's highest entry of the feed."""


@dataclass(frozen=True, slots=True)
class FeedSynced:
    """A session finished one feed; ``peer_height`` is what that peer holds of it."""

    peer: bytes
    feed: bytes
    peer_height: int
    peer_max_seq: int
    height: int


@dataclass(frozen=True, slots=True)
class PeerHolds:
    """A peer said (in its ``want``) how far it holds this node's own feed. A claim, not a
    proof: anyone can say anything (only :class:`HolderProven` counts as "seen by")."""

    peer: bytes
    feed: bytes
    height: int


@dataclass(frozen=True, slots=True)
class HolderProven:
    """A peer proved it holds this node's own feed up to ``height``: it acknowledged entries
    this node sent it (up to the highest sent), or it served the entry at ``height`` and
    that entry is ours. What "seen by N peers" counts (docs/protocol.md section 20.13)."""

    peer: bytes
    feed: bytes
    height: int


SYNC_PEER_BROKE_RULES = "peer"
"""A :attr:`SyncFinished.cause`: the peer broke the protocol or sent unauthentic entries
and has been penalised (a :class:`PeerPenalised` came first)."""
SYNC_NOT_SAVED = "store"
"""A :attr:`SyncFinished.cause`: this node could not store what the peer sent (its disk
or its index; a :class:`NodeWarning` came first). The next sync asks again."""
SYNC_CUT_SHORT = "link"
"""A :attr:`SyncFinished.cause`: the connection ended, timed out or the peer refused the
session (busy, or not speaking the protocol). The next sync asks again."""


@dataclass(frozen=True, slots=True)
class SyncFinished:
    """A sync session with ``peer`` ended. ``error`` is the technical reason, for the log;
    ``cause`` (one of the ``SYNC_*`` names above, None when all went well) is what a
    reader of the event chooses its words by."""

    peer: bytes
    stored: int
    feeds: int
    error: str | None
    cause: str | None = None


@dataclass(frozen=True, slots=True)
class NodeWarning:
    message: str


Event = (
    NodeStarted
    | AddressesChanged
    | NodeStopped
    | PeerConnected
    | PeerLost
    | PeerFound
    | PeerPenalised
    | PenaltyEnded
    | FeedForked
    | EntriesStored
    | SyncProgress
    | FeedSynced
    | PeerHolds
    | HolderProven
    | SyncFinished
    | NodeWarning
)
EventSink = Callable[[Event], None]
