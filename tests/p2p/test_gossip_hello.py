"""A peer hears our topics, and we keep its topics, when one gossip stream fails.

Each side of a gossip link writes on the stream it opened and reads the one the other
opened; a peer's topics come only in the hello at the start of its stream. On a busy
hub, opening a stream can fail during protocol negotiation, or its first write can:
the stream is opened again while the peer stays connected
(``DeliveringPubsub._handle_new_peer_with_retry``). When only our stream to a peer
fails later, the peer's stream to us, and the topics it carried, still hold
(``DeliveringPubsub._handle_dead_peer``): the peer never sends them again.

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
import trio
from libp2p.custom_types import TProtocol
from libp2p.host.exceptions import StreamFailure
from libp2p.network.stream.exceptions import StreamReset
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from test_gossip import WAIT, Node, gossip_node

pytestmark = pytest.mark.trio


class _FailingWrite:
    """A gossip stream whose first write (the hello) fails."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    async def write(self, data: bytes) -> None:
        await self._stream.reset()
        raise StreamReset("the first gossip write failed")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def fail_first_gossip_stream(node: Node, how: str) -> list[ID]:
    """Make ``node``'s first gossip stream to each peer fail; returns the peers it failed for."""
    host = node.host
    opened = host.new_stream
    failed: list[ID] = []
    protocols = set(node.gossip.pubsub.protocols)

    async def new_stream(peer: ID, protocol_ids: Sequence[TProtocol]) -> Any:
        if peer in failed or not protocols & set(protocol_ids):
            return await opened(peer, protocol_ids)
        failed.append(peer)
        if how == "open":
            raise StreamFailure(f"failed to open a stream to peer {peer}")
        return _FailingWrite(await opened(peer, protocol_ids))

    host.new_stream = new_stream  # type: ignore[method-assign]
    return failed


@pytest.mark.parametrize("how", ["open", "write"])
async def test_peer_hears_our_topics_after_a_failed_stream(how: str) -> None:
    async with gossip_node("hub") as hub, gossip_node("follower") as follower:
        await hub.gossip.follow(hub.author)
        await follower.gossip.follow(hub.author)
        failed = fail_first_gossip_stream(hub, how)
        addrs = [x for x in hub.host.get_addrs() if str(x).startswith("/ip4/127.0.0.1/tcp/")]
        with trio.fail_after(WAIT):
            await follower.host.connect(PeerInfo(hub.id, addrs))
            await hub.gossip.wait_for_topic_peers(hub.author, 1)
            await follower.gossip.wait_for_topic_peers(hub.author, 1)
        assert failed == [follower.id]


class _FailingSecondWrite:
    """A gossip stream whose hello goes out and whose next write fails."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.writes = 0

    async def write(self, data: bytes) -> None:
        self.writes += 1
        if self.writes == 1:
            await self._stream.write(data)
            return
        await self._stream.reset()
        raise StreamReset("the gossip stream was reset")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


async def test_our_failed_stream_keeps_the_topics_the_peer_told_us() -> None:
    """Only our stream to the hub fails; the hub's stream to us, which carried its
    topics, stays up. Its topics are not forgotten: the hub would never send them again.
    """
    async with gossip_node("hub") as hub, gossip_node("follower") as follower:
        await hub.gossip.follow(hub.author)
        await follower.gossip.follow(hub.author)
        opened = follower.host.new_stream
        wrapped: list[_FailingSecondWrite] = []

        async def new_stream(peer: ID, protocol_ids: Sequence[TProtocol]) -> Any:
            stream = await opened(peer, protocol_ids)
            if wrapped or not set(follower.gossip.pubsub.protocols) & set(protocol_ids):
                return stream
            wrapped.append(_FailingSecondWrite(stream))
            return wrapped[0]

        follower.host.new_stream = new_stream  # type: ignore[method-assign]
        addrs = [x for x in hub.host.get_addrs() if str(x).startswith("/ip4/127.0.0.1/tcp/")]
        with trio.fail_after(WAIT):
            await follower.host.connect(PeerInfo(hub.id, addrs))
            await hub.gossip.wait_for_topic_peers(hub.author, 1)
            await follower.gossip.wait_for_topic_peers(hub.author, 1)
            # The follower's next RPC to the hub fails; it opens a new stream, whose
            # hello carries the new topic.
            other = follower.author
            await follower.gossip.follow(other)
            await hub.gossip.wait_for_topic_peers(other, 1)
        assert wrapped[0].writes == 2
        assert follower.host.get_network().get_connections(hub.id)
        assert follower.gossip.topic_peers(hub.author) == 1
