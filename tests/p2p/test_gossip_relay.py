"""Relaying a head to the next hops (``lndesk.p2p.gossip_relay``): no peer record built,
one RPC for every next hop, and what must still go the long way (an RPC over the queue's
size limit, a PRUNE waiting to ride along), a forged copy sent ahead of a head, and the
lock a gossip stream's writes hold.

Real hosts on 127.0.0.1; every wait is on an event under ``trio.fail_after``.
"""

from __future__ import annotations

import sys
from typing import Any

import libp2p.pubsub.gossipsub
import pytest
import trio
import trio.testing
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.rpc_queue import RpcQueue
from test_gossip import WAIT, Node, connect, gossip_node, make_chain

from lndesk.p2p.announce import encode_announcement, feed_topic
from lndesk.p2p.gossip_streams import WriteLock

pytestmark = pytest.mark.trio


async def star(hub: Node, author: Node, *followers: Node) -> None:
    """``author`` and ``followers`` connected to ``hub``, all on the author's topic, the
    followers in the hub's mesh."""
    await connect(author, hub)
    for follower in followers:
        await connect(follower, hub)
    for node in (hub, author, *followers):
        await node.gossip.follow(author.author)
    with trio.fail_after(WAIT):
        await hub.gossip.wait_for_topic_peers(author.author, 1 + len(followers))
        for follower in followers:
            await hub.gossip.wait_for_mesh(author.author, follower.id)
            await follower.gossip.wait_for_topic_peers(author.author, 1)
        await author.gossip.wait_for_topic_peers(author.author, 1)


async def test_a_relayed_head_builds_no_peer_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """py-libp2p built and signed-record-wrapped the host's addresses for every message
    it published or relayed, only for the sender to strip it."""
    built: list[str] = []  # the function that asked for a record, each time
    original = libp2p.pubsub.gossipsub.env_to_send_in_RPC

    def counting(host: Any) -> Any:
        built.append(sys._getframe(1).f_code.co_name)
        return original(host)

    monkeypatch.setattr(libp2p.pubsub.gossipsub, "env_to_send_in_RPC", counting)
    async with gossip_node("nr-a") as a, gossip_node("nr-b") as b, gossip_node("nr-c") as c:
        await star(b, a, c)
        for entry, payload in make_chain(a.identity, 3):
            await a.gossip.announce(entry.raw, payload)
            await b.next_head()
            await c.next_head()
    assert "publish" not in built


async def test_one_rpc_goes_to_every_next_hop(monkeypatch: pytest.MonkeyPatch) -> None:
    """B relays each head to C and D by queueing one RPC object for both (py-libp2p
    copied it for each peer)."""
    pushed: list[tuple[RpcQueue, rpc_pb2.RPC]] = []
    original = RpcQueue.push

    def recording(self: RpcQueue, rpc: rpc_pb2.RPC, priority: bool = False) -> bool:
        if rpc.publish:
            pushed.append((self, rpc))
        return bool(original(self, rpc, priority))

    async with (
        gossip_node("one-a") as a,
        gossip_node("one-b") as b,
        gossip_node("one-c") as c,
        gossip_node("one-d") as d,
    ):
        await star(b, a, c, d)
        monkeypatch.setattr(RpcQueue, "push", recording)
        heads = 3
        for entry, payload in make_chain(a.identity, heads):
            await a.gossip.announce(entry.raw, payload)
            for node in (b, c, d):
                await node.next_head()
        queues = {id(q) for q in (b.gossip.pubsub.peer_queues[p] for p in (c.id, d.id))}
    relayed = [rpc for queue, rpc in pushed if id(queue) in queues]
    assert len(relayed) == 2 * heads
    for first, second in zip(relayed[::2], relayed[1::2], strict=True):
        assert first is second


def queued(node: Node, peer: Node) -> list[rpc_pb2.RPC]:
    """What ``node`` has queued for ``peer`` and its sender has not taken yet."""
    inner = node.gossip.pubsub.peer_queues[peer.id]._queue
    return [*inner._priority, *inner._non_priority]


async def test_an_rpc_over_the_queue_limit_is_not_queued() -> None:
    async with gossip_node("big-a") as a, gossip_node("big-b") as b:
        await connect(a, b)
        queue = a.gossip.pubsub.peer_queues[b.id]
        msg = rpc_pb2.Message(data=bytes(queue.max_message_size + 1), topicIDs=["t"])
        a.gossip.router.send_rpc(b.id, rpc_pb2.RPC(publish=[msg]))  # no checkpoint after
        assert queued(a, b) == []


async def test_a_prune_waiting_for_a_retry_rides_on_the_next_message() -> None:
    """A PRUNE whose RPC was dropped (a full queue) is retried on the next RPC to that
    peer; py-libp2p adds it to a copy, which the relay must make too."""
    async with gossip_node("pr-a") as a, gossip_node("pr-b") as b:
        await connect(a, b)
        router = a.gossip.router
        router._pending_control[b.id].prune.append(rpc_pb2.ControlPrune(topicID="t"))
        msg = rpc_pb2.Message(data=b"head", topicIDs=["t"])
        rpc = rpc_pb2.RPC(publish=[msg])
        router.send_rpc(b.id, rpc)  # no checkpoint after: still queued
        sent = queued(a, b)
        assert [p.topicID for r in sent for p in r.control.prune] == ["t"]
        assert not rpc.HasField("control")  # the caller's RPC, shared by others, untouched


async def relayed_to(
    hub: Node, peer: Node, messages: list[rpc_pb2.Message], forwarder: Node
) -> list[bytes]:
    """The data of ``messages`` that ``hub``'s router, handed them as received from
    ``forwarder``, queues for ``peer``."""
    queue = hub.gossip.pubsub.peer_queues[peer.id]
    out: list[bytes] = []
    original = queue.push

    def recording(rpc: rpc_pb2.RPC, priority: bool = False) -> bool:
        out.extend(bytes(m.data) for m in rpc.publish)
        return bool(original(rpc, priority))

    queue.push = recording  # type: ignore[method-assign]
    try:
        for msg in messages:
            await hub.gossip.router.publish(forwarder.id, msg)
    finally:
        del queue.push
    return out


async def test_a_forwarder_over_its_rate_is_not_relayed(monkeypatch: pytest.MonkeyPatch) -> None:
    async with gossip_node("rt-a") as a, gossip_node("rt-b") as b, gossip_node("rt-c") as c:
        await star(b, a, c)
        monkeypatch.setattr(libp2p.pubsub.gossipsub, "time", FrozenClock())
        b.gossip.router.max_messages_per_topic_per_second = 3
        topic = feed_topic(a.author)
        messages = [
            rpc_pb2.Message(
                data=b"m%d" % i, topicIDs=[topic], from_id=a.id.to_bytes(), seqno=b"%d" % i
            )
            for i in range(5)
        ]
        assert await relayed_to(b, c, messages, a) == [b"m0", b"m1", b"m2"]


async def test_an_equivocating_message_is_not_relayed() -> None:
    """Two messages of one origin with one sequence number and different data: only the
    first is relayed."""
    async with gossip_node("eq-a") as a, gossip_node("eq-b") as b, gossip_node("eq-c") as c:
        await star(b, a, c)
        topic = feed_topic(a.author)
        messages = [
            rpc_pb2.Message(data=data, topicIDs=[topic], from_id=a.id.to_bytes(), seqno=b"1")
            for data in (b"first", b"second")
        ]
        assert await relayed_to(b, c, messages, a) == [b"first"]


class FrozenClock:
    """``time`` as GossipSub's forwarding rate sees it: one instant, so a burst falls
    in one second however slowly the test runs."""

    @staticmethod
    def time() -> float:
        return 1_000_000.0


@pytest.mark.parametrize("claimed", ["author", "next hop", "relay"])
async def test_a_forged_copy_sent_first_keeps_no_one_from_the_head(claimed: str) -> None:
    """M hands B a copy of A's new head (a valid announcement, its entry signed by A)
    whose libp2p message names A, C (B's next hop) or B itself as ``from`` and carries a
    signature M could not make. Were it not checked, B would take the head as seen from
    M's copy: relayed to C, who rejects its signature (or, naming C or B, not relayed
    at all), while A's own copy, coming after, is dropped as a duplicate. B rejects it,
    and A's copy reaches B's handler and C."""
    async with (
        gossip_node("fg-a") as a,
        gossip_node("fg-b") as b,
        gossip_node("fg-c") as c,
        gossip_node("fg-m") as m,
    ):
        await star(b, a, c)
        named = {"author": a.id, "next hop": c.id, "relay": b.id}[claimed]
        (entry, payload), *_ = make_chain(a.identity, 1)
        forged = rpc_pb2.Message(
            data=encode_announcement(entry.raw, payload),
            topicIDs=[feed_topic(a.author)],
            from_id=named.to_bytes(),
            seqno=b"\x00" * 7 + b"\x01",
            signature=bytes(64),
        )
        await b.gossip.pubsub.push_msg(m.id, forged)
        await a.gossip.announce(entry.raw, payload)
        peer, head = await b.next_head()
        assert (peer, head.entry.id) == (a.id, entry.id)
        peer, head = await c.next_head()
        assert (peer, head.entry.id) == (b.id, entry.id)


async def test_a_free_write_lock_is_taken_without_a_checkpoint() -> None:
    """The write it guards lets other tasks run anyway; trio's Lock would raise
    Cancelled here, at the checkpoint of its acquire."""
    lock, taken = WriteLock(), False
    with trio.CancelScope() as scope:
        scope.cancel()
        async with lock:
            taken = True
    assert taken


async def test_a_held_write_lock_makes_the_next_writer_wait() -> None:
    lock, order, release = WriteLock(), [], trio.Event()

    async def first() -> None:
        async with lock:
            order.append("first in")
            await release.wait()
            order.append("first out")

    async def second() -> None:
        async with lock:
            order.append("second in")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(first)
        await trio.testing.wait_all_tasks_blocked()
        nursery.start_soon(second)
        await trio.testing.wait_all_tasks_blocked()
        assert order == ["first in"]
        release.set()
    assert order == ["first in", "first out", "second in"]
