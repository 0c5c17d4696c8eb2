"""Live delivery: head announcements over GossipSub, one topic per feed.

A node subscribes to the topic of every feed it follows (and of its own). When a
feed gets a new head, the node that has it announces it (``lndesk.p2p.announce``
describes the message); followers receive it within a network round trip or two,
instead of at the next anti-entropy round. Entries themselves travel over the sync
stream: gossip carries the head and, when small, its payload.

What is changed from py-libp2p 0.8.1's GossipSub and Pubsub defaults, and why:

* Heartbeat every second (default 120 s). The heartbeat grafts peers into a topic's
  mesh, emits IHAVE gossip and ages the message cache; at 120 s a new follower waits
  minutes for a mesh and lost messages are never gossiped about. The "adaptive
  gossip" feature is switched off because it resets the heartbeat to 30-60 s or more.
* Our own publishes are never rate limited. Spam protection counts messages per
  forwarding peer and topic (default 10/s) and counts our own publishes too, so a
  burst of posts or re-announcements after a sync was silently dropped. Other peers
  keep a cap (``FORWARD_RATE``), set well above what a person can write.
* Bigger queues: each peer's outbound RPC queue and each topic's delivery queue
  (both 32 by default, and both drop silently when full) hold ``OUTBOUND_QUEUE`` and
  ``DELIVERY_QUEUE`` messages. A full queue is logged; anti-entropy sync repairs it.
* Flood publish for our own messages (as go-libp2p does by default): they go to every
  peer subscribed to the topic, so a post written right after connecting does not wait
  for the next heartbeat to build a mesh.
* Mesh degree 4 (low 2, high 8) instead of the test values callers usually pass: the
  network is tens of desktops and a feed has a few followers online at once.
* A peer may subscribe to ``Limits.want_feeds`` topics (py-libp2p allows 100), since everyone
  subscribes to one topic per followed feed.
* IP-diversity ("eclipse") protection is off: peers on one LAN or behind one NAT share
  an address, so it can never be satisfied and only adds grafts.
* The message id is the announced entry's id (BLAKE2b-256 of the entry bytes), so one
  head announced by several peers is delivered once per node. Validation results are
  not cached by message id: an invalid message that reuses a good entry's id (wrong
  topic, wrong payload) must not get the good announcement rejected. Only valid
  messages are remembered as seen (for ``SEEN_TTL`` seconds).

Malformed messages never raise out of the node: the message id function and the topic
validator catch everything, and each rejection is reported through ``on_invalid``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import trio
from libp2p.abc import IHost
from libp2p.exceptions import ValidationError
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.tools.anyio_service import background_trio_service

from lndesk.errors import DecodeError, EntryError, SizeError
from lndesk.identity import blake2b_256
from lndesk.p2p.announce import (
    MAX_ANNOUNCEMENT_SIZE,
    HeadAnnouncement,
    decode_announcement,
    encode_announcement,
    feed_topic,
    split_announcement,
)
from lndesk.p2p.config import Limits

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["HeadAnnouncement", "HeadGossip", "message_id"]

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1
OUTBOUND_QUEUE = 1024
DELIVERY_QUEUE = 1024
FORWARD_RATE = 100.0
"""Messages per second one peer may forward to us on one topic before we stop relaying."""
SEEN_TTL = 120
DEGREE, DEGREE_LOW, DEGREE_HIGH = 4, 2, 8
_MAX_SUBSCRIPTIONS_PER_RPC = 5000

OnHead = Callable[[ID, HeadAnnouncement], Awaitable[None]]
OnInvalid = Callable[[ID, str], None]


def message_id(msg: rpc_pb2.Message) -> bytes:
    """The pubsub message id: the announced entry's id (32 bytes).

    Anything that is not laid out as an announcement gets ``0x00`` followed by a hash
    of its bytes (33 bytes, so it can never equal an entry id). Never raises.
    """
    data = bytes(msg.data)
    try:
        entry_raw, _author, _payload = split_announcement(data)
    except Exception:  # ids are computed before validation, for any bytes
        return b"\x00" + blake2b_256(data[: MAX_ANNOUNCEMENT_SIZE + 1])
    return blake2b_256(entry_raw)


class _Queues(dict[ID, RpcQueue]):
    """Pubsub's per-peer outbound queues, enlarged as they are created.

    py-libp2p builds each queue with its fixed default size (32) and registers it here
    before anything is pushed; this is the one place to resize it.
    """

    def __setitem__(self, peer_id: ID, queue: RpcQueue) -> None:
        inner = getattr(queue, "_queue", None)
        if inner is not None and hasattr(inner, "max_size"):
            inner.max_size = max(inner.max_size, OUTBOUND_QUEUE)
        super().__setitem__(peer_id, queue)


class _GossipSub(GossipSub):
    """GossipSub that never rate-limits this node's own publishes and floods them."""

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


class _Pubsub(Pubsub):
    """Pubsub that hands valid messages to ``HeadGossip`` instead of its own queues.

    It is dedicated to head gossip: ``subscribe`` joins a topic but its subscription
    object never yields messages, so other protocols must not share this instance.
    """

    def __init__(self, host: IHost, router: GossipSub, gossip: HeadGossip, **kwargs: Any) -> None:
        super().__init__(host, router, **kwargs)
        self.peer_queues = _Queues()
        self._gossip = gossip
        self.subscriptions_changed = trio.Event()

    async def validate_msg(self, msg_forwarder: ID, msg: rpc_pb2.Message) -> None:
        # Like Pubsub.validate_msg, without its cache of results by message id (see the
        # module docstring). Our validators are synchronous and cheap.
        for topic in msg.topicIDs:
            validator = self.topic_validators.get(topic)
            if validator is not None and not validator.validator(msg_forwarder, msg):
                raise ValidationError("head announcement rejected")

    def notify_subscriptions(self, publish_message: rpc_pb2.Message) -> None:
        self._gossip._deliver(publish_message)

    def handle_subscription(self, origin_id: ID, sub_message: rpc_pb2.RPC.SubOpts) -> None:
        super().handle_subscription(origin_id, sub_message)
        self._topics_changed()

    def _forget_all_subscriptions(self, peer_id: ID) -> None:
        super()._forget_all_subscriptions(peer_id)
        self._topics_changed()

    def _topics_changed(self) -> None:
        self.subscriptions_changed.set()
        self.subscriptions_changed = trio.Event()


class HeadGossip:
    """Announce heads of feeds and receive the announcements of followed feeds.

    ``on_head(peer, announcement)`` is called in trio, one call at a time per feed, for
    every valid announcement received from another node; ``peer`` is the connected
    peer that delivered it (it validated it, so it holds that head). ``on_invalid(peer,
    reason)`` is called for every rejected message, with the peer that sent it.
    """

    def __init__(
        self,
        host: IHost,
        *,
        limits: Limits,
        on_head: OnHead,
        on_invalid: OnInvalid,
    ) -> None:
        self._host = host
        self._limits = limits
        self._on_head = on_head
        self._on_invalid = on_invalid
        self._pubsub: _Pubsub | None = None
        self._nursery: trio.Nursery | None = None
        self._readers: dict[bytes, tuple[trio.CancelScope, trio.MemorySendChannel[Any]]] = {}
        # The last message the validator accepted, with its sender and decoded form:
        # Pubsub validates and then delivers a message without yielding in between.
        self._validated: tuple[rpc_pb2.Message, ID, HeadAnnouncement] | None = None

    @property
    def pubsub(self) -> _Pubsub:
        """The underlying Pubsub (for diagnostics and tests); only while running."""
        if self._pubsub is None:
            raise RuntimeError("HeadGossip is not running")
        return self._pubsub

    @property
    def router(self) -> GossipSub:
        return self.pubsub.router  # type: ignore[return-value]

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run Pubsub and GossipSub until cancelled; ``task_status.started()`` once ready."""
        router = _GossipSub(
            protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
            degree=DEGREE,
            degree_low=DEGREE_LOW,
            degree_high=DEGREE_HIGH,
            heartbeat_interval=HEARTBEAT_SECONDS,
            adaptive_gossip_enabled=False,
            max_messages_per_topic_per_second=FORWARD_RATE,
            eclipse_protection_enabled=False,
        )
        subscriptions = max(self._limits.want_feeds, 1)
        pubsub = _Pubsub(
            self._host,
            router,
            self,
            seen_ttl=SEEN_TTL,
            msg_id_constructor=message_id,
            max_subscriptions_per_peer=subscriptions,
            max_subscriptions_per_rpc=max(subscriptions, _MAX_SUBSCRIPTIONS_PER_RPC),
        )
        try:
            async with (
                background_trio_service(pubsub),
                background_trio_service(router),
                trio.open_nursery() as nursery,
            ):
                await pubsub.wait_until_ready()
                self._pubsub, self._nursery = pubsub, nursery
                task_status.started()
                await trio.sleep_forever()
        finally:
            self._pubsub = self._nursery = None
            self._readers.clear()

    async def follow(self, author: bytes) -> None:
        """Subscribe to ``author``'s feed topic (idempotent)."""
        pubsub, nursery = self.pubsub, self._nursery
        assert nursery is not None
        if author in self._readers:
            return
        topic = feed_topic(author)
        send, receive = trio.open_memory_channel[tuple[ID, HeadAnnouncement]](DELIVERY_QUEUE)
        scope = trio.CancelScope()
        self._readers[author] = (scope, send)
        pubsub.set_topic_validator(topic, self._validator(topic), is_async_validator=False)
        nursery.start_soon(self._read, scope, receive)
        await pubsub.subscribe(topic)

    async def unfollow(self, author: bytes) -> None:
        """Leave ``author``'s feed topic; announcements already queued are dropped."""
        reader = self._readers.pop(author, None)
        if reader is None:
            return
        reader[0].cancel()
        topic = feed_topic(author)
        pubsub = self.pubsub
        await pubsub.unsubscribe(topic)
        pubsub.remove_topic_validator(topic)

    def block(self, peer_id: ID) -> None:
        """Drop ``peer_id``'s pubsub stream and ignore its messages until ``unblock``."""
        if self._pubsub is not None:
            self._pubsub.add_to_blacklist(peer_id)

    def unblock(self, peer_id: ID) -> None:
        if self._pubsub is not None:
            self._pubsub.remove_from_blacklist(peer_id)

    def following(self) -> frozenset[bytes]:
        return frozenset(self._readers)

    async def announce(self, entry_raw: bytes, payload: bytes | None) -> None:
        """Announce a head on its author's topic (any author: also after a sync).

        The payload is carried only if it is at most ``Limits.gossip_payload`` bytes.
        Raises ``EntryError`` if the entry or payload is invalid. Announcing a head this
        node has already seen announced within ``SEEN_TTL`` seconds does nothing.
        """
        if payload is not None and len(payload) > self._limits.gossip_payload:
            payload = None
        try:
            data = encode_announcement(entry_raw, payload)
        except SizeError:
            if payload is None:
                raise
            data = encode_announcement(entry_raw, None)  # followers fetch it by sync
        author = decode_announcement(data).author
        await self.pubsub.publish(feed_topic(author), data)

    def topic_peers(self, author: bytes) -> int:
        """How many connected peers are subscribed to ``author``'s feed topic."""
        if self._pubsub is None:
            return 0
        return len(self._pubsub.peer_topics.get(feed_topic(author), ()))

    async def wait_for_topic_peers(self, author: bytes, n: int) -> None:
        """Wait until at least ``n`` connected peers subscribe to ``author``'s topic."""
        pubsub = self.pubsub
        while self.topic_peers(author) < n:
            await pubsub.subscriptions_changed.wait()

    async def wait_for_mesh(self, author: bytes, peer_id: ID) -> None:
        """Wait until ``peer_id`` is in this node's mesh for ``author``'s topic."""
        await self.router.wait_for_mesh(peer_id, feed_topic(author), timeout=float("inf"))

    # --- receiving ------------------------------------------------------------

    def _validator(self, topic: str) -> Callable[[ID, rpc_pb2.Message], bool]:
        def validate(forwarder: ID, msg: rpc_pb2.Message) -> bool:
            try:
                if len(msg.topicIDs) != 1:
                    raise DecodeError("head announcement must name exactly one topic")
                announcement = decode_announcement(bytes(msg.data), topic=topic)
            except EntryError as exc:
                self._reject(forwarder, str(exc))
                return False
            except Exception as exc:  # a bug here must not take the node down
                logger.exception("head announcement validator failed")
                self._reject(forwarder, f"head announcement could not be checked: {exc!r}")
                return False
            self._validated = (msg, forwarder, announcement)
            return True

        return validate

    def _reject(self, peer: ID, reason: str) -> None:
        logger.info("rejected gossip from %s: %s", peer, reason)
        try:
            self._on_invalid(peer, reason)
        except Exception:
            logger.exception("on_invalid callback failed")

    def _deliver(self, msg: rpc_pb2.Message) -> None:
        """Queue a validated message for its topic's reader (called by Pubsub, sync)."""
        validated, self._validated = self._validated, None
        pubsub = self._pubsub
        if pubsub is None or msg.from_id == pubsub.my_id.to_bytes():
            return  # our own publish
        if validated is None or validated[0] is not msg:
            return  # not checked by one of our validators: not on a topic we follow
        _msg, forwarder, announcement = validated
        reader = self._readers.get(announcement.author)
        if reader is None:
            return
        try:
            reader[1].send_nowait((forwarder, announcement))
        except trio.WouldBlock:
            logger.warning(
                "dropped a head announcement of seq %d: delivery queue full",
                announcement.entry.seq,
            )
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _read(
        self,
        scope: trio.CancelScope,
        receive: trio.MemoryReceiveChannel[tuple[ID, HeadAnnouncement]],
    ) -> None:
        with scope, receive:
            async for forwarder, announcement in receive:
                try:
                    await self._on_head(forwarder, announcement)
                except Exception:
                    logger.exception("on_head callback failed")
