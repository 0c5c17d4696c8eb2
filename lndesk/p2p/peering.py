"""Reaching peers and keeping track of them: the connection side of a node.

* **Dialling**: an address the user gives (:meth:`Peering.connect`), peers discovery
  finds (mDNS, bootstrap, DHT: :meth:`Peering.found`) and, at start, recently met peers
  from the peer book. Bootstrap peers that hand out relay slots are asked for one, so
  peers behind NAT reach this node through them.
* **Penalties**: a peer that sent bad data is disconnected and its gossip ignored until
  its penalty ends; meanwhile it is neither dialled nor served.
* **Connected peers**: the address each connected from, its latency (one ping right
  after connecting, then liveness pings) and the listen addresses it told us, which
  the peer book keeps on disk for the next start.

What the node does with a connection (sync, inbox catch-up) is :mod:`lndesk.p2p.node`'s.
"""

from __future__ import annotations

import heapq
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import multiaddr
import trio
from libp2p.abc import IHost
from libp2p.host.ping import PingService
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo, info_from_p2p_addr
from libp2p.peer.peerstore import PeerStoreError

from lndesk.errors import AddressError, DialError, NetworkError
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.dialable import DialLimiter, deliberately, dialable, local_networks
from lndesk.p2p.events import (
    AddressesChanged,
    EventSink,
    PeerConnected,
    PeerFound,
    PeerPenalised,
    PenaltyEnded,
)
from lndesk.p2p.host import dial, public_key_of
from lndesk.p2p.peerbook import PeerBook
from lndesk.p2p.penalty import PenaltyBox
from lndesk.p2p.redial import DialledPeers, Redials
from lndesk.p2p.relay import Relay
from lndesk.p2p.watch import remote_address

logger = logging.getLogger(__name__)

MAX_RELAYS = 2
FILTERED_SOURCES = ("dht", "mdns")
"""Discovery sources whose addresses are filtered and whose dials are rate-limited."""
PEERBOOK_DIALS = 8
"""Recently met peers dialled at start (besides bootstrap peers and mDNS)."""
PEERBOOK_SAVE_SECONDS = 60.0
"""How often the list of known peers is written while it changes."""
DIAL_SECONDS = 30
"""How long one dial of a peer may take in all (each address gets ``DIAL_ADDRESS_SECONDS``)."""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    peer_id: str
    key: bytes | None
    address: str
    syncing: bool
    latency_ms: float | None = None
    """Round trip time, smoothed over the pings so far (liveness pings, :meth:`Node.ping`);
    None until the first."""


class Peering:
    """Dials peers, penalises them, and remembers what it learns of them."""

    def __init__(
        self,
        host: IHost,
        config: NodeConfig,
        relay: Relay,
        peerbook: PeerBook,
        *,
        emit: EventSink,
        block: Callable[[ID], None],
        unblock: Callable[[ID], None],
        is_syncing: Callable[[Any], bool],
        follows: Callable[[bytes], bool] = lambda _key: False,
    ) -> None:
        self.host = host
        self.config = config
        self.relay = relay
        self.peerbook = peerbook
        self.penalties = PenaltyBox(config.penalty_seconds)
        self.dials = DialLimiter()
        """How often peers found by the DHT and mDNS are dialled."""
        self._emit = emit
        self._block = block
        """Drops a penalised peer's gossip (until ``unblock``)."""
        self._unblock = unblock
        self._is_syncing = is_syncing
        self._nursery: trio.Nursery | None = None
        self._blocked: dict[str, Any] = {}
        """Penalised peers whose gossip is dropped, by their id's text."""
        self._ending: list[tuple[float, str]] = []
        """When each penalty ends (a heap; a peer penalised again has an entry more)."""
        self._ending_changed = trio.Event()
        self.first_connection = trio.Event()
        """Set once any peer has connected."""
        self._follows = follows
        self.dialled = DialledPeers()
        """Peers this node dialled itself and connected to (the most recent
        ``lndesk.p2p.redial.MAX_DIALLED``): dialled again when lost."""
        self.redials = Redials(
            self._dial_known,
            wanted=self._wanted_back,
            connected=lambda peer: peer in self.host.get_connected_peers(),
            room=lambda: len(self.host.get_connected_peers()) < config.high_watermark,
        )

    def attach(self, nursery: trio.Nursery | None) -> None:
        """Background work runs in ``nursery`` (None: the node stopped; none is started)."""
        self._nursery = nursery
        if nursery is not None:
            nursery.start_soon(self._end_penalties)

    def _soon(self, task: Callable[[Any], Awaitable[None]], arg: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(task, arg)

    def addresses(self) -> list[str]:
        """Where peers can reach this node: direct addresses, then relayed ones."""
        addrs = [str(a) for a in self.host.get_addrs()]
        addrs += [str(a) for a in self.relay.circuit_addrs()]
        return list(dict.fromkeys(addrs))

    # --- penalties -----------------------------------------------------------------

    def penalise(self, peer: Any, reason: str) -> None:
        self.penalties.penalise(str(peer), reason)
        key = public_key_of(peer)
        if key is not None:
            self._emit(PeerPenalised(key, reason, self.penalties.seconds))
        self._block(peer)
        name = str(peer)
        self._blocked[name] = peer
        penalty = self.penalties.penalty(name)
        until = self.penalties.now() if penalty is None else penalty.until
        heapq.heappush(self._ending, (until, name))
        self._ending_changed.set()
        if self._nursery is not None:
            self._nursery.start_soon(self._disconnect, peer)

    def is_penalised(self, peer: Any) -> bool:
        return self.penalties.is_penalised(str(peer))

    async def _end_penalties(self) -> None:
        """Let each penalised peer's gossip in again once its penalty has run out.

        One task for all of them, sleeping until the first penalty ends: peer ids cost
        nothing, and a task per penalised peer, asleep for ``penalty_seconds``, held
        some 3.5 kB each for ids penalised once and never seen again."""
        while True:
            now = self.penalties.now()
            while self._ending and self._ending[0][0] <= now:
                _, name = heapq.heappop(self._ending)
                if self.penalties.penalty(name) is None:  # else penalised again since
                    self._end_penalty(name)
            self._ending_changed = trio.Event()
            wait = self._ending[0][0] - now if self._ending else math.inf
            with trio.move_on_after(wait):
                await self._ending_changed.wait()

    def _end_penalty(self, name: str) -> None:
        peer = self._blocked.pop(name, None)
        if peer is None:  # ended already (it was penalised twice in one instant)
            return
        self._unblock(peer)
        key = public_key_of(peer)
        if key is not None:
            self._emit(PenaltyEnded(key))

    async def _disconnect(self, peer: ID) -> None:
        try:
            await self.host.disconnect(peer)
        except Exception as exc:  # already gone
            logger.debug("disconnecting %s: %s", peer, exc)

    # --- connections ---------------------------------------------------------------

    def connected(self, peer: ID, address: str) -> bool:
        """Note a new connection from ``address``; False (and the peer is disconnected)
        if it is penalised."""
        if self.is_penalised(peer):
            self._soon(self._disconnect, peer)
            return False
        self.first_connection.set()
        self.redials.back(peer)
        key = public_key_of(peer)
        if key is not None:
            self._emit(PeerConnected(key, address))
        if address:
            self.peerbook.seen(str(peer), [address])
        return True

    async def connect(self, address: str) -> bytes | None:
        """Dial a peer by multiaddr (with /p2p/<id>); returns its lndesk key."""
        info = parse_peer_address(address)
        if info.peer_id == self.host.get_id():
            raise AddressError("that address is this node's own")
        if self.is_penalised(info.peer_id):
            raise DialError(
                f"the peer {info.peer_id} is refused for a while: sent bad data",
                "It is allowed again after the penalty time.",
            )
        try:
            with trio.fail_after(DIAL_SECONDS):
                if "/p2p-circuit" in address:
                    with deliberately():
                        await self.relay.dial_via(multiaddr.Multiaddr(address.strip()))
                else:
                    await dial(self.host, info)
                    self.dialled.add(info.peer_id)
        except trio.TooSlowError as exc:
            raise DialError(f"timed out connecting to {address}") from exc
        except Exception as exc:  # libp2p raises many kinds for an unreachable peer
            if isinstance(exc, NetworkError):
                raise
            raise DialError(f"could not connect to {address}: {exc}") from exc
        return public_key_of(info.peer_id)

    def found(self, info: PeerInfo, source: str) -> None:
        """Discovery found a peer (``source``: "mdns", "bootstrap", "dht", "peerbook"):
        report it, dial it unless connected, and ask a bootstrap peer for a relay slot."""
        if info.peer_id == self.host.get_id() or self.is_penalised(info.peer_id):
            return
        if source in FILTERED_SOURCES:
            info = PeerInfo(info.peer_id, self._dialable(info.addrs, source))
            if not info.addrs and info.peer_id not in self.host.get_connected_peers():
                logger.debug("no address of %s (found by %s) is dialable", info.peer_id, source)
                return
        key = public_key_of(info.peer_id)
        if key is not None:
            self._emit(PeerFound(key, source))
        if source == "bootstrap" and self.config.relay_client and self._nursery is not None:
            self._nursery.start_soon(self._try_relay, info)
        if info.peer_id in self.host.get_connected_peers() or self._nursery is None:
            return
        if source in FILTERED_SOURCES and not self.dials.allow(info.peer_id):
            logger.debug("not dialling %s (found by %s) again so soon", info.peer_id, source)
            return
        self._nursery.start_soon(self._dial_quietly, info, source)

    def _dialable(self, addrs: Sequence[multiaddr.Multiaddr], source: str) -> list[Any]:
        return dialable(
            addrs,
            source,
            lan=local_networks(self.host.get_addrs()),
            dht_loopback=self.config.dht_loopback,
        )

    async def _dial_quietly(self, info: PeerInfo, source: str) -> None:
        # The peerstore may hold more addresses of the peer (the DHT puts what other
        # peers said there): those are filtered like the found ones.
        only = None
        if source in FILTERED_SOURCES:
            only = lambda addrs: self._dialable(addrs, source)  # noqa: E731
        try:
            with trio.fail_after(DIAL_SECONDS):
                await dial(self.host, info, only=only)
            self.dialled.add(info.peer_id)
        except Exception as exc:  # found peers are often stale; not worth more than a log line
            logger.info("could not reach %s (found by %s): %s", info.peer_id, source, exc)

    async def _try_relay(self, info: PeerInfo) -> None:
        """Take a relay slot on a bootstrap peer that offers one, so NATed peers reach us.

        Bootstrap peers are the always-on nodes a user chose; those run with relaying
        for others turned on hand out slots, the others refuse and are left alone.
        """
        if len(self.relay.relays()) >= MAX_RELAYS or info.peer_id in self.relay.relays():
            return
        try:
            with deliberately():  # a bootstrap peer: the user chose it
                addrs = await self.relay.reserve(info)
        except NetworkError as exc:
            logger.info("no relay slot on %s: %s", info.peer_id, exc.message)
            return
        except Exception as exc:  # a relay's protocol error must not stop the node
            logger.info("relay reservation on %s failed: %s", info.peer_id, exc)
            return
        logger.info("reachable through relay %s: %s", info.peer_id, [str(a) for a in addrs])
        self._emit(AddressesChanged(tuple(self.addresses())))

    async def dial_known_peers(self) -> None:
        """Dial the peers met most recently (the peer book), as if discovery found them."""
        for known in self.peerbook.recent(PEERBOOK_DIALS):
            try:
                peer_id = ID.from_base58(known.peer_id)
                addrs = [multiaddr.Multiaddr(a) for a in known.addrs]
            except Exception as exc:  # an old or damaged entry in the peer list
                logger.info("skipping known peer %s: %s", known.peer_id, exc)
                continue
            self.found(PeerInfo(peer_id, addrs), "peerbook")

    # --- lost peers ----------------------------------------------------------------

    def lost(self, peer: ID) -> None:
        """``peer``'s last connection closed: dial it again (``lndesk.p2p.redial``) if
        this node dialled it or follows it."""
        self.redials.lost(peer)

    def _wanted_back(self, peer: ID) -> bool:
        if self.is_penalised(peer):
            return False
        if peer in self.dialled:
            return True
        key = public_key_of(peer)
        return key is not None and self._follows(key)

    async def _dial_known(self, peer: ID) -> None:
        """Dial ``peer`` at the addresses the peer book and the peerstore know."""
        known = self.peerbook.peers.get(str(peer))
        addrs = [multiaddr.Multiaddr(a) for a in known.addrs] if known else []
        with trio.fail_after(DIAL_SECONDS):
            await dial(self.host, PeerInfo(peer, addrs))

    # --- connected peers -----------------------------------------------------------

    def peers(self) -> list[PeerStatus]:
        out = []
        network = self.host.get_network()
        for peer in self.host.get_connected_peers():
            address = ""
            conns = network.connections.get(peer) if hasattr(network, "connections") else None
            if conns:
                conn = conns[0] if isinstance(conns, list) else conns
                address = remote_address(conn)
            latency = self.host.get_peerstore().latency_EWMA(peer)
            out.append(
                PeerStatus(
                    str(peer),
                    public_key_of(peer),
                    address,
                    self._is_syncing(peer),
                    latency * 1000 if latency > 0 else None,
                )
            )
        return out

    async def ping(self, peer: ID, count: int = 3) -> float:
        """Ping a connected peer ``count`` times; the best round trip in milliseconds.

        Each round trip is also recorded as the peer's latency (see :meth:`peers`). The
        first one, which includes opening the stream, counts only if it is the only one.
        """
        times: list[float] = []
        started = trio.current_time()
        async for _rtt in PingService(self.host).ping_iter(peer, ping_amt=count):
            now = trio.current_time()
            times.append(now - started)
            started = now
        best = min(times[1:] or times)
        self.host.get_peerstore().record_latency(peer, best)
        return best * 1000

    def measure_latency_soon(self, peer: ID) -> None:
        """One ping right after connecting, so a new peer's latency shows at once
        (liveness pings would first measure it ``liveness_interval`` later)."""
        self._soon(self._measure_latency, peer)

    async def _measure_latency(self, peer: ID) -> None:
        with trio.move_on_after(10):
            try:
                await self.ping(peer, 2)
            except Exception as exc:  # the peer went away, or refuses pings
                logger.debug("could not measure the latency of %s: %s", peer, exc)

    # --- the peer book -------------------------------------------------------------

    async def save_loop(self) -> None:
        """Keep the list of known peers on disk (also saved at stop), so a node that is
        killed or loses power still finds its peers next time."""
        while True:
            await trio.sleep(PEERBOOK_SAVE_SECONDS)
            self.save()

    def save(self) -> None:
        """Write the known peers, with the listen addresses connected peers told us
        (identify), which are the ones worth dialling next time."""
        peerstore = self.host.get_peerstore()
        for peer in self.host.get_connected_peers():
            try:
                addrs = [str(a).removesuffix(f"/p2p/{peer}") for a in peerstore.addrs(peer)]
            except PeerStoreError:  # no addresses recorded (yet) for that peer
                addrs = []
            if addrs:
                self.peerbook.seen(str(peer), addrs)
        self.peerbook.save()


def parse_peer_address(address: str) -> PeerInfo:
    """A PeerInfo from a multiaddr that ends in /p2p/<peer id>, or AddressError."""
    text = address.strip()
    try:
        addr = multiaddr.Multiaddr(text)
    except Exception as exc:  # multiaddr raises several error types
        raise AddressError(f"{text!r} is not a valid multiaddr: {exc}") from exc
    try:
        return info_from_p2p_addr(addr)
    except Exception as exc:  # no /p2p/ part, or a malformed peer ID
        raise AddressError(f"{text!r} does not end in /p2p/<peer id>") from exc
