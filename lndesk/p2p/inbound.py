"""Inbound connections: undoing py-libp2p 0.8.1's lifetime-long inbound slots, and
reading the address of a peer connected over IPv6.

py-libp2p caps concurrent inbound connections with a ``trio.CapacityLimiter`` of
``max_connections - min_connections`` slots, but the handler that holds a slot waits
for the *swarm* to finish, not the connection: a slot is never given back. After that
many inbound connections over its whole life (28 with lndesk's settings: honest peers
coming and going, or throwaway peer ids made for the purpose), a node closes every new
inbound connection before its handshake, and no peer can reach it until it restarts.

The cap is replaced by an unlimited one. The number of connections stays bounded by
``max_connections``, which the swarm checks before every handshake and again when it
adds a connection, and which counts only connections that are open; the connection
pruner keeps it near the high watermark.

py-libp2p reads a TCP connection's remote address with ``getpeername()`` and takes only
a pair (host, port): an IPv6 socket gives four items, so no connection over IPv6
(nor an IPv4 one a dual-stack listener took, read as ``::ffff:a.b.c.d``) had an
address, and every limit per address (:mod:`lndesk.p2p.admission`) let such peers by
as if their address could not be read. :func:`read_ipv6_addresses` makes it read the
host and port of any socket address.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio
from libp2p.io.trio import TrioTCPStream

logger = logging.getLogger(__name__)


def release_inbound_cap(host: Any) -> None:
    """Give ``host``'s swarm an inbound limiter that cannot run out (see the module
    docstring). A swarm without one (another py-libp2p version) is left alone."""
    network = host.get_network()
    if not isinstance(getattr(network, "_inbound_limiter", None), trio.CapacityLimiter):
        logger.debug("this py-libp2p has no inbound connection limiter to replace")
        return
    network._inbound_limiter = trio.CapacityLimiter(math.inf)


_READS_IPV6 = "_lndesk_reads_ipv6"


def read_ipv6_addresses() -> None:
    """Make py-libp2p's TCP connections tell their remote address over IPv6 too (see the
    module docstring). Idempotent; one that already can is left alone."""
    original = TrioTCPStream.get_remote_address
    if getattr(original, _READS_IPV6, False):
        return

    def get_remote_address(self: TrioTCPStream) -> tuple[str, int] | None:
        found = original(self)
        if found is not None:
            return found
        try:
            peer = self.stream.socket.getpeername()
        except (AttributeError, OSError):  # closed, or not a socket
            return None
        if not isinstance(peer, tuple) or len(peer) < 2:
            return None
        found = (str(peer[0]), int(peer[1]))
        self._cached_remote_address = found
        return found

    setattr(get_remote_address, _READS_IPV6, True)
    TrioTCPStream.get_remote_address = get_remote_address  # type: ignore[method-assign]
