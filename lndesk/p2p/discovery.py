"""Finding peers: mDNS on the LAN, configured bootstrap peers, and the Kademlia DHT.

Discovery only *finds* peers; the node decides what to do with them. Every peer found is
passed to ``on_peer(PeerInfo, source)`` on trio's thread, with ``source`` one of
``"mdns"``, ``"bootstrap"`` or ``"dht"``; the node connects and syncs. We never report
ourselves, and repeated findings of the same peer are reported at most once a minute.

* **mDNS** (``lndesk.p2p.mdns``) finds nodes on the same network with no configuration.
  zeroconf binds to the interfaces that exist when it starts and advertises the
  addresses we had then, so ``addresses_changed()`` (a laptop on another Wi-Fi) starts
  it afresh.
* **Bootstrap** peers are dialled at start and re-dialled on a slow, growing schedule
  while not connected (a friend's always-on machine, a community node). They are the
  entry points into the DHT, so they go into the routing table too. Discovery dials
  them itself because only a dial tells whether the retry schedule can relax.
* **DHT** (``lndesk.p2p.dht``): each node announces itself as provider of every feed it
  holds and looks up providers of every feed it follows, at start (as soon as the
  routing table has a first peer), every ``provide_interval`` seconds and whenever
  ``refresh()`` is called. (Following a feed looks up that feed's providers at once:
  ``Node.follow``; a feed held for the first time is provided at once.) The DHT key of a feed is
  documented in ``lndesk.p2p.dht``: ``0x12 0x20 || sha256(b"lndesk/feed/1" || key)``.

Every connection, inbound or outbound, whoever made it, puts the peer into the DHT
routing table: py-libp2p does not do this by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import multiaddr
import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import InvalidAddrError, PeerInfo, info_from_p2p_addr

from lndesk.errors import UsageError
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.dht import FeedDht
from lndesk.p2p.host import dial
from lndesk.p2p.mdns import Mdns
from lndesk.p2p.watch import ConnectionWatcher

if TYPE_CHECKING:
    from libp2p.abc import IHost
    from trio_typing import TaskStatus

logger = logging.getLogger(__name__)

BOOTSTRAP_DIAL_TIMEOUT = 15.0
BOOTSTRAP_RETRY_FIRST = 5.0
"""Seconds before the first re-dial of an unreachable bootstrap peer; doubled each time."""
BOOTSTRAP_RETRY_MAX = 300.0
BOOTSTRAP_CHECK = 30.0
"""While connected to a bootstrap peer, how often to check that we still are."""
REPORT_AGAIN_AFTER = 60.0
"""A peer found again (by mDNS or the DHT) while not connected is reported at most this often."""

PeerCallback = Callable[[PeerInfo, str], None]


def parse_bootstrap(addrs: Iterable[str]) -> list[PeerInfo]:
    """Bootstrap multiaddrs (each ending in ``/p2p/<peer id>``) as peer infos.

    Raises ``UsageError`` naming the first bad address, so a typo in the settings is
    reported when the node starts, not silently ignored.
    """
    peers: dict[ID, PeerInfo] = {}
    for text in addrs:
        try:
            info = info_from_p2p_addr(multiaddr.Multiaddr(text.strip()))
        except (InvalidAddrError, ValueError, TypeError) as exc:
            raise UsageError(
                f"Bad bootstrap address {text!r}: {exc}",
                hint="A bootstrap address looks like /ip4/203.0.113.5/tcp/4747/p2p/12D3KooW...",
            ) from exc
        known = peers.setdefault(info.peer_id, PeerInfo(info.peer_id, []))
        known.addrs.extend(info.addrs)
    return list(peers.values())


class Discovery:
    """mDNS, bootstrap and DHT discovery for one host; see the module docstring."""

    def __init__(
        self,
        host: IHost,
        config: NodeConfig,
        *,
        on_peer: PeerCallback,
        held_feeds: Callable[[], Iterable[bytes]],
        wanted_feeds: Callable[[], Iterable[bytes]],
    ) -> None:
        self._host = host
        self._config = config
        self._on_peer = on_peer
        self._held_feeds = held_feeds
        self._wanted_feeds = wanted_feeds
        self.bootstrap_peers = parse_bootstrap(config.bootstrap)
        self.dht: FeedDht | None = (
            FeedDht(host, on_table_filled=self.refresh) if config.dht else None
        )
        self.mdns: Mdns | None = None
        self._mdns_restart = trio.Event()
        self._reported: dict[tuple[ID, str], tuple[float, frozenset[str]]] = {}
        self._provide_now = trio.Event()
        self._lookup_now = trio.Event()

    # -- public API --------------------------------------------------------------

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run the configured mechanisms until cancelled (the host must be listening)."""
        watch = ConnectionWatcher(lambda peer, _addr: self.add_peer(peer), lambda *_: None)
        network = self._host.get_network()
        try:
            async with trio.open_nursery() as nursery:
                if self.dht is not None:
                    await nursery.start(self.dht.run)
                    network.register_notifee(watch)
                    for peer_id in self._host.get_connected_peers():
                        self.add_peer(peer_id)
                    nursery.start_soon(self._provide_loop)
                    nursery.start_soon(self._lookup_loop)
                if self._config.mdns:
                    await nursery.start(self._mdns_loop)
                for peer in self.bootstrap_peers:
                    nursery.start_soon(self._bootstrap_loop, peer)
                logger.info(
                    "discovery running: mdns=%s dht=%s bootstrap=%d",
                    self._config.mdns,
                    self._config.dht,
                    len(self.bootstrap_peers),
                )
                task_status.started()
        finally:
            network.remove_notifee(watch)

    async def provide(self, feeds: Iterable[bytes]) -> None:
        """Announce this node as a provider of ``feeds`` (no-op without the DHT)."""
        if self.dht is None:
            return
        feeds = list(feeds)
        started = time.monotonic()
        done = await self.dht.provide(feeds)
        logger.debug(
            "announced %d/%d feeds in %.2f s", done, len(feeds), time.monotonic() - started
        )

    async def find_providers(self, feed: bytes, limit: int = 20) -> list[PeerInfo]:
        """Peers (not us) that announced they hold ``feed``, one entry each."""
        if self.dht is None:
            return []
        return await self.dht.find_providers(feed, limit)

    def addresses_changed(self) -> None:
        """Our addresses changed: advertise the new ones on the LAN and in the DHT."""
        self._mdns_restart.set()
        self.refresh()

    def add_peer(self, peer_id: ID) -> None:
        """Put a connected peer into the DHT routing table (queued; trio thread only)."""
        if self.dht is not None:
            self.dht.add_peer(peer_id)

    def refresh(self) -> None:
        """Announce held feeds and look up followed feeds now rather than at the next tick."""
        self._provide_now.set()
        self._lookup_now.set()

    async def wait_routing_table(self, size: int) -> None:
        """Return once the DHT routing table holds ``size`` peers (for tests and status)."""
        if self.dht is not None:
            await self.dht.wait_table_size(size)

    async def _mdns_loop(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run mDNS, starting it afresh each time ``addresses_changed()`` is called."""
        started = False
        while True:
            self._mdns_restart = trio.Event()
            self.mdns = Mdns(self._host, self._found_by_mdns)
            async with trio.open_nursery() as nursery:
                await nursery.start(self.mdns.run)
                if not started:
                    task_status.started()
                    started = True
                await self._mdns_restart.wait()
                logger.info("addresses changed: restarting mDNS")
                nursery.cancel_scope.cancel()

    # -- reporting ---------------------------------------------------------------

    def _report(self, peer: PeerInfo, source: str, *, force: bool = False) -> None:
        """Hand a found peer to the node, at most once per ``REPORT_AGAIN_AFTER`` per source
        unless its addresses changed.

        mDNS repeats itself constantly, so a peer found by mDNS while connected is not
        reported. A DHT result is reported even when connected: it says the peer holds
        a feed we follow, which the node may want to sync now.
        """
        if peer.peer_id == self._host.get_id():
            return
        now = time.monotonic()
        key = (peer.peer_id, source)
        addrs = frozenset(str(a) for a in peer.addrs)
        if not force:
            if source == "mdns" and peer.peer_id in self._host.get_connected_peers():
                return
            last = self._reported.get(key)
            if last is not None and now - last[0] < REPORT_AGAIN_AFTER and addrs <= last[1]:
                return
        self._reported[key] = (now, addrs)
        logger.debug("found %s by %s", peer.peer_id, source)
        try:
            self._on_peer(peer, source)
        except Exception:
            logger.exception("on_peer callback failed for a %s peer", source)

    def _found_by_mdns(self, peer: PeerInfo) -> None:
        self._report(peer, "mdns")

    # -- bootstrap ---------------------------------------------------------------

    async def _bootstrap_loop(self, peer: PeerInfo) -> None:
        delay = BOOTSTRAP_RETRY_FIRST
        while True:
            if peer.peer_id in self._host.get_connected_peers():
                await trio.sleep(BOOTSTRAP_CHECK)
                continue
            if await self._dial(peer):
                delay = BOOTSTRAP_RETRY_FIRST
                self.add_peer(peer.peer_id)
                self._report(peer, "bootstrap", force=True)
                continue
            await trio.sleep(delay)
            delay = min(delay * 2, BOOTSTRAP_RETRY_MAX)

    async def _dial(self, peer: PeerInfo) -> bool:
        try:
            with trio.fail_after(BOOTSTRAP_DIAL_TIMEOUT):
                await dial(self._host, peer)
        except trio.TooSlowError:
            logger.info("bootstrap peer %s: dial timed out", peer.peer_id)
            return False
        except Exception as exc:  # libp2p raises many kinds of dial errors
            logger.info("bootstrap peer %s unreachable: %s", peer.peer_id, exc)
            return False
        return True

    # -- DHT rounds --------------------------------------------------------------

    async def _wait_round(self, which: str) -> None:
        event = self._provide_now if which == "provide" else self._lookup_now
        with trio.move_on_after(self._config.provide_interval):
            await event.wait()
        if which == "provide":
            self._provide_now = trio.Event()
        else:
            self._lookup_now = trio.Event()

    async def _provide_loop(self) -> None:
        assert self.dht is not None
        while True:
            await self._wait_round("provide")
            if self.dht.table_size == 0:
                continue  # announced as soon as the table gets its first peer
            try:
                await self.provide(self._held_feeds())
            except Exception:
                logger.exception("announcing feeds failed")

    async def _lookup_loop(self) -> None:
        assert self.dht is not None
        while True:
            await self._wait_round("lookup")
            if self.dht.table_size == 0:
                continue
            for feed in list(dict.fromkeys(self._wanted_feeds())):
                try:
                    providers = await self.find_providers(feed)
                except Exception:
                    logger.exception("provider lookup failed")
                    continue
                for peer in providers:
                    self._report(peer, "dht")
