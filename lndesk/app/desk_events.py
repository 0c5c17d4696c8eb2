"""The desk's own events, beside the node's (:mod:`lndesk.p2p.events`)."""

from __future__ import annotations

from dataclasses import dataclass

from lndesk.p2p.events import Event


@dataclass(frozen=True, slots=True)
class NetworkUnavailable:
    """The network part could not start (or stopped); the store is still usable."""

    message: str


@dataclass(frozen=True, slots=True)
class LocalChanged:
    """Something the desk changed: "published", "following", "muted", "bookmarks",
    "read", "holders", "profile", "network", "lists", "accepted", "blocked"."""

    what: str


AppEvent = NetworkUnavailable | LocalChanged
AnyEvent = Event | AppEvent
