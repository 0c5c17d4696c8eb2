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

Inbox notices (``lndesk.p2p.inbox``) share this Pubsub: a host runs one GossipSub, so
``HeadGossip`` also joins inbox topics (``watch_inbox``), validates their messages and
hands the valid ones to ``on_notice``. A notice's message id is ``01`` followed by a hash
of the addressed key and the entry id, so the same entry sent to two inboxes, or also
announced on its author's feed topic, is never dropped as a duplicate.

Malformed messages never raise out of the node: the message id function and the topic
validators catch everything, and each rejection is reported through ``on_invalid``
(except those that are no one's fault: a notice of a content type this version does
not know, or from an author this node blocks, is dropped without blame).
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
from lndesk.p2p.inbox import (
    MAX_NOTICE_SIZE,
    InboxNotice,
    UnknownContentType,
    decode_notice,
    encode_notice,
    inbox_topic,
    notice_id,
    split_notice,
)

if TYPE_CHECKING:
    from trio_typing import TaskStatus

__all__ = ["HeadAnnouncement", "HeadGossip", "InboxNotice", "message_id"]

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
OnNotice = Callable[[ID, InboxNotice], Awaitable[None]]
OnInvalid = Callable[[ID, str], None]
Accepts = Callable[[bytes], bool]
Delivered = HeadAnnouncement | InboxNotice


def message_id(msg: rpc_pb2.Message) -> bytes:
    """The pubsub message id: the announced entry's id (32 bytes).

    An inbox notice gets ``0x01`` followed by a hash of its key and entry id; anything
    laid out as neither gets ``0x00`` followed by a hash of its bytes (33 bytes each,
    so neither can equal an entry id). Never raises.
    """
    data = bytes(msg.data)
    layout = _layout(data)
    if isinstance(layout, bytes):
        return blake2b_256(layout)
    if layout is not None:
        return notice_id(*layout)
    return b"\x00" + blake2b_256(data[: MAX_ANNOUNCEMENT_SIZE + 1])


def _layout(data: bytes) -> bytes | tuple[bytes, bytes] | None:
    """The entry of an announcement, (to, entry) of a notice, or None for other data."""
    try:
        return split_announcement(data)[0]
    except Exception:  # ids are computed before validation, for any bytes
        logger.debug("gossip data is not laid out as a head announcement")
    if len(data) > MAX_NOTICE_SIZE:
        return None
    try:
        to, entry_raw, _payload = split_notice(data)
    except Exception:  # not a notice either
        return None
    return to, entry_raw


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
    """Announce heads of feeds and receive the announcements of followed feeds; send and
    receive inbox notices on the inbox topics this node watches.

    ``on_head(peer, announcement)`` is called in trio, one call at a time per topic, for
    every valid announcement received from another node; ``peer`` is the connected
    peer that delivered it (it validated it, so it holds that head). ``on_notice(peer,
    notice)`` likewise for every valid inbox notice on a watched inbox topic whose
    author ``accepts`` allows. ``on_invalid(peer, reason)`` is called for every
    rejected message its sender is to blame for.
    """

    def __init__(
        self,
        host: IHost,
        *,
        limits: Limits,
        on_head: OnHead,
        on_invalid: OnInvalid,
        on_notice: OnNotice | None = None,
        accepts: Accepts = lambda _key: True,
    ) -> None:
        self._host = host
        self._limits = limits
        self._on_head = on_head
        self._on_notice = on_notice
        self._on_invalid = on_invalid
        self._accepts = accepts
        self._pubsub: _Pubsub | None = None
        self._nursery: trio.Nursery | None = None
        self._readers: dict[str, tuple[trio.CancelScope, trio.MemorySendChannel[Any]]] = {}
        self._feeds: set[bytes] = set()
        self._inboxes: set[bytes] = set()
        # The last message a validator accepted, with its sender and decoded form:
        # Pubsub validates and then delivers a message without yielding in between.
        self._validated: tuple[rpc_pb2.Message, ID, Delivered] | None = None

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
        # A feed topic and an inbox topic per followed feed, and this node's own two.
        subscriptions = 2 * max(self._limits.want_feeds, 1)
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
            self._feeds.clear()
            self._inboxes.clear()

    async def follow(self, author: bytes) -> None:
        """Subscribe to ``author``'s feed topic (idempotent)."""
        topic = feed_topic(author)
        if await self._join(topic, self._head_validator(topic), self._on_head):
            self._feeds.add(author)

    async def unfollow(self, author: bytes) -> None:
        """Leave ``author``'s feed topic; announcements already queued are dropped."""
        self._feeds.discard(author)
        await self._leave(feed_topic(author))

    async def watch_inbox(self, key: bytes) -> None:
        """Subscribe to ``key``'s inbox topic (idempotent): relay and receive its notices."""
        topic = inbox_topic(key)
        if await self._join(topic, self._notice_validator(topic), self._on_notice):
            self._inboxes.add(key)

    async def unwatch_inbox(self, key: bytes) -> None:
        self._inboxes.discard(key)
        await self._leave(inbox_topic(key))

    async def _join(
        self,
        topic: str,
        validator: Callable[[ID, rpc_pb2.Message], bool],
        handler: Callable[[ID, Any], Awaitable[None]] | None,
    ) -> bool:
        pubsub, nursery = self.pubsub, self._nursery
        assert nursery is not None
        if topic in self._readers:
            return False
        send, receive = trio.open_memory_channel[tuple[ID, Any]](DELIVERY_QUEUE)
        scope = trio.CancelScope()
        self._readers[topic] = (scope, send)
        pubsub.set_topic_validator(topic, validator, is_async_validator=False)
        nursery.start_soon(self._read, scope, receive, handler)
        await pubsub.subscribe(topic)
        return True

    async def _leave(self, topic: str) -> None:
        reader = self._readers.pop(topic, None)
        if reader is None:
            return
        reader[0].cancel()
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
        return frozenset(self._feeds)

    def watching(self) -> frozenset[bytes]:
        """The keys whose inbox topics this node is subscribed to."""
        return frozenset(self._inboxes)

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

    async def notify(self, to: bytes, entry_raw: bytes, payload: bytes) -> None:
        """Send an inbox notice of an entry addressed to ``to`` on ``to``'s inbox topic.

        Raises ``SizeError`` if the notice would be over ``MAX_NOTICE_SIZE`` (the entry
        then reaches ``to`` by catch-up) and ``EntryError`` if the entry is invalid or not
        addressed to ``to``. It goes to every connected peer on the topic (flood publish),
        whether or not this node watches the topic.
        """
        data = encode_notice(to, entry_raw, payload)
        await self.pubsub.publish(inbox_topic(to), data)

    def topic_peers(self, author: bytes) -> int:
        """How many connected peers are subscribed to ``author``'s feed topic."""
        return self._peers_on(feed_topic(author))

    def inbox_peers(self, key: bytes) -> int:
        """How many connected peers are subscribed to ``key``'s inbox topic."""
        return self._peers_on(inbox_topic(key))

    def _peers_on(self, topic: str) -> int:
        if self._pubsub is None:
            return 0
        return len(self._pubsub.peer_topics.get(topic, ()))

    async def wait_for_topic_peers(self, author: bytes, n: int) -> None:
        """Wait until at least ``n`` connected peers subscribe to ``author``'s topic."""
        pubsub = self.pubsub
        while self.topic_peers(author) < n:
            await pubsub.subscriptions_changed.wait()

    async def wait_for_inbox_peers(self, key: bytes, n: int) -> None:
        """Wait until at least ``n`` connected peers subscribe to ``key``'s inbox topic."""
        pubsub = self.pubsub
        while self.inbox_peers(key) < n:
            await pubsub.subscriptions_changed.wait()

    async def wait_for_mesh(self, author: bytes, peer_id: ID) -> None:
        """Wait until ``peer_id`` is in this node's mesh for ``author``'s topic."""
        await self.router.wait_for_mesh(peer_id, feed_topic(author), timeout=float("inf"))

    # --- receiving ------------------------------------------------------------

    def _head_validator(self, topic: str) -> Callable[[ID, rpc_pb2.Message], bool]:
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

    def _notice_validator(self, topic: str) -> Callable[[ID, rpc_pb2.Message], bool]:
        def validate(forwarder: ID, msg: rpc_pb2.Message) -> bool:
            try:
                if len(msg.topicIDs) != 1:
                    raise DecodeError("inbox notice must name exactly one topic")
                notice = decode_notice(bytes(msg.data), topic=topic)
            except UnknownContentType as exc:  # maybe a later version's: no one's fault
                logger.info("dropped an inbox notice from %s: %s", forwarder, exc)
                return False
            except EntryError as exc:
                self._reject(forwarder, str(exc))
                return False
            except Exception as exc:  # a bug here must not take the node down
                logger.exception("inbox notice validator failed")
                self._reject(forwarder, f"inbox notice could not be checked: {exc!r}")
                return False
            try:
                accepted = self._accepts(notice.entry.author)
            except Exception:  # the store could not tell: keep nothing, blame no one
                logger.exception("could not check whether an author is blocked")
                accepted = False
            if not accepted:
                logger.debug("dropped an inbox notice of a blocked author")
                return False  # neither kept nor relayed; the forwarder did nothing wrong
            self._validated = (msg, forwarder, notice)
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
        if validated is None or validated[0] is not msg or len(msg.topicIDs) != 1:
            return  # not checked by one of our validators: not on a topic we follow
        _msg, forwarder, item = validated
        reader = self._readers.get(msg.topicIDs[0])
        if reader is None:
            return
        try:
            reader[1].send_nowait((forwarder, item))
        except trio.WouldBlock:
            logger.warning("dropped a message of entry %d: delivery queue full", item.entry.seq)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _read(
        self,
        scope: trio.CancelScope,
        receive: trio.MemoryReceiveChannel[tuple[ID, Any]],
        handler: Callable[[ID, Any], Awaitable[None]] | None,
    ) -> None:
        with scope, receive:
            async for forwarder, item in receive:
                if handler is None:
                    continue
                try:
                    await handler(forwarder, item)
                except Exception:
                    logger.exception("gossip delivery callback failed")
