"""What a person reads when a sync session ended early: what happened and what to do.

A :class:`~lndesk.p2p.events.SyncFinished` carries the technical reason in ``error`` (a
protocol's name, an exception's), which belongs in the log; what the app's status bar and
``lndesk serve`` show is chosen here from its ``cause``.
"""

from __future__ import annotations

from lndesk.p2p.events import SYNC_NOT_SAVED, SYNC_PEER_BROKE_RULES, SyncFinished

CUT_SHORT = (
    "Syncing with {who} stopped before it finished: the connection ended or the peer was "
    "busy. Nothing you have is lost, and there is nothing to do: lndesk asks again by "
    "itself."
)
NOT_SAVED = (
    "Posts from {who} could not be saved on this computer: {why}. What was saved before is "
    "safe; lndesk asks for the rest again at its next sync."
)


def sync_ended_text(event: SyncFinished, who: str) -> str | None:
    """The words for ``event`` (``who`` names the peer), or None when there is nothing to
    add: the session went well, or the peer broke the rules (the penalty's message, sent
    just before, says what it did and for how long it is ignored)."""
    if event.error is None or event.cause == SYNC_PEER_BROKE_RULES:
        return None
    if event.cause == SYNC_NOT_SAVED:
        return NOT_SAVED.format(who=who, why=event.error)
    return CUT_SHORT.format(who=who)
