"""A gossip message's way through this node: checked, marked seen, handed on and relayed
(``PushingPubsub``, the base of ``lndesk.p2p.pubsub.DeliveringPubsub``).

py-libp2p 0.8.1's ``Pubsub.push_msg`` computes a received message's id three times (seen
check, seen mark, and once more for each of the router's message cache, its IDONTWANT
and every queue it goes to), asks the host for this node's peer ID at every turn, and
consults the scorer that lndesk removed (``lndesk.p2p.pubsub``) four times. For every
message from another node ``PushingPubsub`` does the same checks in the same order,
each once:

1. neither the forwarder nor the origin (``from``) is blacklisted;
2. the message id (``lndesk.p2p.gossip_ids``) is not seen (a duplicate is dropped);
3. libp2p's message signature verifies (StrictSign, checked by
   ``lndesk.p2p.gossip_signature``; docs/protocol.md 21.6 says why the check stays
   although the entry is signed);
4. the topic's validator accepts it (``validate_msg``);
5. it is marked seen, and dropped if it claims to come from this node;
6. it is handed to ``deliver`` with the ``Relay`` that tells where it was queued, and
   the router relays it to the next hops.

Its id is computed once and remembered with the message while it is pushed
(``get_message_id``). This node's own publish is not checked again: a head already
seen is not sent again, anything else goes to ``deliver`` and the router. With a
scorer on the router, ``Pubsub.push_msg`` runs as it is.

Each peer's sender writes everything queued for it when it wakes in one stream write,
and counts what it has written, so that ``wait_relayed`` knows when a relayed message
is out (docs/protocol.md 21.6, "Relay, then store").
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import libp2p.pubsub.pubsub
import trio
from libp2p.abc import IHost, INetStream
from libp2p.exceptions import ValidationError
from libp2p.network.stream.exceptions import StreamClosed, StreamReset
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue

from lndesk.p2p.gossip_io import write_quickly
from lndesk.p2p.gossip_streams import Relay, WriteLock, frame

logger = logging.getLogger(__name__)

COALESCE_BYTES = 64 * 1024
"""A peer's queued RPCs are joined into writes of about this many bytes."""

Deliver = Callable[[rpc_pb2.Message, Relay | None], None]


class PushingPubsub(Pubsub):
    """Pubsub whose messages are pushed as the module docstring says, and whose senders
    coalesce writes and report them (``wait_relayed``). Valid messages of other nodes
    go to ``deliver``."""

    def __init__(self, host: IHost, router: GossipSub, deliver: Deliver, **kwargs: Any) -> None:
        self._my_id = host.get_id()
        super().__init__(host, router, **kwargs)
        self._deliver = deliver
        self._pushing: tuple[rpc_pb2.Message, bytes] | None = None
        """The message being pushed and its id (``get_message_id``)."""
        self._sent: dict[RpcQueue, list[int]] = {}
        """For each peer's queue: [RPCs its sender has taken from it, RPCs written]."""
        self._relays: dict[bytes, Relay] = {}
        """Received messages being delivered and relayed, by message id."""
        self._wrote = trio.Event()
        """Set (and replaced) whenever a sender has finished a write."""
        self._write_lock = WriteLock.of
        """The lock every write on a stream holds, so writes never interleave."""

    @property
    def my_id(self) -> ID:
        """This node's peer ID (py-libp2p asks the host every time)."""
        return self._my_id

    def get_message_id(self, msg: rpc_pb2.Message) -> bytes:
        pushing = self._pushing
        if pushing is not None and pushing[0] is msg:
            return pushing[1]
        return self._msg_id_constructor(msg)

    async def wait_relayed(self, relay: Relay, limit: float) -> None:
        """Wait (at most ``limit`` seconds) until the router has queued a received
        message and the senders it was queued for have written it. HeadGossip calls this
        before it hands the message on, so it is relayed before it is stored. Peers it
        was not queued for, and a peer whose sender was stuck in an earlier write, are
        not waited for: one stalled peer must not slow a topic down."""
        if relay.queued.is_set() and not any(
            self._unsent(queue, needed) for queue, needed in relay.targets
        ):
            return  # written already: no trip through the scheduler
        with trio.move_on_after(limit) as scope:
            if not relay.queued.is_set():  # a set Event's wait still checkpoints
                await relay.queued.wait()
            while any(self._unsent(queue, needed) for queue, needed in relay.targets):
                await self._wrote.wait()
        if scope.cancelled_caught:
            logger.debug("a relayed message was not written within %.3f s", limit)

    def _unsent(self, queue: RpcQueue, needed: int) -> bool:
        counts = self._sent.get(queue)
        return counts is not None and counts[1] < needed

    def _queued(self, peer_id: ID, rpc: rpc_pb2.RPC) -> None:
        """The router queued ``rpc`` for ``peer_id``: note where, for the relays it holds."""
        if not self._relays:
            return
        queue = self.peer_queues.get(peer_id)
        counts = None if queue is None else self._sent.get(queue)
        if queue is None or counts is None or counts[0] > counts[1]:
            return  # no sender, or one still writing an earlier RPC: not waited for
        for msg in rpc.publish:
            relay = self._relays.get(self.get_message_id(msg))
            if relay is not None:
                relay.targets.append((queue, counts[0] + len(queue)))

    async def handle_sending_messages(
        self, peer_id: ID, stream: INetStream, queue: RpcQueue
    ) -> None:
        """One peer's sender: everything queued when it wakes goes in one write."""
        counts = self._sent[queue] = [0, 0]
        try:
            while True:
                rpc = await queue.pop()
                if rpc is None:
                    return  # the peer left
                frames = [frame(rpc)]
                size = len(frames[0])
                while size < COALESCE_BYTES and len(queue):
                    more = await queue.pop()  # returns at once: the queue is not empty
                    if more is None:
                        break
                    frames.append(frame(more))
                    size += len(frames[-1])
                counts[0] += len(frames)
                try:
                    async with self._write_lock(stream):
                        await write_quickly(stream, b"".join(frames))
                except (StreamClosed, StreamReset):
                    logger.debug("gossip stream to %s closed", peer_id)
                    self._handle_dead_peer(peer_id)
                    return
                counts[1] = counts[0]
                self._wrote.set()
                self._wrote = trio.Event()
        except Exception:  # one peer's stream; Pubsub's own loop ends the same way
            logger.debug("gossip sender for %s failed", peer_id, exc_info=True)
            self._handle_dead_peer(peer_id)
        finally:
            del self._sent[queue]
            self._wrote.set()  # nobody waits for this peer any more
            self._wrote = trio.Event()

    async def push_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        # Runs in a peer's reader, or a task of Pubsub's service: one exception would
        # end either.
        try:
            if getattr(self.router, "scorer", None) is not None:
                await super().push_msg(msg_forwarder, msg)  # py-libp2p's, with its gates
            elif msg_forwarder == self._my_id:
                await self._push_own(msg)
            else:
                await self._push_received(msg_forwarder, msg)
        except Exception:  # one message, dropped; anti-entropy sync repairs the loss
            logger.exception("could not relay a gossip message from %s", msg_forwarder)
        finally:
            self._pushing = None

    async def _push_received(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        """The checks of the module docstring, then delivery and the relay, noting where
        the router queues the message (``Relay``)."""
        if self.is_peer_blacklisted(msg_forwarder):
            return
        origin = ID(msg.from_id)
        if self.is_peer_blacklisted(origin):
            return
        key = self._msg_id_constructor(msg)
        if self.seen_messages.has(key):
            return
        self._pushing = (msg, key)
        # py-libp2p's check, which lndesk.p2p.gossip_signature.install replaced
        check = libp2p.pubsub.pubsub.signature_validator  # type: ignore[attr-defined]
        if self.strict_signing and not check(msg):
            logger.debug("a gossip message from %s has no valid signature", msg_forwarder)
            return
        try:
            await self.validate_msg(msg_forwarder, msg)
        except ValidationError:
            logger.debug("a gossip message from %s failed validation", msg_forwarder)
            return
        self.seen_messages.add(key)
        if origin == self._my_id:
            logger.debug("dropped a message claiming to be ours, from %s", msg_forwarder)
            return
        relay = self._relays[key] = Relay()
        try:
            self.notify_subscriptions(msg)
            await self.router.publish(msg_forwarder, msg)
        finally:
            del self._relays[key]
            relay.queued.set()

    async def _push_own(self, msg: rpc_pb2.Message) -> None:
        """What ``Pubsub.push_msg`` does with this node's own publish, without checking
        the signature it has just made (an Ed25519 verification per post): a head seen
        already is not sent again, anything else is sent to the topic's peers."""
        key = self._msg_id_constructor(msg)
        if self.seen_messages.has(key):
            return
        self._pushing = (msg, key)
        self.seen_messages.add(key)
        self.notify_subscriptions(msg)
        await self.router.publish(self._my_id, msg)

    async def validate_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        # Like Pubsub.validate_msg, without its cache of results by message id
        # (lndesk.p2p.pubsub's docstring). Our validators are synchronous and cheap. Our
        # own publish was checked as it was encoded (HeadGossip.announce, notify).
        if msg_forwarder == self._my_id:
            return
        for topic in msg.topicIDs:
            validator = self.topic_validators.get(topic)
            if validator is not None and not validator.validator(msg_forwarder, msg):
                raise ValidationError("head announcement rejected")

    def notify_subscriptions(self, publish_message: rpc_pb2.Message) -> None:
        relay = self._relays.get(self.get_message_id(publish_message)) if self._relays else None
        self._deliver(publish_message, relay)
