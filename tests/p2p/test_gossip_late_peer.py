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

from lndesk.p2p.announce import feed_topic

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


def hold_heartbeats(node: Node, go: trio.Event) -> None:
    """``node``'s GossipSub heartbeats (the mesh upkeep, IHAVE gossip) wait for ``go``."""
    router: Any = node.gossip.pubsub.router
    beat = router.heartbeat_once

    async def held() -> bool:
        await go.wait()
        return bool(await beat())

    router.heartbeat_once = held


async def test_a_relay_sends_a_head_to_a_topic_peer_its_mesh_has_not_taken_in_yet() -> None:
    """B relays A's head to C, which is on the topic but not in B's mesh yet. C's
    subscription came before B's stream to C was up, so py-libp2p did not graft C on
    it, and no heartbeat has grafted C since: GossipSub relays to the mesh only, and the
    heartbeat that grafts C sends IHAVE only to peers outside the mesh, so C never heard
    of the head (a line of ten nodes on a busy machine lost posts this way)."""
    go = trio.Event()
    async with gossip_node("mesh-a") as a, gossip_node("mesh-b") as b, gossip_node("mesh-c") as c:
        for node in (a, b, c):
            hold_heartbeats(node, go)
        for node in (b, c):
            await node.gossip.follow(a.author)  # joined before anyone is connected
        await dial(a, b)
        gates = Gates(b)
        gates.inbound.set()  # B reads C's subscription, but has no stream to C yet
        await dial(c, b)
        with trio.fail_after(WAIT):
            await b.gossip.wait_for_topic_peers(a.author, 1)
            gates.outbound.set()
            await b.gossip.pubsub.wait_for_peer(c.id, timeout=WAIT)
        router: Any = b.gossip.pubsub.router
        assert c.id not in router.mesh[feed_topic(a.author)]
        entry, payload = make_chain(a.identity, 1)[0]
        await a.gossip.announce(entry.raw, payload)
        peer, head = await c.next_head()
        assert peer == b.id
        assert head.entry.raw == entry.raw
        go.set()


async def test_a_relay_sends_outside_its_mesh_only_what_the_mesh_lacks() -> None:
    """While a topic's mesh is short of D, a relay also sends to as many of the topic's
    other peers as the mesh lacks: never to one that pruned it (in back-off), sent
    IDONTWANT for the message, is not yet identified, or forwarded the message."""
    async with gossip_node("graft-a") as a:
        hold_heartbeats(a, trio.Event())  # the mesh stays as this test makes it
        router: Any = a.gossip.pubsub.router
        pubsub: Any = a.gossip.pubsub
        topic, msg_id = "t", b"m" * 20
        ids = [ID(b"\x00\x25\x08\x01\x12\x21" + bytes([i]) * 33) for i in range(16)]
        for peer in ids:
            router.peer_protocol[peer] = "/meshsub/1.2.0"
        meshed, forwarder, backed_off, unwanting, unknown, *others = ids[:7]
        del router.peer_protocol[unknown]
        router.back_off[topic] = {backed_off: 2**40}
        router.dont_send_message_ids[unwanting] = {msg_id}
        router.mesh[topic] = {meshed}
        pubsub.peer_topics[topic] = set(ids[:7])
        assert len(others) < router.degree - 1  # every peer is looked at
        peers: set[ID] = set()
        router._add_peers_to_graft(peers, [topic], (forwarder, forwarder), msg_id)
        assert peers == set(others)

        router.mesh[topic] = set()
        pubsub.peer_topics[topic] = set(ids[7:])
        peers = set()
        router._add_peers_to_graft(peers, [topic], (forwarder, forwarder), msg_id)
        assert len(peers) == router.degree  # as many as the mesh lacks, no more

        router.mesh[topic] = set(ids[7 : 7 + router.degree])
        peers = set()
        router._add_peers_to_graft(peers, [topic], (forwarder, forwarder), msg_id)
        assert not peers  # a full mesh: only the mesh
