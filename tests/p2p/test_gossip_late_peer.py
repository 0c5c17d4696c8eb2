"""A head published while a connected peer's gossip streams are still being set up
reaches that peer once they are, however long the set-up takes.

On a busy machine a node can relay a head before it has opened its gossip stream to a
peer that is already connected, and before it has read that peer's subscriptions.
py-libp2p then sends the head nowhere, and replays only the last few heartbeats'
messages when the streams come: a head that came earlier waited for the next
anti-entropy round (a line of ten nodes in one busy process lost posts this way).

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

from typing import Any

import pytest
import trio
from conftest import wait_disconnected
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pb import rpc_pb2
from test_gossip import WAIT, Node, gossip_node, make_chain

pytestmark = pytest.mark.trio


class Gates:
    """Holds ``node``'s set-up of its gossip streams with a peer: opening its own stream
    to the peer (``outbound``) and reading the peer's stream, where the peer's
    subscriptions come (``inbound``), each until its event is set."""

    def __init__(self, node: Node) -> None:
        self.outbound, self.inbound = trio.Event(), trio.Event()
        pubsub: Any = node.gossip.pubsub
        register, read = pubsub._handle_new_peer, pubsub.continuously_read_stream

        async def gated_register(peer_id: ID) -> None:
            await self.outbound.wait()
            await register(peer_id)

        async def gated_read(stream: Any) -> None:
            await self.inbound.wait()
            await read(stream)

        pubsub._handle_new_peer = gated_register
        pubsub.continuously_read_stream = gated_read


async def dial(a: Node, b: Node) -> None:
    addrs = [x for x in b.host.get_addrs() if str(x).startswith("/ip4/127.0.0.1/tcp/")]
    with trio.fail_after(WAIT):
        await a.host.connect(PeerInfo(b.id, addrs))
        await a.gossip.pubsub.wait_for_peer(b.id, timeout=WAIT)


async def forget_recent(node: Node) -> None:
    """Age ``node``'s message cache past its history, as the heartbeats of a slow set-up
    would: py-libp2p's replay to a new peer finds nothing there."""
    cache: Any = node.gossip.pubsub.router.mcache
    for _ in range(cache.history_size + 1):
        cache.shift()


@pytest.mark.parametrize("first", ["outbound", "inbound"])
async def test_a_head_reaches_a_peer_whose_gossip_streams_came_late(first: str) -> None:
    async with gossip_node("late-a") as a, gossip_node("late-b") as b:
        await b.gossip.follow(a.author)
        gates = Gates(a)
        await dial(b, a)  # B's stream to A is up; A neither writes to nor reads B yet
        entry, payload = make_chain(a.identity, 1)[0]
        await a.gossip.announce(entry.raw, payload)
        await forget_recent(a)
        if first == "outbound":  # A can write to B before it knows B's topics
            gates.outbound.set()
            with trio.fail_after(WAIT):
                await a.gossip.pubsub.wait_for_peer(b.id, timeout=WAIT)
            gates.inbound.set()
        else:
            gates.inbound.set()
            with trio.fail_after(WAIT):
                await a.gossip.wait_for_topic_peers(a.author, 1)
            gates.outbound.set()
        peer, head = await b.next_head()
        assert peer == a.id
        assert head.entry.raw == entry.raw


async def test_what_was_held_for_a_peer_that_left_is_let_go() -> None:
    """A peer that disconnects before its gossip streams came holds nothing of ours."""
    async with gossip_node("gone-a") as a, gossip_node("gone-b") as b:
        await b.gossip.follow(a.author)
        Gates(a)  # never opened
        await dial(b, a)
        first, second = make_chain(a.identity, 2)
        await a.gossip.announce(first[0].raw, first[1])
        router: Any = a.gossip.pubsub.router
        assert b.id in router._pending_messages  # held for B
        await b.host.disconnect(a.id)
        await wait_disconnected(a.host, b.id)
        await a.gossip.announce(second[0].raw, second[1])
        assert b.id not in router._pending_messages


class Clock:
    """Stands in for ``time`` in ``lndesk.p2p.gossip_relay``."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def time(self) -> float:
        return self.now


async def test_what_is_held_for_a_peer_is_bounded_in_count_and_age(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = Clock()
    monkeypatch.setattr("lndesk.p2p.gossip_relay.time", clock)
    async with gossip_node("bound-a") as a:
        router: Any = a.gossip.pubsub.router
        peer = ID(b"\x00\x25" + b"\x01" * 37)
        cap, ttl = router._max_pending_messages_per_peer, router._pending_messages_ttl
        rpcs = [rpc_pb2.RPC(subscriptions=[]) for _ in range(cap + 5)]
        for rpc in rpcs:
            router._hold(peer, rpc)
        held = router._pending_messages[peer]
        assert len(held) == cap
        assert [rpc for _stamp, rpc in held] == rpcs[5:]  # the oldest let go first
        clock.now += ttl / 2
        router._hold(peer, rpcs[0])
        assert len(held) == cap  # none expired yet: the cap let the oldest go
        clock.now += ttl / 2 + 1
        router._hold(peer, rpcs[1])
        assert [rpc for _stamp, rpc in held] == [rpcs[0], rpcs[1]]
