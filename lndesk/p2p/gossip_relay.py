"""Relaying a validated gossip message to the next hops (``RelayingGossipSub``).

py-libp2p 0.8.1's ``GossipSub.publish``, which forwards every message this node
publishes or relays, also does per message what lndesk never needs:

* it builds the host's signed peer record and attaches it to the RPC, which the sender
  then strips (docs/protocol.md section 21.6: no record rides on our RPCs);
* ``send_rpc`` copies the RPC for every peer and runs it through the queue's splitter,
  though a message that fits the queue's size limit is never split and is sent as it is.

``RelayingGossipSub.publish`` does the rest exactly as py-libp2p does: spam and
equivocation checks, the message cache, IDONTWANT, peers chosen by
``_get_peers_to_send``, messages held for peers whose subscriptions have not come yet;
and it holds them for connected peers whose gossip stream is not up yet as well, keeping
them until the peer's subscriptions come (py-libp2p sent those nowhere, or dropped them
when our stream opened first, and replays to a new peer only its last few heartbeats'
messages: on a busy node a head relayed while a neighbour's streams were being set up
waited for the next sync round). While a topic's mesh is short of D, a relayed message
also goes to the peers the next heartbeat would graft (``_add_peers_to_graft``).
One RPC object is queued for every peer it goes to: nothing changes a queued RPC (the
sender only serialises it), and a peer with GRAFT or PRUNE waiting to be retried gets
its own copy, as before, to carry them.
"""

from __future__ import annotations

import logging
import time

from libp2p.peer.id import ID
from libp2p.pubsub.exceptions import NoPubsubAttached
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2

logger = logging.getLogger(__name__)


class RelayingGossipSub(GossipSub):
    """GossipSub whose ``publish`` queues one RPC, without a peer record, for every
    peer (module docstring)."""

    async def publish(self, msg_forwarder: ID, pubsub_msg: rpc_pb2.Message) -> None:
        """Forward a message this node published or validated (``GossipSub.publish``)."""
        pubsub = self.pubsub
        if pubsub is None:
            raise NoPubsubAttached
        if not self._check_spam_protection(msg_forwarder, pubsub_msg):
            logger.debug("message from %s over its forwarding rate: dropped", msg_forwarder)
            return
        if not self._check_equivocation(pubsub_msg):
            return
        self.mcache.put(pubsub_msg)
        msg_id = pubsub.get_message_id(pubsub_msg)
        topics = list(pubsub_msg.topicIDs)
        origin = ID(pubsub_msg.from_id)
        peers = set(self._get_peers_to_send(topics, msg_forwarder, origin, msg_id))
        self._add_peers_to_graft(peers, topics, (msg_forwarder, origin), msg_id)
        rpc = rpc_pb2.RPC(publish=[pubsub_msg])
        await self._emit_idontwant_for_message(msg_id, topics)
        await self._notify_observers(topics, msg_id)
        for peer_id in peers:
            if peer_id in pubsub.peers:
                self.send_rpc(peer_id, rpc)
        self._hold_for_unsubscribed(rpc, topics, (msg_forwarder, origin))
        now = time.time()
        for topic in topics:
            self.time_since_last_publish[topic] = int(now)
            self.recent_message_deliveries[topic].append(now)

    def _add_peers_to_graft(
        self, peers: set[ID], topics: list[str], skip: tuple[ID, ID], msg_id: bytes
    ) -> None:
        """Add to ``peers`` the topic's peers that the next heartbeat would graft, while a
        joined topic's mesh has fewer than D: as many as it lacks, never a peer in
        back-off or one that sent IDONTWANT for the message. GossipSub relays to the mesh
        only, and the heartbeat that grafts a peer sends IHAVE only to peers outside the
        mesh, so a peer grafted after a message passed (py-libp2p grafts a subscribing
        peer at once only when our stream to it is already up) never heard of it."""
        pubsub = self.pubsub
        assert pubsub is not None
        for topic in topics:
            mesh = self.mesh.get(topic)
            if mesh is None or len(mesh) >= self.degree:
                continue
            room = self.degree - len(mesh)
            for peer_id in pubsub.peer_topics.get(topic, ()):
                if room <= 0:
                    break
                if (
                    peer_id in mesh
                    or peer_id in peers
                    or peer_id in skip
                    or peer_id in self.direct_peers
                    or peer_id not in self.peer_protocol
                    or self._check_back_off(peer_id, topic)
                    or msg_id in self.dont_send_message_ids.get(peer_id, ())
                ):
                    continue
                peers.add(peer_id)
                room -= 1

    def send_rpc(self, peer_id: ID, rpc: rpc_pb2.RPC, priority: bool = False) -> None:
        """Queue ``rpc`` for ``peer_id``: as it is when it only publishes messages, fits
        the queue's size limit and no control message waits to ride along; else as
        ``GossipSub.send_rpc`` does (a copy, split to the limit, with the retried
        control)."""
        pubsub = self.pubsub
        queue = None if pubsub is None else pubsub.peer_queues.get(peer_id)
        if (
            queue is None
            or peer_id in self._pending_control
            or rpc.subscriptions
            or rpc.HasField("control")
            or rpc.ByteSize() > queue.max_message_size
        ):
            super().send_rpc(peer_id, rpc, priority)
            return
        if not queue.push(rpc, priority=priority):
            self._handle_dropped_rpc(peer_id, rpc, "queue_full")

    def _hold_for_unsubscribed(
        self, rpc: rpc_pb2.RPC, topics: list[str], skip: tuple[ID, ID]
    ) -> None:
        """Hold ``rpc`` for connected peers not yet identified or whose subscription to
        its topic has not come yet; py-libp2p sends it when they do (as its ``publish``)."""
        pubsub = self.pubsub
        assert pubsub is not None
        held: set[ID] = set()
        for topic in topics:
            for peer_id in pubsub.peer_topics.get(topic, ()):
                if (
                    peer_id not in skip
                    and peer_id not in self.peer_protocol
                    and peer_id not in self.direct_peers
                    and peer_id not in held
                ):
                    self._hold(peer_id, rpc)
                    held.add(peer_id)
            subscribed = pubsub.peer_topics.get(topic, ())
            for peer_id in pubsub.peers:
                if (
                    peer_id not in skip
                    and peer_id not in self.direct_peers
                    and peer_id not in held
                    and peer_id not in subscribed
                ):
                    self._hold(peer_id, rpc)
                    held.add(peer_id)
        connected = pubsub.host.get_network().connections
        for peer_id in connected.keys() - pubsub.peers.keys():
            if peer_id not in skip and peer_id not in self.direct_peers and peer_id not in held:
                self._hold(peer_id, rpc)
        for peer_id in self._pending_messages.keys() - connected.keys():
            del self._pending_messages[peer_id]  # gone before its streams came

    async def flush_pending_messages(self, peer_id: ID) -> None:
        """Send ``peer_id`` what was held for it on the topics it has subscribed to
        (``GossipSub.flush_pending_messages``), and keep the rest until its time to live:
        py-libp2p dropped it, but our stream to a peer can be up before the peer's
        subscriptions are read from its stream to us, and they are flushed again then."""
        self._prune_pending_messages(peer_id)
        pubsub = self.pubsub
        held = self._pending_messages.get(peer_id)
        if not held or pubsub is None or peer_id not in pubsub.peers:
            return
        topics = {topic for topic, peers in pubsub.peer_topics.items() if peer_id in peers}
        kept: list[tuple[float, rpc_pb2.RPC]] = []
        for stamp, rpc in held:
            wanted = [topic for msg in rpc.publish for topic in msg.topicIDs if topic in topics]
            if not wanted:
                kept.append((stamp, rpc))
            elif self.scorer is None or self.scorer.allow_publish(peer_id, wanted):
                self.send_rpc(peer_id, rpc)
        if kept:
            self._pending_messages[peer_id] = kept
        else:
            del self._pending_messages[peer_id]

    def _hold(self, peer_id: ID, rpc: rpc_pb2.RPC) -> None:
        """Hold ``rpc`` for ``peer_id``: at most ``_max_pending_messages_per_peer``, the
        oldest let go first, none older than ``_pending_messages_ttl``. Unlike py-libp2p's
        ``_prune_pending_messages``, the list is rebuilt only when its oldest has expired,
        not at every message: a peer that connects and never opens gossip would make each
        message cost a walk of everything held for it."""
        now = time.time()
        held = self._pending_messages[peer_id]
        if held and now - held[0][0] > self._pending_messages_ttl:
            held[:] = [
                (stamp, kept) for stamp, kept in held if now - stamp <= self._pending_messages_ttl
            ]
        if len(held) >= self._max_pending_messages_per_peer:
            del held[: len(held) - self._max_pending_messages_per_peer + 1]
        held.append((now, rpc))
        logger.debug("held a message for %s until its subscriptions come", peer_id)
