"""Why a peer is refused, in the words of the person who reads it.

A penalty's reason is technical ("sync: entry 5 of ... has a bad signature"): it goes to
the log (``lndesk -v`` shows it), where it helps to find out what happened. What
``lndesk serve`` prints and the app shows (the :class:`~lndesk.p2p.events.PeerPenalised`
event) is chosen here instead, from what the peer was doing when it broke the rules:
the start of the reason, before its first colon, names that (a protocol's name, or its
stream's protocol id). Each phrase follows "it" ("refusing lnd1... for 600 s: it sent
...").
"""

from __future__ import annotations

REFUSALS: dict[str, str] = {
    "sync": "it sent posts that fail lndesk's checks (forged, out of order or too large) "
    "while catching up",
    "fetch": "it answered a request for missing posts with posts that fail lndesk's checks",
    "gossip": "it announced a new post that fails lndesk's checks",
    "inbox notice": "it sent word of a reply or mention that fails lndesk's checks",
    "inbox catch-up": "it answered a request for replies and mentions with something "
    "that fails lndesk's checks",
    "fork proof": "it sent a false claim that someone signed two different posts at the "
    "same place in their log",
    "profile lookup": "it answered a request for someone's name and picture with "
    "something that fails lndesk's checks",
    "thread fetch": "it answered a request for the replies of a conversation with "
    "something that fails lndesk's checks",
    "visit": "it answered a check for anything new with something that fails lndesk's checks",
}
"""What the peer did, by the name a penalty's reason starts with."""

BY_PROTOCOL_ID: dict[str, str] = {
    "/lndesk/sync/": "sync",
    "/lndesk/inbox/": "inbox catch-up",
    "/lndesk/forks/": "fork proof",
    "/lndesk/profile/": "profile lookup",
    "/lndesk/thread/": "thread fetch",
    "/lndesk/visit/": "visit",
    "/meshsub/": "gossip",
    "/floodsub/": "gossip",
}
"""A stream that failed to decode names its protocol id: the name it stands for."""

SOMETHING_ELSE = "it sent something that fails lndesk's checks"
"""For a reason that names nothing above."""

KEPT_NOTHING = "; nothing it sent was kept"


def shown_reason(reason: str) -> str:
    """The words a person reads for the technical penalty ``reason``."""
    name = reason.split(":", 1)[0].strip()
    for prefix, known in BY_PROTOCOL_ID.items():
        if name.startswith(prefix):
            name = known
    return REFUSALS.get(name, SOMETHING_ELSE) + KEPT_NOTHING
