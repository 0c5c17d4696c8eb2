"""Peers that answer ``na`` (not supported) to one of lndesk's optional protocols.

Any libp2p node may connect, and not every one speaks ``/lndesk/inbox/1`` (another
implementation, an older version, a relay or DHT node). Its ``na`` is not misbehaviour
(docs/protocol.md section 24); it is noted once, logged in one line, and the protocol is
not tried on that peer again for ``retry_seconds``, instead of on every connection and
every anti-entropy round.

py-libp2p logs every failed stream open as a 7-line ERROR before raising;
:func:`quiet_stream_open_errors` makes that a one-line DEBUG record, since every caller
in lndesk handles and logs the failure itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

logger = logging.getLogger(__name__)

RETRY_SECONDS = 3600.0
"""How long a peer that said ``na`` is not asked again."""
MAX_NOTED = 4096
"""Peers remembered at most: past it, those whose time is up go, then the oldest (peer
IDs cost nothing to make, and one that is never seen again is never asked about)."""

_LIBP2P_HOST_LOGGER = "libp2p.host.basic_host"
_OPEN_FAILED = "Failed to open stream to peer"


def is_not_supported(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) is a peer's ``na`` to every protocol asked."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if type(current).__name__ == "ProtocolNotSupportedError":
            return True
        if type(current).__module__.startswith("libp2p.") and str(current).startswith(
            "protocols not supported"
        ):
            return True
        current = current.__cause__ or current.__context__
    return False


class Unsupported:
    """Which peers said ``na`` to a protocol, and until when they are not asked again."""

    def __init__(
        self,
        protocol: str,
        *,
        retry_seconds: float = RETRY_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.protocol = protocol
        self.retry_seconds = retry_seconds
        self._clock = clock
        self._until: dict[str, float] = {}

    def note(self, peer: object) -> None:
        """``peer`` answered ``na``: log it once and skip it for a while."""
        key = str(peer)
        if not self.skips(peer):
            logger.info(
                "%s does not speak %s; not asking it again for %.0f s",
                key,
                self.protocol,
                self.retry_seconds,
            )
        self._until.pop(key, None)
        self._until[key] = now = self._clock() + self.retry_seconds
        if len(self._until) > MAX_NOTED:
            now -= self.retry_seconds
            self._until = {k: t for k, t in self._until.items() if t > now}
            while len(self._until) > MAX_NOTED:
                del self._until[next(iter(self._until))]

    def __len__(self) -> int:
        """Peers noted (some of whose time may be up)."""
        return len(self._until)

    def skips(self, peer: object) -> bool:
        """Whether ``peer`` said ``na`` less than ``retry_seconds`` ago."""
        key = str(peer)
        until = self._until.get(key)
        if until is None:
            return False
        if until <= self._clock():
            del self._until[key]
            return False
        return True


class _OneLine(logging.Filter):
    """Turns py-libp2p's multi-line "Failed to open stream" ERROR into one DEBUG line."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(_OPEN_FAILED):
            lines = [line.strip() for line in message.splitlines()[:2]]
            record.msg, record.args = " ".join(lines), None
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)
        return True


_FILTER = _OneLine()


def quiet_stream_open_errors() -> None:
    """Install the filter on py-libp2p's host logger (idempotent)."""
    target = logging.getLogger(_LIBP2P_HOST_LOGGER)
    if _FILTER not in target.filters:
        target.addFilter(_FILTER)
