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


class PenaltyBox:
    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._peers: dict[str, Penalty] = {}

    def penalise(self, peer: str, reason: str) -> None:
        logger.warning("refusing peer %s for %.0f s: %s", peer, self.seconds, reason)
        self._peers[peer] = Penalty(self._clock() + self.seconds, reason)

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
