"""Whole lndesk nodes (identity + store + libp2p host) on loopback, for integration tests."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from conftest import loopback_config
from libp2p.peer.peerinfo import PeerInfo

from lndesk.app.node import AppNode
from lndesk.app.service import Service, create_identity
from lndesk.p2p import wire as frames
from lndesk.p2p.events import EntriesStored, Event
from lndesk.p2p.sync import SYNC_PROTOCOL


class EventLog:
    """Every event a node emitted, and a way to wait for one (no sleeps)."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = trio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()
        self._changed = trio.Event()

    async def wait_for(self, predicate: Callable[[list[Event]], bool], timeout: float = 20) -> None:
        with trio.fail_after(timeout):
            while not predicate(self.events):
                await self._changed.wait()

    def stored(self, feed: bytes, via: str | None = None) -> int:
        return sum(
            e.count
            for e in self.events
            if isinstance(e, EntriesStored) and e.feed == feed and (via is None or e.via == via)
        )


class GossipTaken:
    """The gossip messages a node's pubsub has finished taking in: checked, relayed and,
    when valid, queued for the handler of their topic, which handles each topic's
    messages one at a time in that order.

    Gossip promises no order between messages (they may come by different peers, and
    a peer may relay them in either order). A test that must know a message was dropped
    (nothing else shows it) waits for it here before sending the next one on its topic:
    that one is then handled after it."""

    def __init__(self, node: TestNode) -> None:
        self.taken: list[bytes] = []
        self._changed = trio.Event()
        pubsub = node.node.gossip.pubsub
        push = pubsub.push_msg

        async def taking(forwarder: Any, msg: Any) -> None:
            try:
                await push(forwarder, msg)
            finally:
                self.taken.append(bytes(msg.data))
                self._changed.set()
                self._changed = trio.Event()

        pubsub.push_msg = taking  # type: ignore[method-assign]

    async def wait_for(self, entry_raw: bytes, timeout: float = 20) -> None:
        """Until a message carrying ``entry_raw`` (a head or a notice) was taken in."""
        with trio.fail_after(timeout):
            while not any(entry_raw in data for data in self.taken):
                await self._changed.wait()


class TestNode:
    __test__ = False

    def __init__(self, app: AppNode, log: EventLog, nursery: trio.Nursery) -> None:
        self.app = app
        self.log = log
        self.nursery = nursery
        self.service = app.service
        self.node = app.node

    @property
    def key(self) -> bytes:
        return self.service.public_key

    @property
    def address(self) -> str:
        return next(a for a in self.node.addresses() if "/127.0.0.1/" in a)

    async def post(self, text: str) -> Any:
        return await self.app.publish(lambda s: s.post(text))

    async def follow(self, other: TestNode | bytes) -> None:
        key = other.key if isinstance(other, TestNode) else other
        from lndesk.keytext import key_to_text

        await self.app.publish(lambda s: s.follow(key_to_text(key)))

    async def connect(self, other: TestNode) -> None:
        await self.node.connect(other.address)

    async def follow_live(self, author: TestNode) -> None:
        """Follow ``author``, connect, and wait until both share the author's topic, so
        the next post of the author travels by gossip."""
        await self.follow(author)
        await self.connect(author)
        await self.node.gossip.wait_for_topic_peers(author.key, 1)
        await author.node.gossip.wait_for_topic_peers(author.key, 1)

    def height_of(self, other: TestNode | bytes) -> int:
        key = other.key if isinstance(other, TestNode) else other
        return self.service.store.feed_state(key).height

    async def wait_height(self, other: TestNode | bytes, height: int, timeout: float = 20) -> None:
        await self.log.wait_for(lambda _events: self.height_of(other) >= height, timeout)

    def stop(self) -> None:
        self.app.stop()


def make_data_dir(root: Path, name: str) -> Path:
    path = root / name
    create_identity(path)
    return path


@asynccontextmanager
async def running_node(
    data_dir: Path, *, survey_window: float = 10.0, **config: Any
) -> AsyncIterator[TestNode]:
    """Run a node for ``data_dir`` (which must have an identity) until the block ends."""
    log = EventLog()
    with Service(data_dir) as service:
        app = AppNode(service, loopback_config(**config), log, survey_window=survey_window)
        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            try:
                yield TestNode(app, log, nursery)
            finally:
                app.stop()
                nursery.cancel_scope.cancel()


class HandlerWatch:
    """Observes a running host's inbound stream handlers from outside its guard
    (``lndesk.p2p.guard``): which have returned, keyed by (peer ID, protocol), and any
    exception that got past the guard (``escaped``, which must stay empty)."""

    def __init__(self, host: Any) -> None:
        self.host = host
        self.finished: defaultdict[tuple[Any, str], trio.Event] = defaultdict(trio.Event)
        self.escaped: list[BaseException] = []
        network = host.get_network()
        guarded = network.common_stream_handler

        async def observed(stream: Any) -> None:
            try:
                await guarded(stream)
            except BaseException as exc:
                self.escaped.append(exc)
                raise
            finally:
                key = (stream.muxed_conn.peer_id, str(stream.get_protocol()))
                self.finished[key].set()

        network.set_stream_handler(observed)

    async def wait_finished(self, peer: Any, protocol: str, timeout: float = 10) -> None:
        """Wait until a handler of ``protocol`` for a stream of ``peer`` has returned."""
        with trio.fail_after(timeout):
            await self.finished[peer, protocol].wait()


@asynccontextmanager
async def sync_stream(
    node: TestNode, host: Any, feed: bytes, address: Any | None = None
) -> AsyncIterator[frames.Message]:
    """Open a sync session from ``host`` (over ``address``, else the node's own
    addresses) and yield the server's answer to a ``want`` of ``feed``; the session
    stays open until the block ends."""
    addresses = [address] if address is not None else node.node.host.get_addrs()
    await host.connect(PeerInfo(node.node.host.get_id(), addresses))
    stream = await host.new_stream(node.node.host.get_id(), [SYNC_PROTOCOL])
    await stream.write(frames.encode_frame(frames.Want(((feed, 0),))))
    with trio.fail_after(20):
        answer = await frames.FrameStream(stream, 1 << 20).receive()
    assert answer is not None
    try:
        yield answer
    finally:
        await stream.reset()
