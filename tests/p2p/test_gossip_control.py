"""A peer's GossipSub control messages are bounded before they are handled
(lndesk.p2p.gossip_control, docs/protocol.md section 21.5): one RPC within the size cap
holds ten thousand IHAVE, IWANT, GRAFT or PRUNE entries, which py-libp2p answered one by
one (ten thousand copies of a cached message, IWANTs for topics never joined, a PRUNE
RPC per unknown GRAFT), kept records of (a back-off per unknown topic, never removed)
or followed (a PRUNE's peer exchange dialled the peers it named). A hostile peer on a
real loopback host writes the RPC; a bomb behind it is read, and penalised, only once
the RPC was handled."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from libp2p.peer.peerstore import env_to_send_in_RPC
from libp2p.pubsub.pb import rpc_pb2
from node_helpers import TestNode, make_data_dir, running_node
from test_gossip_pace import Steps
from test_stream_guard import BOMB, MESHSUB, varint

from lndesk.identity import blake2b_256
from lndesk.p2p.announce import feed_topic
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.gossip_control import MAX_IWANT_IDS, MAX_UNKNOWN_GRAFTS
from lndesk.p2p.gossip_streams import PACE
from lndesk.p2p.host import public_key_of

MANY = 10_000

Control = Callable[[Any], rpc_pb2.ControlMessage]


def unknown_topic(n: int) -> str:
    return f"lndesk/feed/1/{n:064x}"


async def answers(node: TestNode, control: Control, evil: Any) -> list[rpc_pb2.RPC]:
    """What ``node`` queued for ``evil`` while it handled one RPC of ``control(evil)``
    (sent, with a bomb behind it, on a gossip stream of ``evil``'s)."""
    router = node.node.gossip.pubsub.router
    sent: list[rpc_pb2.RPC] = []
    send = router.send_rpc

    def recording(peer: Any, rpc: rpc_pb2.RPC, priority: bool = False) -> None:
        if peer == evil.get_id():
            sent.append(rpc)
        send(peer, rpc, priority)

    body = rpc_pb2.RPC(control=control(evil)).SerializeToString()
    await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
    router.send_rpc = recording  # type: ignore[method-assign]
    try:
        stream = await evil.new_stream(node.node.host.get_id(), [MESHSUB])
        with contextlib.suppress(Exception):  # the node resets after the bomb
            await stream.write(varint(len(body)) + body + BOMB)
        key = public_key_of(evil.get_id())
        await node.log.wait_for(
            lambda events: any(isinstance(e, PeerPenalised) and e.peer == key for e in events),
            timeout=30,
        )
    finally:
        router.send_rpc = send  # type: ignore[method-assign]
    return sent


@contextlib.asynccontextmanager
async def target(tmp_path: Path) -> AsyncIterator[tuple[TestNode, bytes]]:
    """A node that has posted once (its announcement is in its message cache) and the
    post's entry."""
    async with running_node(make_data_dir(tmp_path, "target")) as node:
        await node.post("a post in the message cache")
        ((_seq, entry, _payload),) = node.service.store.read_run(node.key, 1, 1, 1, 1 << 20)
        yield node, entry


async def test_an_iwant_gets_each_cached_message_once(tmp_path: Path) -> None:
    async with target(tmp_path) as (node, entry), running_host() as evil:
        # Asked for by its id (section 21.1) ten thousand times, hex text too.
        entry_id = blake2b_256(entry)
        wanted = [entry_id, entry_id.hex().encode()] * (MANY // 20)
        sent = await answers(
            node,
            lambda _evil: rpc_pb2.ControlMessage(
                iwant=[rpc_pb2.ControlIWant(messageIDs=wanted) for _ in range(10)]
            ),
            evil,
        )
        messages = [msg for rpc in sent for msg in rpc.publish]
        assert len(messages) == 1
        assert entry in messages[0].data


async def test_ihave_asks_only_on_joined_topics_for_unseen_ids_up_to_a_bound(
    tmp_path: Path,
) -> None:
    async with target(tmp_path) as (node, entry), running_host() as evil:
        joined = feed_topic(node.key)
        fresh = [blake2b_256(n.to_bytes(4, "big")) for n in range(MAX_IWANT_IDS + 1000)]

        def control(_evil: Any) -> rpc_pb2.ControlMessage:
            # Within the RPC size cap: 5,000 topics not joined, 6,000 ids on one joined.
            others = [
                rpc_pb2.ControlIHave(topicID=unknown_topic(n), messageIDs=[fresh[n]])
                for n in range(MANY // 2)
            ]
            mine = rpc_pb2.ControlIHave(topicID=joined, messageIDs=[blake2b_256(entry), *fresh])
            return rpc_pb2.ControlMessage(ihave=[*others, mine])

        sent = await answers(node, control, evil)
        asked = [i for rpc in sent for want in rpc.control.iwant for i in want.messageIDs]
        # Not the post it holds (one of the ids looked at), each once.
        assert asked == fresh[: MAX_IWANT_IDS - 1]
        router = node.node.gossip.pubsub.router
        assert set(router.ihave_message_limits.get(evil.get_id(), {})) <= {joined}


async def test_ihave_ids_looked_at_are_bounded_seen_or_not(tmp_path: Path) -> None:
    async with target(tmp_path) as (node, entry), running_host() as evil:
        pubsub = node.node.gossip.pubsub
        # Ids it has seen (or that are not ids) are never asked for, yet each looked at
        # costs a lookup: one IHAVE within the size cap names hundreds of thousands.
        seen = blake2b_256(entry)
        looked: list[bytes] = []
        has = pubsub.seen_messages.has

        def counting(msg_id: bytes) -> bool:
            looked.append(msg_id)
            return has(msg_id)

        pubsub.seen_messages.has = counting  # type: ignore[method-assign]
        try:
            sent = await answers(
                node,
                lambda _evil: rpc_pb2.ControlMessage(
                    ihave=[
                        rpc_pb2.ControlIHave(
                            topicID=feed_topic(node.key), messageIDs=[seen] * (2 * MANY)
                        )
                    ]
                ),
                evil,
            )
        finally:
            pubsub.seen_messages.has = has  # type: ignore[method-assign]
        assert len(looked) <= MAX_IWANT_IDS
        assert not [i for rpc in sent for want in rpc.control.iwant for i in want.messageIDs]


async def test_idontwant_keeps_only_what_can_be_a_message_id(tmp_path: Path) -> None:
    async with target(tmp_path) as (node, entry), running_host() as evil:
        router = node.node.gossip.pubsub.router
        kept: list[bytes] = []
        handle = router.handle_idontwant

        async def recording(msg: rpc_pb2.ControlIDontWant, peer: Any) -> None:
            if peer == evil.get_id():
                kept.extend(msg.messageIDs)
            await handle(msg, peer)

        # The ids a peer may ask not to be sent are kept until the next heartbeat: ten
        # of 90 kB each held almost a megabyte per peer, though no id is that long.
        huge = [bytes([n]) * 90_000 for n in range(router.max_idontwant_messages)]
        entry_id = blake2b_256(entry)
        router.handle_idontwant = recording  # type: ignore[method-assign]
        try:
            await answers(
                node,
                lambda _evil: rpc_pb2.ControlMessage(
                    idontwant=[
                        rpc_pb2.ControlIDontWant(messageIDs=[*huge[:5], entry_id, *huge[5:]])
                    ]
                ),
                evil,
            )
        finally:
            router.handle_idontwant = handle  # type: ignore[method-assign]
        assert kept == [entry_id]


async def test_grafts_of_unknown_topics_get_one_bounded_prune(tmp_path: Path) -> None:
    async with target(tmp_path) as (node, _entry), running_host() as evil:
        joined = feed_topic(node.key)
        grafts = [rpc_pb2.ControlGraft(topicID=unknown_topic(n)) for n in range(MANY)]
        sent = await answers(
            node,
            lambda _evil: rpc_pb2.ControlMessage(
                graft=[*grafts, *grafts[:100], rpc_pb2.ControlGraft(topicID=joined)]
            ),
            evil,
        )
        prunes = [prune for rpc in sent for prune in rpc.control.prune]
        assert len(sent) == 1
        assert [p.topicID for p in prunes] == [unknown_topic(n) for n in range(MAX_UNKNOWN_GRAFTS)]
        assert not any(p.peers for p in prunes)
        assert evil.get_id() in node.node.gossip.pubsub.router.mesh[joined]


async def test_prunes_of_unknown_topics_leave_nothing_and_offered_peers_are_not_dialled(
    tmp_path: Path,
) -> None:
    async with (
        target(tmp_path) as (node, _entry),
        running_host() as evil,
        running_host() as offered,
    ):
        joined = feed_topic(node.key)
        record, _ = env_to_send_in_RPC(offered)  # a valid signed record, with addresses
        exchange = rpc_pb2.PeerInfo(peerID=offered.get_id().to_bytes(), signedPeerRecord=record)
        prunes = [
            rpc_pb2.ControlPrune(topicID=unknown_topic(n), peers=[exchange] if n < 10 else [])
            for n in range(MANY)
        ]
        await answers(
            node,
            lambda _evil: rpc_pb2.ControlMessage(
                prune=[*prunes, rpc_pb2.ControlPrune(topicID=joined, peers=[exchange])]
            ),
            evil,
        )
        router = node.node.gossip.pubsub.router
        assert set(router.back_off) == {joined}
        assert set(router.graft_flood_tracking.get(evil.get_id(), {})) == {joined}
        assert offered.get_id() not in node.node.host.get_connected_peers()


async def test_a_reader_lets_other_tasks_run_inside_one_rpc_of_grafts(tmp_path: Path) -> None:
    async with target(tmp_path) as (node, _entry), running_host() as evil:
        topics = [unknown_topic(n) for n in range(8 * PACE)]
        for topic in topics:
            await node.node.gossip.pubsub.subscribe(topic)
        router = node.node.gossip.pubsub.router
        stamps: list[int] = []
        steps = Steps()
        graft = router.handle_graft

        async def stamped(msg: rpc_pb2.ControlGraft, peer: Any) -> None:
            if peer == evil.get_id():
                stamps.append(steps.count)
            await graft(msg, peer)

        router.handle_graft = stamped  # type: ignore[method-assign]
        trio.lowlevel.add_instrument(steps)
        try:
            await answers(
                node,
                lambda _evil: rpc_pb2.ControlMessage(
                    graft=[rpc_pb2.ControlGraft(topicID=topic) for topic in topics]
                ),
                evil,
            )
        finally:
            trio.lowlevel.remove_instrument(steps)
            router.handle_graft = graft  # type: ignore[method-assign]
        assert len(stamps) == len(topics)
        assert max(Counter(stamps).values()) <= PACE
