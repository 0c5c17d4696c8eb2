"""Inbound connections: undoing py-libp2p 0.8.1's lifetime-long inbound slots.

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
"""

from __future__ import annotations

import logging
import math
from typing import Any

import trio

logger = logging.getLogger(__name__)


def release_inbound_cap(host: Any) -> None:
    """Give ``host``'s swarm an inbound limiter that cannot run out (see the module
    docstring). A swarm without one (another py-libp2p version) is left alone."""
    network = host.get_network()
    if not isinstance(getattr(network, "_inbound_limiter", None), trio.CapacityLimiter):
        logger.debug("this py-libp2p has no inbound connection limiter to replace")
        return
    network._inbound_limiter = trio.CapacityLimiter(math.inf)
