"""An lndesk node: one libp2p host running sync, head gossip, discovery and relay.

The node owns no state of its own beyond the network: entries live in the store it is
given (through :class:`~lndesk.p2p.ports.FeedSource`), and everything it observes is
reported to one event sink. All methods run on the node's trio thread; other threads
use :mod:`lndesk.app.runtime`.

What triggers a sync session with a peer:

* the connection opening (either side dialled);
* a head announcement above what this node holds, when the announcement cannot be
  stored directly (a gap, or a payload too big to carry);
* following a feed (every connected peer is asked for it);
* every ``resync_interval`` seconds (anti-entropy: repairs any lost announcement);
* :meth:`Node.sync_now`.

At most one outgoing session runs per peer; requests arriving meanwhile are merged
into the next one. Dialling, penalties and what is known of connected peers are
:mod:`lndesk.p2p.peering`'s.

Entries addressed to this node's owner, and entries that stored ones refer to, arrive
outside of followed feeds (:mod:`lndesk.p2p.inbox_delivery`): inbox notices on the inbox topics
of the owner and of the followed feeds; inbox catch-up with each peer when it connects
and with every anti-entropy round; and fetches of shared entries and reply parents.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import multiaddr
import trio
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from lndesk.batch import check_decoded
from lndesk.entry_refs import Ref
from lndesk.errors import ChainError, EntryError, ForkedFeedError, StoreError
from lndesk.p2p.admission import Admission
from lndesk.p2p.announce import head_payload
from lndesk.p2p.catchup import CATCHUP_PROTOCOL, CatchupClient, CatchupServer
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.discovery import Discovery
from lndesk.p2p.events import (
    AddressesChanged,
    EntriesStored,
    Event,
    EventSink,
    NodeStarted,
    NodeStopped,
    NodeWarning,
    PeerFound,
    PeerLost,
)
from lndesk.p2p.fetch import RefFetcher
from lndesk.p2p.forks import FORKS_PROTOCOL, ForkChecks, ForkSource
from lndesk.p2p.gossip import HeadAndNoticeGossip, HeadAnnouncement
from lndesk.p2p.guard import guard_streams
from lndesk.p2p.host import build_host, peer_id_of, public_key_of, serving
from lndesk.p2p.inbox_delivery import InboxDelivery, Items
from lndesk.p2p.inbox_notice import InboxNotice
from lndesk.p2p.ingest import ingest_reported
from lndesk.p2p.listen_port import fallback_message, listening_port, settle_port
from lndesk.p2p.liveness import Liveness
from lndesk.p2p.peerbook import PeerBook
from lndesk.p2p.peering import Peering, PeerStatus, parse_peer_address
from lndesk.p2p.ports import FeedSource
from lndesk.p2p.profiles import PROFILE_PROTOCOL, ProfileClient, ProfileServer
from lndesk.p2p.relay import Relay
from lndesk.p2p.scheduler import SyncScheduler, SyncSummary
from lndesk.p2p.sync import (
    DIGEST_PROTOCOL,
    PIPELINED_PROTOCOL,
    SYNC_PROTOCOL,
    SyncClient,
    SyncServer,
)
from lndesk.p2p.threads import (
    THREAD_MARKS_PROTOCOL,
    THREAD_PROTOCOL,
    ThreadFetcher,
    ThreadResult,
    ThreadServer,
)
from lndesk.p2p.visit import VISIT_PROTOCOL, Visits
from lndesk.p2p.watch import watch_connections

# Once defined here; the app and the CLI import parse_peer_address from here.
__all__ = ["Node", "PeerStatus", "parse_peer_address"]

logger = logging.getLogger(__name__)


THREAD_PEERS = 8
"""Most peers one thread fetch asks (docs/protocol.md 32.3)."""


_key_of = functools.lru_cache(maxsize=1024)(public_key_of)
"""``public_key_of`` for the peers that relay heads: a few, each relaying every post
(decoding a peer ID's key was a tenth of a relayed post's handling)."""


class Node:
    def __init__(
        self,
        seed: bytes,
        source: FeedSource,
        config: NodeConfig,
        *,
        events: EventSink,
        peerbook: Path | None = None,
    ) -> None:
        self.config = config
        self.source = source
        self.host = build_host(seed, config)
        self.peerbook = PeerBook(peerbook)
        self._sink = events
        self.admission = Admission(config.limits)
        self.sync_server = SyncServer(
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            key_of=_key_of,  # asked for every head heard (heard_head)
            admission=self.admission,
        )
        self.sync_client = SyncClient(
            self.host,
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            key_of=public_key_of,
            newest_first=config.newest_first,
            on_stored=self._on_stored,
        )
        self.gossip = HeadAndNoticeGossip(
            self.host,
            limits=config.limits,
            on_head=self._on_head,
            on_invalid=self._on_invalid,
            on_notice=self._on_notice,
            accepts=source.accepts,
        )
        self.catchup_server = CatchupServer(
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            admission=self.admission,
        )
        self.profile_server = ProfileServer(
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            admission=self.admission,
        )
        self.thread_server = ThreadServer(
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            admission=self.admission,
        )
        self.threads = ThreadFetcher(
            self.host,
            source,
            config.limits,
            events=self._emit,
            penalise=self.penalise,
            key_of=public_key_of,
        )
        self.forks = (
            ForkChecks(
                self.host,
                source,
                config.limits,
                emit=self._emit,
                penalise=self.penalise,
                is_penalised=self.is_penalised,
                key_of=public_key_of,
                admission=self.admission,
            )
            if isinstance(source, ForkSource)
            else None
        )
        self.inbox_delivery = InboxDelivery(
            source,
            self.gossip,
            RefFetcher(
                self.host,
                source,
                config.limits,
                events=self._emit,
                penalise=self.penalise,
                key_of=public_key_of,
            ),
            CatchupClient(self.host, config.limits, penalise=self.penalise),
            emit=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            key_of=public_key_of,
            peer_of=peer_id_of,
            connected=self.host.get_connected_peers,
            profiles=ProfileClient(self.host, config.limits, penalise=self.penalise),
        )
        self.discovery = Discovery(
            self.host,
            config,
            on_peer=self._on_peer_found,
            held_feeds=source.held_feeds,
            wanted_feeds=source.wanted_feeds,
        )
        self.relay = Relay(self.host, config)
        self._nursery: trio.Nursery | None = None
        self.scheduler = SyncScheduler(
            self.sync_client, emit=self._emit, reannounce=self._reannounce, key_of=public_key_of
        )
        self.peering = Peering(
            self.host,
            config,
            self.relay,
            self.peerbook,
            emit=self._emit,
            block=self.gossip.block,
            unblock=self.gossip.unblock,
            is_syncing=self.scheduler.is_syncing,
            follows=lambda key: key in set(source.wanted_feeds()),
        )
        self.visits = Visits(
            self.host,
            source,
            config.limits,
            sync=self.sync_client,
            sync_server=self.sync_server,
            scheduler=self.scheduler,
            inbox=self.inbox_delivery,
            forks=self.forks,
            emit=self._emit,
            penalise=self.penalise,
            is_penalised=self.is_penalised,
            key_of=public_key_of,
            admission=self.admission,
        )
        self.liveness = Liveness(self.host, config.liveness_interval, config.liveness_timeout)
        self.penalties = self.peering.penalties
        guard_streams(self.host, self.penalise)
        self._provided: set[bytes] = set()
        self._stop = trio.Event()
        self.started = trio.Event()
        self.port_note: str | None = None
        """Why the node listens on another port than configured (the default one was taken)."""

    # --- running -----------------------------------------------------------------

    @property
    def peer_id(self) -> str:
        return str(self.host.get_id())

    def addresses(self) -> list[str]:
        """Where peers can reach this node: direct addresses, then relayed ones."""
        return self.peering.addresses()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Run until :meth:`stop` or cancellation; ``task_status.started(self)`` once listening."""
        try:
            config, taken = settle_port(self.config)
            async with serving(self.host, config), trio.open_nursery() as nursery:
                self._nursery = nursery
                self.scheduler.attach(nursery)
                self.visits.attach(nursery)
                self.peering.attach(nursery)
                self.host.set_stream_handler(SYNC_PROTOCOL, self.sync_server.handle)
                self.host.set_stream_handler(PIPELINED_PROTOCOL, self.sync_server.handle_pipelined)
                self.host.set_stream_handler(DIGEST_PROTOCOL, self.sync_server.handle_digests)
                self.host.set_stream_handler(VISIT_PROTOCOL, self.visits.server.handle)
                self.host.set_stream_handler(CATCHUP_PROTOCOL, self.catchup_server.handle)
                self.host.set_stream_handler(PROFILE_PROTOCOL, self.profile_server.handle)
                self.host.set_stream_handler(THREAD_PROTOCOL, self.thread_server.handle)
                self.host.set_stream_handler(THREAD_MARKS_PROTOCOL, self.thread_server.handle_marks)
                if self.forks is not None:
                    self.forks.attach(nursery)
                    self.host.set_stream_handler(FORKS_PROTOCOL, self.forks.server.handle)
                watch_connections(self.host, self._on_connected, self._on_disconnected)
                await nursery.start(self.gossip.run)
                await nursery.start(self.inbox_delivery.run)
                for feed in self.source.wanted_feeds():
                    await self.gossip.follow(feed)
                    await self.gossip.watch_inbox(feed)
                await nursery.start(self.discovery.run)
                await nursery.start(self.relay.run)
                await nursery.start(self.liveness.run)
                await nursery.start(self.peering.redials.run)
                nursery.start_soon(self._resync_loop)
                nursery.start_soon(self.peering.save_loop)
                nursery.start_soon(self._watch_addresses, self.host.get_addrs())
                nursery.start_soon(self.peering.dial_known_peers)
                if taken is not None:
                    self.port_note = fallback_message(taken, listening_port(self.host))
                self._emit(NodeStarted(self.peer_id, tuple(self.addresses())))
                if self.port_note is not None:
                    self._emit(NodeWarning(self.port_note))
                self.started.set()
                task_status.started(self)
                await self._stop.wait()
                self.peering.save()  # while the connections, and what they told us, exist
                nursery.cancel_scope.cancel()
        finally:
            self._nursery = None
            self.scheduler.attach(None)
            self.visits.attach(None)
            if self.forks is not None:
                self.forks.attach(None)
            self.peering.attach(None)
            self.peerbook.save()
            self._emit(NodeStopped())

    def stop(self) -> None:
        self._stop.set()

    # --- peers -------------------------------------------------------------------

    async def connect(self, address: str) -> bytes | None:
        """Dial a peer by multiaddr (with /p2p/<id>); returns its lndesk key."""
        return await self.peering.connect(address)

    def peers(self) -> list[PeerStatus]:
        return self.peering.peers()

    async def ping(self, peer: ID, count: int = 3) -> float:
        """Ping a connected peer ``count`` times; the best round trip in milliseconds
        (also recorded as its latency, see :meth:`Peering.ping`)."""
        return await self.peering.ping(peer, count)

    def penalise(self, peer: Any, reason: str) -> None:
        """Refuse ``peer`` for a while: it is disconnected and its gossip ignored."""
        self.peering.penalise(peer, reason)

    def is_penalised(self, peer: Any) -> bool:
        return self.peering.is_penalised(peer)

    def _on_connected(self, peer: ID, address: str) -> None:
        if not self.peering.connected(peer, address):
            return
        self.discovery.add_peer(peer)
        self.visits.visit_soon(peer)  # sync, inbox catch-up and fork proofs
        self.peering.measure_latency_soon(peer)

    def _on_disconnected(self, peer: ID, _address: str) -> None:
        if peer in self.host.get_connected_peers():
            return
        self.inbox_delivery.forget(peer)
        self.scheduler.forget(peer)
        self.peering.lost(peer)
        key = public_key_of(peer)
        if key is not None:
            self._emit(PeerLost(key))

    def _on_peer_found(self, info: PeerInfo, source: str) -> None:
        self.peering.found(info, source)

    # --- sync --------------------------------------------------------------------

    def request_sync(self, peer: ID, feeds: Iterable[bytes] | None = None) -> None:
        """Ask ``peer`` for ``feeds`` (default: all wanted feeds) soon."""
        self.scheduler.request(peer, feeds)

    def check_holders(self, feed: bytes) -> None:
        """Ask every connected peer how far it holds ``feed`` (their answers arrive as
        FeedSynced events); after a publish this tells who has received it."""
        for peer in self.host.get_connected_peers():
            self.sync_client.ask_heights_next(peer)  # a digest's same tells no height
            self.request_sync(peer, [feed])

    async def _reannounce(self, feed: bytes) -> None:
        """Tell the feed's topic about the head just fetched, so others pull it from us."""
        held = self.source.held(feed)
        if held.height == 0:
            return
        run = self.source.read_run(feed, held.height, held.height, 1, 1 << 20)
        if not run:
            return
        _, entry, payload = run[0]
        await self.announce(entry, payload)

    async def sync_now(self, timeout: float = 120.0) -> SyncSummary:
        """Sync with every connected peer and wait until every session has ended; also
        ask each for entries addressed to this node (they are not counted in the summary)."""
        start = trio.current_time()
        peers = self.host.get_connected_peers()
        for peer in peers:
            self.inbox_delivery.catch_up_soon(peer)
        summary = await self.scheduler.run_round(peers, timeout)
        await self.inbox_delivery.wait_idle(max(0.0, timeout - (trio.current_time() - start)))
        return summary

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until at least one peer is connected; False if none came within ``timeout``."""
        with trio.move_on_after(timeout):
            await self.peering.first_connection.wait()
        return bool(self.host.get_connected_peers())

    async def wait_synced(self, timeout: float = 120.0) -> None:
        """Wait until no sync session is running (or ``timeout``)."""
        await self.scheduler.wait_idle(timeout)

    async def _resync_loop(self) -> None:
        """Anti-entropy: each connected peer once per ``resync_interval``, spread over it
        (a node with 200 followers started 600 sessions in the same instant)."""
        while True:
            peers = self.host.get_connected_peers()
            gap = self.config.resync_interval / max(1, len(peers))
            if not peers:
                await trio.sleep(gap)
            for peer in peers:
                await trio.sleep(gap)
                if peer in self.host.get_connected_peers():
                    self.visits.periodic_round(peer)  # paced when calm (20.16)

    async def _watch_addresses(self, at_start: list[multiaddr.Multiaddr]) -> None:
        """Notice a new network (another Wi-Fi, a VPN, a cable) and advertise it.

        The listener on 0.0.0.0 keeps working, but the addresses shown to the user, sent
        by mDNS and stored in DHT provider records are the interfaces of the moment.
        """
        last = [str(a) for a in at_start]
        while True:
            await trio.sleep(self.config.address_check_interval)
            now = [str(a) for a in self.host.get_addrs()]
            if now != last:
                logger.info("addresses changed: %s", now)
                last = now
                self._emit(AddressesChanged(tuple(self.addresses())))
                self.discovery.addresses_changed()

    # --- feeds and gossip --------------------------------------------------------

    async def follow(self, feed: bytes) -> None:
        """Start receiving ``feed``: subscribe to its heads and its inbox (to relay and
        keep what is addressed to its author), ask peers and the DHT for it."""
        await self.gossip.follow(feed)
        await self.gossip.watch_inbox(feed)
        for peer in self.host.get_connected_peers():
            self.request_sync(peer, [feed])
        if self._nursery is not None:
            self._nursery.start_soon(self._find_providers, feed)

    async def unfollow(self, feed: bytes) -> None:
        await self.gossip.unfollow(feed)
        if feed != self.source.own_key():
            await self.gossip.unwatch_inbox(feed)

    async def _find_providers(self, feed: bytes) -> None:
        try:
            providers = await self.discovery.find_providers(feed)
        except Exception as exc:  # the DHT is best effort
            logger.info("provider lookup failed: %s", exc)
            return
        for info in providers:
            if info.peer_id in self.host.get_connected_peers():
                key = public_key_of(info.peer_id)
                if key is not None:
                    self._emit(PeerFound(key, "dht"))
                self.request_sync(info.peer_id, [feed])
            else:
                self.peering.found(info, "dht")

    async def announce(self, entry: bytes, payload: bytes | None) -> None:
        """Announce a head on its author's topic (best effort: sync carries it anyway).

        The payload travels along only when it is small (``Limits.gossip_payload``).
        """
        try:
            await self.gossip.announce(entry, payload)
        except Exception as exc:  # offline or no topic peers yet
            logger.info("could not announce a head: %s", exc)
        self._provide_soon(self.source.own_key())

    async def _on_head(self, peer: ID, head: HeadAnnouncement) -> None:
        if self.is_penalised(peer) or not self.source.wants(head.author):  # not listing all
            return
        author, entry = head.author, head.entry
        self.sync_server.heard_head(peer, author, entry.seq)  # its author holds it (20.15)
        held = self.source.held(author)
        if held.forked_at is not None:
            return
        payload = head_payload(head)
        # A held head may fill a hole (lndesk.p2p.holes): its payload, or else a sync.
        fills = (
            payload is not None
            and entry.seq <= held.max_seq  # a new head is no hole: no query for it
            and bool(self.source.payload_holes(author, entry.seq, entry.seq, 1))
        )
        if entry.seq <= held.height and not fills:
            if self.source.payload_holes(author, 1, entry.seq, 1):
                self.request_sync(peer, [author])
            return
        if payload is not None and (fills or entry.seq == held.height + 1):
            try:
                items = check_decoded(author, [(entry, payload)])  # verified on arrival
                key = _key_of(peer)
                outcome = ingest_reported(
                    self.source, self._emit, author, items, via="gossip", peer=key, before=held
                )
            except ForkedFeedError:
                return
            except ChainError:
                # Signed by the author but not linking to ours: a fork, or we hold a
                # stale branch. Sync asks the forwarder for the proof.
                self.request_sync(peer, [author])
                return
            except EntryError as exc:
                self.penalise(peer, f"gossip: {exc}")
                return
            except StoreError as exc:  # our disk, not the peer: say so, sync retries later
                self.warn(f"Could not store a new post: {exc}")
                return
            if outcome.stored or outcome.filled:
                self.inbox_delivery.note_stored(peer, author, items)
                return
        self.request_sync(peer, [author])

    def _on_invalid(self, peer: ID, reason: str) -> None:
        self.penalise(peer, f"gossip: {reason}")

    # --- inboxes and referenced entries -----------------------------------------------

    async def send_notices(self, entry: bytes, payload: bytes | None) -> int:
        """Send an inbox notice of an entry just published to every person it addresses
        (replied to, shared, mentioned); returns how many were sent. Best effort: what
        nobody hears now reaches them by inbox catch-up."""
        return await self.inbox_delivery.send_notices(entry, payload)

    async def fetch_refs(self, refs: Sequence[Ref], peer: bytes | None = None) -> int:
        """Fetch the referenced entries ``(author, seq, id)`` that are not stored, from the
        node of ``peer`` (an lndesk key) or else from connected peers; returns how many
        were stored (reported as ``EntriesStored`` with ``via="fetch"``). An entry whose
        id is not the referenced one is not stored; blocked authors are skipped."""
        return await self.inbox_delivery.fetch_refs(
            refs, None if peer is None else peer_id_of(peer)
        )

    async def fetch_thread(self, root: Ref, peer: bytes | None = None) -> ThreadResult:
        """Ask peers which replies they show under ``root`` (docs/protocol.md 32) and
        which marks its author made, and fetch those not held: the node of ``peer`` (an
        lndesk key) if given, else the root author's node if connected, then the other
        connected peers, at most ``THREAD_PEERS`` in all. Stored replies and marks are
        reported as ``EntriesStored`` with ``via="thread"``."""
        connected = list(self.host.get_connected_peers())
        if peer is not None:
            order = [peer_id_of(peer)]
        else:
            author = peer_id_of(root.author)
            order = [author] if author in connected else []
            order += connected
        peers = [p for p in dict.fromkeys(order) if not self.is_penalised(p)][:THREAD_PEERS]
        return await self.threads.fetch(peers, root)

    async def _on_notice(self, peer: ID, notice: InboxNotice) -> None:
        await self.inbox_delivery.on_notice(peer, notice)

    def _on_stored(self, peer: ID, feed: bytes, items: Items) -> None:
        self.inbox_delivery.note_stored(peer, feed, items)

    # --- events ------------------------------------------------------------------

    def _provide_soon(self, feed: bytes) -> None:
        """Announce in the DHT, once per run, a feed this node has just started to hold."""
        if feed in self._provided or self._nursery is None:
            return
        self._provided.add(feed)
        self._nursery.start_soon(self._provide, feed)

    async def _provide(self, feed: bytes) -> None:
        try:
            await self.discovery.provide([feed])
        except Exception as exc:  # the DHT is best effort; the periodic round retries
            logger.info("could not announce a feed in the DHT: %s", exc)

    def _emit(self, event: Event) -> None:
        if isinstance(event, EntriesStored):
            if self.source.serves(event.feed):
                self._provide_soon(event.feed)
            self.scheduler.note(event)
        try:
            self._sink(event)
        except Exception:  # a listener's bug must not stop the node
            logger.exception("an event listener failed on %s", type(event).__name__)

    def warn(self, message: str) -> None:
        self._emit(NodeWarning(message))
