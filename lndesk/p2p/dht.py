"""Kademlia provider records for feeds: who holds a copy of Ann's feed?

Every node announces itself as a *provider* of each feed it holds and asks the DHT for
providers of each feed it follows, so a feed stays reachable while its author is offline
as long as one follower is online.

DHT key of a feed
-----------------
A feed is its author's 32-byte Ed25519 public key. Its DHT key is the sha2-256
multihash of a domain-separated string::

    key = 0x12 0x20 || sha256(b"lndesk/feed/1" || public_key)

``0x12`` is the multihash code of sha2-256 and ``0x20`` its length (32), so the key has
the same shape as the multihash inside an IPFS CID: any Kademlia node (including ones
that speak ``/ipfs/kad/1.0.0`` and know nothing of lndesk) stores and routes it. The
prefix keeps lndesk records apart from every other use of the same key bytes, and the
``/1`` leaves room for a new scheme without colliding with old records. ``KadDHT``
takes keys as strings (a CID, a hex multihash or raw text); we hand it the hex form,
which it turns back into exactly these bytes.

Why the routing table is filled by hand
---------------------------------------
py-libp2p's ``KadDHT`` only learns peers that open a DHT stream to it; a connection by
itself adds nothing. ``FeedDht.add_peer`` therefore queues every connected peer (and
every bootstrap peer) for the routing table. Inbound peers often have no dialable
address until identify has run, so a failed add is retried a few times.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import trio
from libp2p.kad_dht.kad_dht import DHTMode, KadDHT
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.tools.anyio_service import background_trio_service

if TYPE_CHECKING:
    from libp2p.abc import IHost
    from trio_typing import TaskStatus

logger = logging.getLogger(__name__)

FEED_KEY_DOMAIN = b"lndesk/feed/1"
_SHA2_256 = b"\x12\x20"

ADD_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
"""Seconds between tries to put a peer whose addresses are not known yet into the table."""
PROVIDE_CONCURRENCY = 4
"""Feeds announced at the same time; each announcement is a network lookup."""
LOOKUP_TIMEOUT = 30.0
"""Upper bound of one provider lookup, whatever the DHT's own per-query timeouts do."""


def feed_dht_key(public_key: bytes) -> bytes:
    """The DHT key (a sha2-256 multihash) under which providers of a feed are recorded."""
    if len(public_key) != 32:
        raise ValueError("a feed is identified by a 32-byte public key")
    return _SHA2_256 + hashlib.sha256(FEED_KEY_DOMAIN + public_key).digest()


def merge_providers(found: Iterable[PeerInfo], exclude: ID | None = None) -> list[PeerInfo]:
    """One entry per peer, addresses merged, in order of first appearance.

    The lookup returns a peer once per node that knows it as a provider, and our own
    record comes back when we provide the feed ourselves.
    """
    by_peer: dict[ID, PeerInfo] = {}
    for info in found:
        if exclude is not None and info.peer_id == exclude:
            continue
        known = by_peer.get(info.peer_id)
        if known is None:
            by_peer[info.peer_id] = PeerInfo(info.peer_id, list(info.addrs))
            continue
        have = {str(a) for a in known.addrs}
        known.addrs.extend(a for a in info.addrs if str(a) not in have)
    return list(by_peer.values())


class FeedDht:
    """A ``KadDHT`` in server mode, plus the bookkeeping py-libp2p leaves to us."""

    def __init__(self, host: IHost, *, on_table_filled: Callable[[], None]) -> None:
        self._host = host
        self._on_table_filled = on_table_filled
        self.kad = KadDHT(host, DHTMode.SERVER)
        self._add_send, self._add_recv = trio.open_memory_channel[ID](1024)
        self._changed = trio.Event()
        self._nursery: trio.Nursery | None = None

    @property
    def table_size(self) -> int:
        return int(self.kad.get_routing_table_size())

    def add_peer(self, peer_id: ID) -> None:
        """Queue a peer for the routing table (safe to call before ``run``)."""
        if peer_id == self._host.get_id():
            return
        try:
            self._add_send.send_nowait(peer_id)
        except trio.WouldBlock:
            logger.debug("routing table queue full; dropping %s", peer_id)

    async def wait_table_size(self, size: int) -> None:
        """Return once the routing table holds at least ``size`` peers."""
        while self.table_size < size:
            await self._changed.wait()

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with background_trio_service(self.kad), trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._add_worker)
            task_status.started()
            await trio.sleep_forever()

    async def _add_worker(self) -> None:
        async for peer_id in self._add_recv:
            if not await self._try_add(peer_id) and self._nursery is not None:
                self._nursery.start_soon(self._retry_add, peer_id)

    async def _retry_add(self, peer_id: ID) -> None:
        for delay in ADD_RETRY_DELAYS:
            await trio.sleep(delay)
            if peer_id not in self._host.get_connected_peers():
                return
            if await self._try_add(peer_id):
                return
        logger.debug("peer %s never became a routing table candidate", peer_id)

    async def _try_add(self, peer_id: ID) -> bool:
        before = self.table_size
        if self.kad.routing_table.peer_in_table(peer_id):
            return True
        added = bool(await self.kad.add_peer(peer_id))
        if added:
            logger.debug("routing table: added %s (%d peers)", peer_id, self.table_size)
            self._changed.set()
            self._changed = trio.Event()
            if before == 0:
                self._on_table_filled()
        return added

    async def provide(self, feeds: Iterable[bytes]) -> int:
        """Announce ourselves as provider of ``feeds``; returns how many were announced."""
        limiter = trio.CapacityLimiter(PROVIDE_CONCURRENCY)
        done = 0

        async def one(feed: bytes) -> None:
            nonlocal done
            async with limiter:
                try:
                    if await self.kad.provide(feed_dht_key(feed).hex()):
                        done += 1
                except (ValueError, OSError, trio.TooSlowError) as exc:
                    logger.warning("announcing a feed failed: %s", exc)

        async with trio.open_nursery() as nursery:
            for feed in dict.fromkeys(feeds):
                nursery.start_soon(one, feed)
        return done

    async def find_providers(self, feed: bytes, limit: int = 20) -> list[PeerInfo]:
        """Providers of ``feed`` other than ourselves, one entry per peer."""
        key = feed_dht_key(feed).hex()
        found: list[PeerInfo] = []
        with trio.move_on_after(LOOKUP_TIMEOUT):
            found = list(await self.kad.find_providers(key, limit))
        return merge_providers(found, exclude=self._host.get_id())[:limit]
