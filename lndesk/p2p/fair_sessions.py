"""Who yields when a server's sessions run out (docs/protocol.md section 24.1).

``max_sessions`` bounds the sessions of one protocol a server holds and
``sessions_per_ip`` those of one address; alone, ``max_sessions / sessions_per_ip``
addresses (8 with the defaults) can hold every session, open a new one as soon as one
ends, and keep every other reader refused for as long as they like.

So an address refused because the server is full is remembered as *waiting* (for
``FAIR_WAIT_SECONDS``, at most ``MAX_WAITING`` of them, the oldest forgotten), and while
it waits, a session of an address holding more sessions than it does is refused if it
would take a session the waiting addresses need: when no more sessions are free than
there are waiting addresses holding fewer than the asking address. A freed session
therefore goes to a waiting address holding the fewest, whoever asks first among
those; an address that holds many yields to one that holds few, and sessions are never
refused while more are free than the waiting addresses need. A waiting address stops
waiting when it gets a session. None of this is a penalty: the refused reader tries
again later.
"""

from __future__ import annotations

import time
from collections import Counter, OrderedDict
from collections.abc import Callable

FAIR_WAIT_SECONDS = 120.0
"""How long an address refused for want of a free session counts as waiting: a reader
refused ``busy`` tries again at its next round (every 120 s when calm)."""
MAX_WAITING = 1024
"""Waiting addresses remembered at most (the longest waiting are forgotten first)."""


class FairSessions:
    """The sessions of one protocol's server per address, and the addresses waiting for
    one (see the module docstring). Addresses are keys of
    :func:`lndesk.p2p.admission.address_key`; exempt sessions are not counted here."""

    def __init__(self, max_sessions: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_sessions = max_sessions
        self._clock = clock
        self.held: Counter[str] = Counter()
        """Sessions each address holds now (an address holding none has no entry)."""
        self._waiting: OrderedDict[str, float] = OrderedDict()
        """Addresses refused for want of a free session -> when last refused."""

    def waiting(self) -> list[str]:
        """The addresses waiting for a session now, the longest waiting first."""
        self._forget_old()
        return list(self._waiting)

    def _forget_old(self) -> None:
        now = self._clock()
        while self._waiting:
            address, since = next(iter(self._waiting.items()))
            if now - since < FAIR_WAIT_SECONDS:
                return
            del self._waiting[address]

    def refused_full(self, address: str) -> None:
        """A session of ``address`` was refused: the server had no free session."""
        self._waiting.pop(address, None)
        self._waiting[address] = self._clock()
        while len(self._waiting) > MAX_WAITING:
            self._waiting.popitem(last=False)

    def yields(self, address: str, open_total: int) -> bool:
        """Whether a new session of ``address`` must be refused so that waiting
        addresses holding fewer sessions get the free ones (``open_total``: sessions
        open now, of every address). A refused address waits from then on."""
        self._forget_old()
        holds = self.held[address]
        fewer = sum(1 for other in self._waiting if other != address and self.held[other] < holds)
        if fewer and self.max_sessions - open_total <= fewer:
            self.refused_full(address)
            return True
        return False

    def opened(self, address: str) -> None:
        """A session of ``address`` was admitted: it stops waiting."""
        self.held[address] += 1
        self._waiting.pop(address, None)

    def closed(self, address: str) -> None:
        """A session of ``address`` opened by :meth:`opened` ended."""
        self.held[address] -= 1
        if self.held[address] <= 0:
            del self.held[address]
