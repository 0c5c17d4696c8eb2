"""Peers that sent bad data are refused for a while.

A forged, undecodable, oversized or unprovable entry, or a broken sync frame, is never
an accident of an honest lndesk node: its sender is disconnected and every connection
and stream from it is refused until the penalty ends. Nothing it sent is stored (the
store authenticates a whole run before writing any of it).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Penalty:
    until: float
    reason: str


SWEEP_FLOOR = 64
"""Penalties kept before ended ones are first swept away."""


class PenaltyBox:
    """The penalised peers, by peer id. An ended penalty is forgotten when its peer is
    next asked about, and all ended ones whenever the box has doubled since it last
    swept: peer ids cost nothing, and the ids of peers penalised once and never seen
    again would otherwise be kept for the life of the node."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._peers: dict[str, Penalty] = {}
        self._sweep_at = SWEEP_FLOOR

    def __len__(self) -> int:
        """Penalties kept now (some may have ended and not been swept yet)."""
        return len(self._peers)

    def penalise(self, peer: str, reason: str) -> None:
        logger.warning("refusing peer %s for %.0f s: %s", peer, self.seconds, reason)
        now = self._clock()
        if len(self._peers) >= self._sweep_at:
            self._peers = {p: kept for p, kept in self._peers.items() if kept.until > now}
            self._sweep_at = max(SWEEP_FLOOR, 2 * len(self._peers))
        self._peers[peer] = Penalty(now + self.seconds, reason)

    def penalty(self, peer: str) -> Penalty | None:
        found = self._peers.get(peer)
        if found is not None and found.until <= self._clock():
            del self._peers[peer]
            return None
        return found

    def now(self) -> float:
        return self._clock()

    def is_penalised(self, peer: str) -> bool:
        return self.penalty(peer) is not None
