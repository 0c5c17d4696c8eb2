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

**Connections per address** (docs/protocol.md section 24.1). ``max_connections`` alone
lets one machine with as many throwaway peer ids fill every slot, and py-libp2p's
pruner then trims honest peers back towards the watermark: an eclipse by one address.
:func:`cap_inbound_per_address` makes the swarm refuse, before its handshake, an
inbound connection from an address that already holds ``NodeConfig.inbound_per_ip()``
of them (connections in their handshake counted too), and makes its pruner close first
the connections of the address holding the most. An address is an IPv4 address, an
IPv6 /48 (:data:`CONNECTION_IPV6_BITS`; the limits on sessions count by /64) or a
link-local IPv6 address (``lndesk.p2p.admission.address_key``); a relayed connection
counts against its relay's address (the connection to the relay is the one whose
address is read), so a relay an attacker runs carries no more than one address does;
connections whose address cannot be read count as one address. Loopback is exempt unless
``Limits.limit_loopback``, as for the other limits per address. A refusal closes that
connection alone and is not a penalty.
"""

from __future__ import annotations

import heapq
import ipaddress
import logging
import math
from collections import Counter, defaultdict, deque
from typing import Any

import trio
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection_pruner import ConnectionPruner
from libp2p.network.exceptions import SwarmException
from libp2p.peer.id import ID

from lndesk.p2p.admission import UNREAD_ADDRESS, address_key

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


class AddressFull(SwarmException):
    """An inbound connection refused: its address holds as many as it may."""


_ADDRESS = "_lndesk_address"
"""The attribute of an inbound muxed connection that holds the address it counts against."""


CONNECTION_IPV6_BITS = 48
"""Inbound connections count an IPv6 address by the /48 it is in (docs/protocol.md
section 24.1): a site's allocation, which one subscriber may hold (and a tunnel broker
hands to anyone who asks); counted by /64, one such holder had 65,536 addresses."""


def connection_key(ip: str | None, limit_loopback: bool) -> str | None:
    """What an inbound connection from ``ip`` counts against (an IPv4 address, an IPv6
    /48, a link-local IPv6 address, :data:`UNREAD_ADDRESS` when its address cannot be
    read); None when it is exempt (loopback, unless ``limit_loopback``)."""
    if ip is None:
        return UNREAD_ADDRESS
    if not limit_loopback:
        try:
            address = ipaddress.ip_address(ip.split("%", 1)[0])
        except ValueError:
            return address_key(ip, CONNECTION_IPV6_BITS)
        mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
        if (mapped or address).is_loopback:
            return None
    return address_key(ip, CONNECTION_IPV6_BITS)


def remote_ip(conn: Any) -> str | None:
    """The IP address a raw or muxed connection comes from (a relayed one: its relay's,
    from the connection to the relay it runs in, else from its circuit address); None
    if it cannot be read."""
    try:
        remote = conn.get_remote_address()
    except Exception:  # not every connection type can tell
        remote = None
    if remote:
        return str(remote[0])
    try:
        addrs = conn.get_transport_addresses()
    except Exception:  # not every connection type can tell
        return None
    for addr in addrs:
        relay = str(addr).split("/p2p-circuit", 1)
        parts = relay[0].split("/")
        if len(relay) == 2 and len(parts) > 2 and parts[1] in ("ip4", "ip6"):
            return parts[2]
    return None


class AddressCap:
    """Counts a swarm's inbound connections by address and refuses those over the cap
    (see the module docstring)."""

    def __init__(self, network: Any, per_address: int, *, limit_loopback: bool) -> None:
        self.network = network
        self.per_address = per_address
        self.limit_loopback = limit_loopback
        self.handshaking: defaultdict[str, int] = defaultdict(int)
        """Inbound connections of each address still in their handshake."""
        self.refused = 0
        """Connections refused so far (for tests and the log)."""

    def held(self) -> Counter[str]:
        """Inbound connections each address holds: open ones and those in their
        handshake (each counted once: it is tagged with its address only once it has
        left the handshake)."""
        counts: Counter[str] = Counter(self.handshaking)
        for conn in self.network.get_connections():
            key = getattr(conn.muxed_conn, _ADDRESS, None)
            if key is not None:
                counts[key] += 1
        return counts

    def key_of(self, conn: Any) -> str | None:
        return connection_key(remote_ip(conn), self.limit_loopback)

    async def upgrade(self, inner: Any, raw_conn: Any, maddr: Any) -> Any:
        """Upgrade ``raw_conn`` with the swarm's own ``inner`` upgrade if its address
        holds fewer than ``per_address`` inbound connections; else close it alone and
        raise ``SwarmException`` (which ends only this connection's handler)."""
        key = self.key_of(raw_conn)
        if key is None:
            return await inner(raw_conn, maddr)
        if self.held()[key] >= self.per_address:
            self.refused += 1
            logger.debug(
                "refused an inbound connection from %s: it holds %d already", key, self.per_address
            )
            try:
                await raw_conn.close()
            except Exception as exc:  # already gone
                logger.debug("closing a refused connection: %s", exc)
            raise AddressFull(f"too many connections from {key}")
        self.handshaking[key] += 1
        muxed = None
        try:
            muxed = await inner(raw_conn, maddr)
            return muxed
        finally:
            self.handshaking[key] -= 1
            if not self.handshaking[key]:
                del self.handshaking[key]
            if muxed is not None:
                setattr(muxed, _ADDRESS, key)


def address_of(conn: Any) -> str | None:
    """The address an open inbound connection counts against; None for an outbound or
    exempt one."""
    try:
        return getattr(conn.muxed_conn, _ADDRESS, None)
    except Exception:  # a connection without a muxer: nothing to count
        return None


class AddressPruner(ConnectionPruner):
    """py-libp2p's pruner, closing first the connections of the address that holds the
    most: its order (least valued, fewest streams, inbound, oldest first) stays within
    one address, and one connection at a time is taken from the address holding the
    most not yet taken, so that an address that filled the slots loses its connections
    before any honest peer's. The pruner still skips connections with open streams,
    protected and valued peers."""

    def sort_connections(self, connections: list[Any], peer_values: dict[ID, int]) -> list[Any]:
        ordered: list[Any] = super().sort_connections(connections, peer_values)
        return by_address_held(ordered, address_of)


def by_address_held(ordered: list[Any], key_of: Any) -> list[Any]:
    """``ordered`` taking one item at a time from the address with the most items not
    yet taken (the one whose next item comes first in ``ordered`` among equals); items
    whose key is None are each their own address."""
    groups: dict[object, deque[tuple[int, Any]]] = {}
    for place, item in enumerate(ordered):
        key = key_of(item)
        groups.setdefault(object() if key is None else key, deque()).append((place, item))
    heap = [(-len(group), group[0][0], n) for n, group in enumerate(groups.values())]
    heapq.heapify(heap)
    queues = list(groups.values())
    result: list[Any] = []
    while heap:
        _, _, n = heapq.heappop(heap)
        queue = queues[n]
        result.append(queue.popleft()[1])
        if queue:
            heapq.heappush(heap, (-len(queue), queue[0][0], n))
    return result


def cap_inbound_per_address(host: Any, per_address: int, *, limit_loopback: bool) -> AddressCap:
    """Make ``host``'s swarm refuse inbound connections from an address holding
    ``per_address`` already, and prune the address holding the most first (see the
    module docstring). Call before the host runs."""
    network = host.get_network()
    cap = AddressCap(network, per_address, limit_loopback=limit_loopback)
    inner = network.upgrade_inbound_raw_conn

    async def upgrade_inbound_raw_conn(raw_conn: Any, maddr: Any) -> Any:
        return await cap.upgrade(inner, raw_conn, maddr)

    network.upgrade_inbound_raw_conn = upgrade_inbound_raw_conn
    pruner = getattr(network, "connection_pruner", None)
    if isinstance(pruner, ConnectionPruner):
        network.connection_pruner = AddressPruner(network, allow_list=pruner.allow_list)
    else:
        logger.debug("this py-libp2p has no connection pruner to replace")
    return cap
