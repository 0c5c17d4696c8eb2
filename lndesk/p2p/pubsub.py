"""py-libp2p's GossipSub and Pubsub, tuned for lndesk's topics (used by ``lndesk.p2p.gossip``).

What is changed from py-libp2p 0.8.1's GossipSub and Pubsub defaults, and why:

* Heartbeat every second (default 120 s) while there is something to do. The heartbeat
  grafts peers into a topic's mesh, emits IHAVE gossip and ages the message cache; at
  120 s a new follower waits minutes for a mesh and lost messages are never gossiped
  about. The "adaptive gossip" feature is switched off because it resets the heartbeat
  to 30-60 s or more. A heartbeat that found nothing to do (no GRAFT, PRUNE or IHAVE to
  send, an empty message cache, no fanout) is followed by the next one only after
  ``IDLE_HEARTBEAT_SECONDS``, or a second after anything that could give it work (a
  message published or relayed, a peer added or removed, a GRAFT or PRUNE received, a
  topic joined or left, a peer's subscriptions changed). Each heartbeat walks every
  peer of every mesh topic: a hub holding 200 followers spent a quarter of its idle
  time on heartbeats that did nothing.
* Peer scoring is off (py-libp2p's ``PeerScorer`` is removed from the router; the
  library checks for its absence everywhere). lndesk penalises a peer only for what
  docs/protocol.md names (``lndesk.p2p.guard``); the scores were never read by lndesk,
  and computing them (decay at every heartbeat, a score per mesh peer, opportunistic
  grafting's search over every peer on a topic) was most of a heartbeat's cost. The
  forwarding rate limit does not depend on it and stays.
* Our own publishes are never rate limited. Spam protection counts messages per
  forwarding peer and topic (default 10/s) and counts our own publishes too, so a
  burst of posts or re-announcements after a sync was silently dropped. Other peers
  keep a cap (``FORWARD_RATE``), set well above what a person can write.
* Bigger queues: each peer's outbound RPC queue and each topic's delivery queue
  (both 32 by default, and both drop silently when full) hold ``OUTBOUND_QUEUE``
  (``lndesk.p2p.gossip_streams``) and ``DELIVERY_QUEUE`` messages. A full queue is
  logged; anti-entropy sync repairs it.
* Flood publish for our own messages (as go-libp2p does by default): they go to every
  peer subscribed to the topic, so a post written right after connecting does not wait
  for the next heartbeat to build a mesh.
* Mesh degree 4 (low 2, high 8) instead of the test values callers usually pass: the
  network is tens of desktops and a feed has a few followers online at once. The high
  mark is ``Limits.mesh_high``: an always-on node keeps every peer that grafts it, as
  pruning the followers of a hub only had them graft again a minute later.
* A peer may subscribe to two topics per ``Limits.want_feeds`` (py-libp2p allows 100),
  since everyone subscribes to a feed topic and an inbox topic per followed feed.
* IP-diversity ("eclipse") protection is off: peers on one LAN or behind one NAT share
  an address, so it can never be satisfied and only adds grafts.
* The message id (``lndesk.p2p.gossip_ids``) is the announced entry's id (BLAKE2b-256
  of the entry bytes), so one head announced by several peers is delivered once per
  node; an inbox notice's is
  ``01`` followed by a hash of the addressed key and the entry id, so the same entry
  sent to two inboxes, or also announced on its author's feed topic, is never dropped
  as a duplicate. Validation results are not cached by message id: an invalid message
  that reuses a good entry's id (wrong topic, wrong payload) must not get the good
  announcement rejected. Only valid messages are remembered as seen (for ``SEEN_TTL``
  seconds).
* Valid messages are handed to one ``deliver`` callback instead of Pubsub's
  per-subscription queues.
* No signed peer record rides on our RPCs (py-libp2p 0.8.1 attaches one to every RPC
  and the receiver verifies and stores it, a fifth of a relay's CPU per post). Identify
  already tells a peer our addresses; a record an older peer still sends is accepted.
  A message published or relayed is queued without building one, and as one RPC for
  all its next hops rather than a copy each (``lndesk.p2p.gossip_relay``). py-libp2p
  still builds the record for its control messages, from the host's ``get_addrs``
  (about 0.2 ms); Pubsub sees the host through
  ``lndesk.p2p.gossip_streams.RecordlessHost``, which answers that from the record it
  already has.
* Opening a connected peer's gossip stream is retried whatever made it fail (py-libp2p
  gives up after anything but a few exception types, and a hub busy with many new
  followers at once left some of them never subscribed).
* Writes are coalesced per peer: every RPC queued for a peer when its sender wakes goes
  out in one stream write (one yamux frame, one Noise message, one syscall). A yamux
  write longer than the send window goes out in several frames and lets other tasks
  run between them, so every write on a gossip stream (the sender's and the control
  messages py-libp2p writes directly) holds that stream's lock: without it a control
  message could land inside a coalesced write and the receiver could not decode it
  (``lndesk.p2p.gossip_streams.WriteLock``: a free lock costs no checkpoint).
* A received message is written on to the next hops before it is stored: HeadGossip
  waits (``DeliveringPubsub.wait_relayed``, at most ``lndesk.p2p.gossip.RELAY_WAIT``)
  until the senders of the peers the router queued it for have written it. A peer whose
  sender is still in an earlier write when the message is queued is not waited for: a
  peer that stops reading stalls its writes, and must not slow a topic down for others.
* IDONTWANT (GossipSub 1.2) only for messages over ``IDONTWANT_THRESHOLD`` bytes, as
  go-libp2p does, and never for our own publishes nor back to the peer that sent the
  message: below that size the control message costs its receiver about what the
  duplicate it prevents would.
* A peer's stream is read in chunks of up to ``READ_AHEAD`` bytes (``ReadAhead`` in
  ``lndesk.p2p.gossip_streams``), and its RPCs are cut from them: py-libp2p reads each
  RPC's length prefix a byte at a time and then its body, three or more reads through
  yamux's locks (each a trip through the scheduler) for every RPC. The size limit on
  an RPC is still checked on its length prefix, before its body is read. A gossip
  stream's reads and the senders' writes take no trip through the scheduler for locks
  that are free (``lndesk.p2p.gossip_io``).
* A received message is validated, relayed and delivered in its peer's reader task:
  py-libp2p starts a task for each (its service's bookkeeping, one more trip through
  the scheduler). Nothing on that path waits for a peer: relays and control messages
  (IDONTWANT) go through the senders' queues. The reader lets other tasks run after
  every ``PACE`` messages or subscriptions (``lndesk.p2p.gossip_streams``), also inside
  one RPC: each new subscription starts three tasks of py-libp2p's, and 10,000 in one
  RPC, none of them let run, held a node for 450 s (2 s when they run as they come).
* A message is pushed (checked, marked seen, delivered, relayed) by
  ``lndesk.p2p.gossip_push``, which computes its id once and does each of
  ``Pubsub.push_msg``'s checks once. Our own publish is signed but its signature is not
  checked again: py-libp2p hands it to the same ``push_msg`` as a received message,
  which verifies it. A received message's signature is checked with its sender's key
  found once per sender (``lndesk.p2p.gossip_signature``), not decoded again for every
  message.
* A peer's control messages (IHAVE, IWANT, GRAFT, PRUNE, IDONTWANT) are bounded and
  handled as a whole per RPC (``lndesk.p2p.gossip_control``), and the router's message
  cache keys by our message ids (``lndesk.p2p.gossip_ids.IdCache``), so IHAVE offers
  what IWANT can ask for.
* An RPC that does not decode, or anything else py-libp2p raises while reading one
  peer's stream (0.8.1 lets protobuf's ``DecodeError`` out, which stopped the host),
  ends only that peer's stream: it is reset, the peer is dropped from Pubsub's records
  and, when its bytes do not decode, reported to ``on_malformed`` (``lndesk.p2p.guard``).
  A failure while relaying one received message is logged and the message dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any, cast

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.io.exceptions import IOException, MessageTooLarge
from libp2p.network.connection.exceptions import RawConnError
from libp2p.network.stream.exceptions import StreamEOF, StreamError
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.utils import maybe_consume_signed_record

from lndesk.p2p.config import Limits
from lndesk.p2p.gossip_control import handle_control
from lndesk.p2p.gossip_ids import IdCache, message_id
from lndesk.p2p.gossip_push import Deliver, PushingPubsub
from lndesk.p2p.gossip_relay import RelayingGossipSub
from lndesk.p2p.gossip_signature import install as install_signature_check
from lndesk.p2p.gossip_streams import BigQueues, Pace, ReadAhead, RecordlessHost
from lndesk.p2p.guard import OnMalformed, stream_failed

logger = logging.getLogger(__name__)
install_signature_check()

HEARTBEAT_SECONDS = 1
IDLE_HEARTBEAT_SECONDS = 10.0
"""Longest wait between heartbeats while the last one found nothing to do."""
DELIVERY_QUEUE = 1024
FORWARD_RATE = 100.0
"""Messages per second one peer may forward to us on one topic before we stop relaying."""
SEEN_TTL = 120
IDONTWANT_THRESHOLD = 1024
"""Smallest message, in bytes, whose receipt is answered with IDONTWANT (go-libp2p's)."""
REGISTER_RETRY_SECONDS, REGISTER_RETRY_MAX_SECONDS = 0.5, 10.0
"""Back-off between attempts to open a connected peer's gossip stream."""
DEGREE, DEGREE_LOW = 4, 2
_MAX_SUBSCRIPTIONS_PER_RPC = 5000


def build_pubsub(
    host: IHost, limits: Limits, deliver: Deliver, on_malformed: OnMalformed
) -> tuple[DeliveringPubsub, TunedGossipSub]:
    """A Pubsub and its GossipSub router, tuned as the module docstring says; run both
    as services. Valid messages go to ``deliver``; a peer whose RPC does not decode is
    reported to ``on_malformed``."""
    router = TunedGossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=DEGREE,
        degree_low=DEGREE_LOW,
        degree_high=max(DEGREE, limits.mesh_high),
        heartbeat_interval=HEARTBEAT_SECONDS,
        adaptive_gossip_enabled=False,
        max_messages_per_topic_per_second=FORWARD_RATE,
        eclipse_protection_enabled=False,
    )
    # A feed topic and an inbox topic per followed feed, and this node's own two.
    subscriptions = 2 * max(limits.want_feeds, 1)
    pubsub = DeliveringPubsub(
        cast(IHost, RecordlessHost(host)),
        router,
        deliver,
        on_malformed,
        seen_ttl=SEEN_TTL,
        msg_id_constructor=message_id,
        strict_signing=True,  # every message signed and checked (protocol.md 21.6)
        max_subscriptions_per_peer=subscriptions,
        max_subscriptions_per_rpc=max(subscriptions, _MAX_SUBSCRIPTIONS_PER_RPC),
    )
    return pubsub, router


class TunedGossipSub(RelayingGossipSub):
    """GossipSub that never rate-limits this node's own publishes and floods them, sends
    IDONTWANT only where it saves something, scores no peers and slows its heartbeat
    while it has nothing to do (module docstring)."""

    _relaying: tuple[ID, rpc_pb2.Message] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.scorer = None
        self.mcache = IdCache(self.mcache.window_size, self.mcache.history_size)
        self._work = trio.Event()
        """Set when something happened that a heartbeat may have to act on."""
        self.heartbeats = 0
        """Heartbeats run so far."""
        self._beat = trio.Event()
        """Set when a heartbeat has run (then replaced)."""

    def wake(self) -> None:
        """Something changed that the next heartbeat may have to act on: it comes within
        ``heartbeat_interval`` instead of ``IDLE_HEARTBEAT_SECONDS``."""
        self._work.set()

    async def wait_heartbeats(self, count: int) -> None:
        """Return once ``count`` heartbeats have run."""
        while self.heartbeats < count:
            await self._beat.wait()

    async def heartbeat(self) -> None:
        """GossipSub's heartbeat loop (py-libp2p's ``GossipSub.heartbeat``, with the
        steps that do nothing in this configuration left out: eclipse protection,
        adaptive gossip, peer scoring and the score-driven mesh upkeep are off), waiting
        up to ``IDLE_HEARTBEAT_SECONDS`` after a heartbeat that found nothing to do."""
        await trio.sleep(self.heartbeat_initial_delay)
        while True:
            self._work = trio.Event()
            idle = await self.heartbeat_once()
            self._beat.set()
            self._beat = trio.Event()
            await trio.sleep(self.heartbeat_interval)
            if idle:
                with trio.move_on_after(IDLE_HEARTBEAT_SECONDS - self.heartbeat_interval):
                    await self._work.wait()

    async def heartbeat_once(self) -> bool:
        """One heartbeat; whether it found nothing to do (and the next may wait)."""
        self.heartbeats += 1
        peers_to_graft, peers_to_prune = self.mesh_heartbeat()
        self.fanout_heartbeat()
        peers_to_gossip = self.gossip_heartbeat()
        await self._emit_control_msgs(peers_to_graft, peers_to_prune, peers_to_gossip)
        self.mcache.shift()
        self._periodic_security_cleanup()
        self._prune_idontwant_entries()
        return not (
            peers_to_graft or peers_to_prune or peers_to_gossip or self.mcache.msgs or self.fanout
        )

    def add_peer(self, peer_id: ID, protocol_id: TProtocol | None) -> None:
        super().add_peer(peer_id, protocol_id)
        self.wake()

    def remove_peer(self, peer_id: ID) -> None:
        super().remove_peer(peer_id)
        self.wake()

    async def join(self, topic: str) -> None:
        await super().join(topic)
        self.wake()

    async def leave(self, topic: str) -> None:
        await super().leave(topic)
        self.wake()

    async def handle_graft(self, graft_msg: rpc_pb2.ControlGraft, sender_peer_id: ID) -> None:
        await super().handle_graft(graft_msg, sender_peer_id)
        self.wake()

    async def handle_prune(self, prune_msg: rpc_pb2.ControlPrune, sender_peer_id: ID) -> None:
        await super().handle_prune(prune_msg, sender_peer_id)
        self.wake()

    async def publish(self, msg_forwarder: ID, pubsub_msg: rpc_pb2.Message) -> None:
        # Read by _emit_idontwant_for_message, which publish awaits before its first
        # checkpoint, so no other publish can interleave.
        self._relaying = (msg_forwarder, pubsub_msg)
        self.wake()
        await super().publish(msg_forwarder, pubsub_msg)

    async def _emit_idontwant_for_message(self, msg_id: bytes, topic_ids: Iterable[str]) -> None:
        relaying, self._relaying = self._relaying, None
        pubsub = self.pubsub
        if pubsub is None or relaying is None:
            return
        forwarder, msg = relaying
        if forwarder == pubsub.my_id or msg.ByteSize() < IDONTWANT_THRESHOLD:
            return
        peers = {peer for topic in topic_ids for peer in self.mesh.get(topic, ())}
        peers.discard(forwarder)
        for peer in peers:
            if self.peer_protocol.get(peer) == PROTOCOL_ID_V12:
                await self.emit_idontwant([msg_id], peer)

    def send_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, priority: bool = False) -> None:
        super().send_rpc(peer_id, rpc, priority)
        if rpc.publish and isinstance(self.pubsub, PushingPubsub):
            self.pubsub._queued(peer_id, rpc)

    def _check_spam_protection(self, peer_id: ID, msg: rpc_pb2.Message) -> bool:
        if self.pubsub is not None and peer_id == self.pubsub.my_id:
            return True
        return bool(super()._check_spam_protection(peer_id, msg))

    def _get_peers_to_send(
        self,
        topic_ids: Iterable[str],
        msg_forwarder: ID,
        origin: ID,
        msg_id: bytes | None = None,
    ) -> Iterable[ID]:
        topics = list(topic_ids)
        peers = set(super()._get_peers_to_send(topics, msg_forwarder, origin, msg_id))
        if self.pubsub is not None and origin == self.pubsub.my_id:
            # Flood publish (go-libp2p's default): our own announcement goes to every
            # peer on the topic, not only the mesh, which is empty until the next
            # heartbeat grafts one after a connection.
            for topic in topics:
                peers.update(self.pubsub.peer_topics.get(topic, ()))
            peers.discard(origin)
        return peers


class DeliveringPubsub(PushingPubsub):
    """Pubsub that hands valid messages to ``deliver`` instead of its own queues.

    It is dedicated to lndesk's gossip: ``subscribe`` joins a topic but its subscription
    object never yields messages, so other protocols must not share this instance.
    """

    def __init__(
        self,
        host: IHost,
        router: GossipSub,
        deliver: Deliver,
        on_malformed: OnMalformed,
        **kwargs: Any,
    ) -> None:
        super().__init__(host, router, deliver, **kwargs)
        self.peer_queues = BigQueues()
        self._on_malformed = on_malformed
        self.subscriptions_changed = trio.Event()
        """Set (and replaced) whenever a peer joins or leaves a topic."""
        self._reading: dict[ID, set[INetStream]] = {}
        """Each peer's gossip streams to us that are being read."""
        self._keep_topics = False
        """Set while a dead peer is handled whose topics still hold (``_handle_dead_peer``)."""

    async def continuously_read_stream(self, stream: INetStream) -> None:
        """Read one peer's RPCs (``Pubsub.continuously_read_stream``, module docstring:
        read ahead, and each received message handled in this task, not one of its own).
        """
        peer_id = stream.muxed_conn.peer_id
        reader, pace = ReadAhead(stream), Pace()
        self._reading.setdefault(peer_id, set()).add(stream)
        try:
            while self.manager.is_running:
                data = await reader.read_rpc(self.max_inbound_rpc_size)
                rpc = rpc_pb2.RPC()
                rpc.ParseFromString(data)
                await self._handle_rpc(peer_id, rpc, pace)
        except MessageTooLarge as exc:
            logger.info("gossip RPC from %s over the size limit: %s", peer_id, exc)
            with contextlib.suppress(Exception):
                await stream.reset()
            self._stopped_reading(peer_id, stream)
            self._handle_dead_peer(peer_id)
        except (StreamEOF, StreamError, IOException, RawConnError) as exc:
            logger.debug("gossip stream from %s ended: %s", peer_id, exc)
        finally:
            self._stopped_reading(peer_id, stream)

    def _stopped_reading(self, peer_id: ID, stream: INetStream) -> None:
        """``stream``, one of ``peer_id``'s streams to us, is read no more."""
        streams = self._reading.get(peer_id)
        if streams is not None:
            streams.discard(stream)
            if not streams:
                del self._reading[peer_id]

    async def _handle_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, pace: Pace) -> None:
        """What ``Pubsub.continuously_read_stream`` does with one RPC, but a received
        message is pushed in this task: py-libp2p starts a task for each (its service's
        bookkeeping and a trip through the scheduler), and ``push_msg`` never waits for a
        peer (relays and control messages go through the senders' queues)."""
        if rpc.HasField("senderRecord") and not maybe_consume_signed_record(
            rpc, self.host, peer_id
        ):
            logger.debug("ignored an RPC from %s with an invalid peer record", peer_id)
            return
        for msg in rpc.publish:
            if self._is_subscribed_to_msg(msg) and self.manager.is_running:
                await self.push_msg(peer_id, msg)
            await pace.step()
        if rpc.subscriptions:
            if len(rpc.subscriptions) > self.max_subscriptions_per_rpc:
                logger.info("ignored %d subscriptions from %s", len(rpc.subscriptions), peer_id)
            else:
                for sub in rpc.subscriptions:
                    self.handle_subscription(peer_id, sub)
                    await pace.step()  # each new one starts tasks: let them run
        if rpc.HasField("control") and isinstance(self.router, GossipSub):
            await handle_control(self.router, rpc, peer_id, pace)  # bounded (its docstring)

    async def stream_handler(self, stream: INetStream) -> None:
        try:
            await super().stream_handler(stream)
        except Exception as exc:  # one peer's RPC: never the host's (module docstring)
            await stream_failed(stream, exc, self._on_malformed)
            self._handle_dead_peer(stream.muxed_conn.peer_id)

    async def _handle_new_peer_with_retry(self, peer_id: ID, timeout: float | None = None) -> None:
        # py-libp2p retries opening a peer's gossip stream only after a SwarmException
        # or StreamClosed; any other failure (a protocol negotiation that timed out on
        # a busy hub) ended the attempts, and that peer never heard of our topics.
        delay = REGISTER_RETRY_SECONDS
        while True:
            await super()._handle_new_peer_with_retry(peer_id, timeout)
            if peer_id in self.peers or not self._peer_is_connected(peer_id):
                return
            logger.debug("retrying the gossip stream to %s in %.1f s", peer_id, delay)
            await trio.sleep(delay)
            delay = min(2 * delay, REGISTER_RETRY_MAX_SECONDS)

    def get_hello_packet(self) -> rpc_pb2.RPC:
        packet = super().get_hello_packet()
        packet.ClearField("senderRecord")
        return packet

    async def write_msg(self, stream: INetStream, rpc_msg: rpc_pb2.RPC) -> bool:
        rpc_msg.ClearField("senderRecord")
        async with self._write_lock(stream):
            return bool(await super().write_msg(stream, rpc_msg))

    def handle_subscription(self, origin_id: ID, sub_message: rpc_pb2.RPC.SubOpts) -> None:
        super().handle_subscription(origin_id, sub_message)
        self._topics_changed()

    def _handle_dead_peer(self, peer_id: ID) -> None:
        # A peer's topics come on its stream to us, in its hello, and only there. When
        # just our stream to it failed (a write, or opening it on a busy node) while its
        # stream to us is still read, its topics still hold; py-libp2p forgot them, and
        # the peer, whose stream stayed up, never sent them again.
        self._keep_topics = peer_id in self._reading and self._peer_is_connected(peer_id)
        try:
            super()._handle_dead_peer(peer_id)
        finally:
            self._keep_topics = False

    def _forget_all_subscriptions(self, peer_id: ID) -> None:
        if self._keep_topics:
            self._replayed_recent_topics.pop(peer_id, None)  # replayed on the new stream
            return
        super()._forget_all_subscriptions(peer_id)
        self._topics_changed()

    def _topics_changed(self) -> None:
        if isinstance(self.router, TunedGossipSub):
            self.router.wake()
        self.subscriptions_changed.set()
        self.subscriptions_changed = trio.Event()
