"""Live delivery over GossipSub: head announcements (one topic per feed) and inbox notices.

A node subscribes to the topic of every feed it follows (and of its own). When a
feed gets a new head, the node that has it announces it (``lndesk.p2p.announce``
describes the message); followers receive it within a network round trip or two,
instead of at the next anti-entropy round. Entries themselves travel over the sync
stream: gossip carries the head and, when small, its payload.

GossipSub itself, as tuned for lndesk (heartbeat, queues, flood publish, message ids),
is in ``lndesk.p2p.pubsub``.

Inbox notices (``lndesk.p2p.inbox_notice``) share this Pubsub: a host runs one GossipSub, so
``HeadAndNoticeGossip`` also joins inbox topics (``watch_inbox``), validates their messages and
hands the valid ones to ``on_notice``.

Malformed messages never raise out of the node: the message id function and the topic
validators catch everything, an RPC that does not decode ends only its stream
(``lndesk.p2p.pubsub``), and each rejection is reported through ``on_invalid``
(except those that are no one's fault: a notice of a content type this version does
not know, or from an author this node blocks, is dropped without blame).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol

import trio
from libp2p.abc import IHost
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pb import rpc_pb2
from libp2p.tools.anyio_service import background_trio_service

from lndesk.errors import DecodeError, EntryError, SizeError
from lndesk.p2p.announce import (
    HeadAnnouncement,
    decode_announcement,
    encode_announcement,
    feed_topic,
    split_announcement,
)
from lndesk.p2p.config import Limits
from lndesk.p2p.gossip_ids import message_id
from lndesk.p2p.gossip_streams import Relay
from lndesk.p2p.inbox_notice import (
    InboxNotice,
    UnknownContentType,
    decode_notice,
    encode_notice,
    inbox_topic,
)
from lndesk.p2p.pubsub import DELIVERY_QUEUE, DeliveringPubsub, build_pubsub

if TYPE_CHECKING:
    from trio_typing import TaskStatus

# Where the network vectors (message_id, defined here once) and the benchmarks
# (feed_topic) import them from.
__all__ = ["HeadAnnouncement", "HeadAndNoticeGossip", "InboxNotice", "feed_topic", "message_id"]

logger = logging.getLogger(__name__)

RELAY_WAIT = 0.02
"""Seconds a received message's handler waits at most for the senders to relay it
(a peer whose stream stalls while it is written must not hold up storing for long)."""

OnHead = Callable[[ID, HeadAnnouncement], Awaitable[None]]
OnNotice = Callable[[ID, InboxNotice], Awaitable[None]]
OnInvalid = Callable[[ID, str], None]
Accepts = Callable[[bytes], bool]
Delivered = HeadAnnouncement | InboxNotice
_Item = tuple[ID, Any, Relay | None]
"""What a topic's reader gets: the forwarder, the decoded message, where it is relayed."""


class Decode(Protocol):
    """Decodes and fully checks a message (``decode_announcement``, ``decode_notice``)."""

    def __call__(self, data: bytes, *, topic: str | None = None) -> Delivered: ...


class HeadAndNoticeGossip:
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
        self._pubsub: DeliveringPubsub | None = None
        self._nursery: trio.Nursery | None = None
        self._readers: dict[str, tuple[trio.CancelScope, trio.MemorySendChannel[_Item]]] = {}
        self._feeds: set[bytes] = set()
        self._inboxes: set[bytes] = set()
        # The last message a validator accepted, with its sender and decoded form:
        # Pubsub validates and then delivers a message without yielding in between.
        self._validated: tuple[rpc_pb2.Message, ID, Delivered] | None = None

    @property
    def pubsub(self) -> DeliveringPubsub:
        """The underlying Pubsub (for diagnostics and tests); only while running."""
        if self._pubsub is None:
            raise RuntimeError("HeadAndNoticeGossip is not running")
        return self._pubsub

    @property
    def router(self) -> GossipSub:
        return self.pubsub.router  # type: ignore[return-value]

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Run Pubsub and GossipSub until cancelled; ``task_status.started()`` once ready."""
        pubsub, router = build_pubsub(self._host, self._limits, self._deliver, self._on_invalid)
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
        if await self._join(
            feed_topic(author), "head announcement", decode_announcement, self._on_head
        ):
            self._feeds.add(author)

    async def unfollow(self, author: bytes) -> None:
        """Leave ``author``'s feed topic; announcements already queued are dropped."""
        self._feeds.discard(author)
        await self._leave(feed_topic(author))

    async def watch_inbox(self, key: bytes) -> None:
        """Subscribe to ``key``'s inbox topic (idempotent): relay and receive its notices."""
        if await self._join(inbox_topic(key), "inbox notice", decode_notice, self._on_notice):
            self._inboxes.add(key)

    async def unwatch_inbox(self, key: bytes) -> None:
        self._inboxes.discard(key)
        await self._leave(inbox_topic(key))

    async def _join(
        self,
        topic: str,
        what: str,
        decode: Decode,
        handler: Callable[[ID, Any], Awaitable[None]] | None,
    ) -> bool:
        """Subscribe to ``topic``, whose messages (``what``) ``decode`` checks, and hand
        them to ``handler``; False if already subscribed."""
        pubsub, nursery = self.pubsub, self._nursery
        assert nursery is not None
        if topic in self._readers:
            return False
        send, receive = trio.open_memory_channel[_Item](DELIVERY_QUEUE)
        scope = trio.CancelScope()
        self._readers[topic] = (scope, send)
        validator = self._validator(topic, what, decode)
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
        author = split_announcement(data)[1]  # encode_announcement verified it
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

    def _peers_on(self, topic: str) -> int:
        if self._pubsub is None:
            return 0
        return len(self._pubsub.peer_topics.get(topic, ()))

    async def wait_for_topic_peers(self, author: bytes, n: int) -> None:
        """Wait until at least ``n`` connected peers subscribe to ``author``'s topic."""
        await self._wait_for_peers(feed_topic(author), n)

    async def wait_for_inbox_peers(self, key: bytes, n: int) -> None:
        """Wait until at least ``n`` connected peers subscribe to ``key``'s inbox topic."""
        await self._wait_for_peers(inbox_topic(key), n)

    async def _wait_for_peers(self, topic: str, n: int) -> None:
        pubsub = self.pubsub
        while self._peers_on(topic) < n:
            await pubsub.subscriptions_changed.wait()

    async def wait_for_mesh(self, author: bytes, peer_id: ID) -> None:
        """Wait until ``peer_id`` is in this node's mesh for ``author``'s topic."""
        await self.router.wait_for_mesh(peer_id, feed_topic(author), timeout=float("inf"))

    # --- receiving ------------------------------------------------------------

    def _validator(
        self, topic: str, what: str, decode: Decode
    ) -> Callable[[ID, rpc_pb2.Message], bool]:
        """``topic``'s validator: ``decode`` must accept the message (for this topic), and
        a notice's author must be accepted; the message is then remembered for
        :meth:`_deliver`. A rejection blames the forwarder unless no one is to blame."""

        def validate(forwarder: ID, msg: rpc_pb2.Message) -> bool:
            try:
                if len(msg.topicIDs) != 1:
                    raise DecodeError(f"{what} must name exactly one topic")
                item = decode(bytes(msg.data), topic=topic)
            except UnknownContentType as exc:  # maybe a later version's: no one's fault
                logger.info("dropped %s from %s: %s", what, forwarder, exc)
                return False
            except EntryError as exc:
                self._reject(forwarder, str(exc))
                return False
            except Exception as exc:  # a bug here must not take the node down
                logger.exception("%s validator failed", what)
                self._reject(forwarder, f"{what} could not be checked: {exc!r}")
                return False
            if isinstance(item, InboxNotice) and not self._accepted(item.entry.author):
                logger.debug("dropped an inbox notice of a blocked author")
                return False  # neither kept nor relayed; the forwarder did nothing wrong
            self._validated = (msg, forwarder, item)
            return True

        return validate

    def _accepted(self, author: bytes) -> bool:
        try:
            return self._accepts(author)
        except Exception:  # the store could not tell: keep nothing, blame no one
            logger.exception("could not check whether an author is blocked")
            return False

    def _reject(self, peer: ID, reason: str) -> None:
        logger.info("rejected gossip from %s: %s", peer, reason)
        try:
            self._on_invalid(peer, reason)
        except Exception:
            logger.exception("on_invalid callback failed")

    def _deliver(self, msg: rpc_pb2.Message, relay: Relay | None) -> None:
        """Queue a validated message, with where it is being relayed, for its topic's
        reader (called by Pubsub, sync)."""
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
            reader[1].send_nowait((forwarder, item, relay))
        except trio.WouldBlock:
            logger.warning("dropped a message of entry %d: delivery queue full", item.entry.seq)
        except (trio.ClosedResourceError, trio.BrokenResourceError):
            pass

    async def _read(
        self,
        scope: trio.CancelScope,
        receive: trio.MemoryReceiveChannel[_Item],
        handler: Callable[[ID, Any], Awaitable[None]] | None,
    ) -> None:
        with scope, receive:
            async for forwarder, item, relay in receive:
                if handler is None:
                    continue
                # Relay first: storing waits for the disk, and the next hop with it.
                if self._pubsub is not None and relay is not None:
                    await self._pubsub.wait_relayed(relay, RELAY_WAIT)
                try:
                    await handler(forwarder, item)
                except Exception:
                    logger.exception("gossip delivery callback failed")
