"""One account of whether the node is online, told the same way everywhere.

The status bar, the Network screen, a post's card and the note after publishing all
read this one object, fed by the node's events; none of them decides "online" for
itself. Online means the network runs *and* at least one peer is connected: a node
listening with nobody to talk to sends nothing anywhere.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from lndesk.app.desk import NetworkUnavailable
from lndesk.p2p.events import (
    NodeStarted,
    NodeStopped,
    PeerConnected,
    PeerLost,
    SyncFinished,
    SyncProgress,
)

CONNECTIVITY_EVENTS = (
    NodeStarted,
    NodeStopped,
    NetworkUnavailable,
    PeerConnected,
    PeerLost,
    SyncProgress,
    SyncFinished,
)
"""The events that change a :class:`Connectivity`."""


class Link(enum.Enum):
    STARTING = "starting"
    """The network has not started (yet)."""
    OFF = "off"
    """The network could not start; ``problem`` says why."""
    NO_PEERS = "no peers"
    """The network runs but no peer is connected."""
    ONLINE = "online"
    """At least one peer is connected."""


def _peers(count: int) -> str:
    return f"{count} peer{'s' if count != 1 else ''}"


@dataclass(slots=True)
class Connectivity:
    network_up: bool = False
    problem: str | None = None
    peers: set[bytes] = field(default_factory=set)
    syncing: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    """Per peer: (entries held, entries the peer has) of the feed being fetched."""

    def apply(self, event: object) -> bool:
        """Take in one event; True if it changed the state."""
        if isinstance(event, NodeStarted):
            self.network_up, self.problem = True, None
        elif isinstance(event, NodeStopped):
            self.network_up = False
            self.peers.clear()
            self.syncing.clear()
        elif isinstance(event, NetworkUnavailable):
            self.network_up, self.problem = False, event.message
            self.peers.clear()
            self.syncing.clear()
        elif isinstance(event, PeerConnected):
            self.peers.add(event.peer)
        elif isinstance(event, PeerLost):
            self.peers.discard(event.peer)
            self.syncing.pop(event.peer, None)
        elif isinstance(event, SyncProgress):
            self.syncing[event.peer] = (event.held, event.target)
        elif isinstance(event, SyncFinished):
            self.syncing.pop(event.peer, None)
        else:
            return False
        return True

    def seed(self, network_running: bool, peers: Iterable[bytes]) -> None:
        """What the node reported when asked (events may have been missed before)."""
        self.network_up = self.network_up or network_running
        if self.network_up:
            self.peers |= {peer for peer in peers if peer}

    @property
    def link(self) -> Link:
        if not self.network_up:
            return Link.OFF if self.problem else Link.STARTING
        return Link.ONLINE if self.peers else Link.NO_PEERS

    @property
    def online(self) -> bool:
        return self.link is Link.ONLINE

    def headline(self) -> str:
        """The status bar's words and the Network screen's title: the same words."""
        link = self.link
        if link is Link.ONLINE:
            return f"Online · {_peers(len(self.peers))}"
        if link is Link.NO_PEERS:
            return "Offline: no peers yet (posts are kept and sent later)"
        if link is Link.OFF:
            return "Offline (network off)"
        return "Starting network…"

    def explanation(self) -> str:
        """The Network screen's sentence under the headline."""
        link = self.link
        if link is Link.ONLINE:
            return (
                f"Connected to {_peers(len(self.peers))}. Others can reach you at the "
                "addresses below while lndesk runs; new posts go out at once."
            )
        if link is Link.NO_PEERS:
            return (
                "The network runs, but no peer is connected yet. Others can reach you at the "
                "addresses below; your posts are kept and go out when a peer connects."
            )
        if link is Link.OFF:
            return (
                f"The network could not start: {self.problem}\n"
                "Your posts are kept and sent when the network is back. "
                "Change the settings below and press Apply to try again."
            )
        return (
            "The network is not running (yet). You can still read and write: "
            "posts are sent when the network is up."
        )

    def published(self) -> str:
        """The note shown after publishing."""
        if self.online:
            return f"Published, and announced to {_peers(len(self.peers))} now connected."
        return "Published locally; it goes out to peers as soon as one is reachable."

    def delivery(self, mine: bool, seen_by: int) -> str:
        """For my own posts: whether anyone holds it yet (from the stored holder heights)."""
        if not mine:
            return ""
        if seen_by > 0:
            return f"seen by {_peers(seen_by)}"
        if self.online:
            return "announced; no peer has fetched it yet"
        return "published locally, not yet seen by any peer"
