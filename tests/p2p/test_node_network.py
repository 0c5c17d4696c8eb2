"""Whole nodes: a peer sending bad data is refused, a failing disk blames no one, relayed
connections carry sync."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import trio
from conftest import running_host, wait_disconnected
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.errors import StoreError
from lndesk.p2p import wire as frames
from lndesk.p2p.events import (
    AddressesChanged,
    FeedForked,
    NodeWarning,
    PeerPenalised,
    PenaltyEnded,
)
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sync import SYNC_PROTOCOL

ANN = make_identity(1)


async def test_a_lying_peer_is_cut_off_and_the_node_keeps_serving(tmp_path: Path) -> None:
    honest = make_chain(ANN, 20)
    forged = wire(make_chain(make_identity(9), 20))
    async with running_node(make_data_dir(tmp_path, "n")) as node, running_host() as evil:
        node.service.store.ingest(ANN.public_key, wire(honest[:10]))
        await node.follow(ANN.public_key)

        async def lie(stream: Any) -> None:
            io = frames.FrameStream(stream, 1 << 20)
            await io.receive()
            await io.send(frames.Have((frames.FeedHave(ANN.public_key, 20, 20),)))
            await io.receive()
            await io.send(frames.Batch(ANN.public_key, tuple(forged[10:])))
            await io.receive()

        evil.set_stream_handler(SYNC_PROTOCOL, lie)
        await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
        evil_key = public_key_of(evil.get_id())
        await node.log.wait_for(
            lambda events: any(isinstance(e, PeerPenalised) and e.peer == evil_key for e in events)
        )
        assert node.height_of(ANN.public_key) == 10
        # It is disconnected and cannot come back for a while.
        await wait_disconnected(node.node.host, evil.get_id())
        assert node.node.is_penalised(evil.get_id())
        with contextlib.suppress(Exception):
            await evil.connect(PeerInfo(node.node.host.get_id(), node.node.host.get_addrs()))
        await wait_disconnected(node.node.host, evil.get_id())
        # Everyone else is still served.
        async with running_node(make_data_dir(tmp_path, "c")) as cy:
            await cy.follow(ANN.public_key)
            await cy.connect(node)
            await cy.wait_height(ANN.public_key, 10)


async def test_sync_through_a_relay(tmp_path: Path) -> None:
    """Bo can only be reached through a relay (his bootstrap peer); Ann syncs through it."""
    async with running_node(make_data_dir(tmp_path, "relay"), relay_hop=True) as relay:
        bo_dir = make_data_dir(tmp_path, "bo")
        async with running_node(bo_dir, relay_client=True, bootstrap=(relay.address,)) as bo:
            await bo.log.wait_for(
                lambda events: any(
                    isinstance(e, AddressesChanged)
                    and any("/p2p-circuit" in a for a in e.addresses)
                    for e in events
                )
            )
            for i in range(3):
                await bo.post(f"relayed {i}")
            circuit = next(
                a for a in bo.node.addresses() if "/p2p-circuit" in a and "/127.0.0.1/" in a
            )
            async with running_node(make_data_dir(tmp_path, "ann")) as ann:
                await ann.follow(bo)
                with trio.fail_after(20):
                    await ann.node.connect(circuit)
                await ann.wait_height(bo, 3)


async def test_a_penalty_runs_out(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "a"), penalty_seconds=0.3) as a:
        async with running_node(make_data_dir(tmp_path, "b")) as b:
            await b.post("hello")
            await a.follow(b)
            peer = b.node.host.get_id()
            a.node.penalise(peer, "testing the timer")
            assert a.node.is_penalised(peer)
            await a.log.wait_for(
                lambda events: any(isinstance(e, PenaltyEnded) and e.peer == b.key for e in events)
            )
            assert not a.node.is_penalised(peer)
            assert peer not in a.node.gossip.pubsub.blacklisted_peers
            await a.connect(b)
            await a.wait_height(b, 1)


async def test_a_peer_relaying_a_forked_author_is_not_penalised(tmp_path: Path) -> None:
    chain = make_chain(ANN, 3)
    fork = make_chain(ANN, 2, start_seq=3, prev=chain[1][0].id, text="other branch")
    async with (
        running_node(make_data_dir(tmp_path, "b")) as b,
        running_node(make_data_dir(tmp_path, "p")) as p,
    ):
        b.service.store.ingest(ANN.public_key, wire(chain))
        p.service.store.ingest(ANN.public_key, wire(chain[:2]) + wire(fork))
        await b.follow(ANN.public_key)
        await p.follow(ANN.public_key)
        await b.connect(p)
        await b.node.gossip.wait_for_topic_peers(ANN.public_key, 1)
        head, payload = fork[-1]
        await p.node.announce(head.raw, payload)
        await b.log.wait_for(lambda _e: b.service.store.feed_state(ANN.public_key).forked_at == 3)
        assert not any(isinstance(e, PeerPenalised) for e in b.log.events)
        assert any(isinstance(e, FeedForked) and e.seq == 3 for e in b.log.events)
        assert not b.node.is_penalised(p.node.host.get_id())


async def test_a_store_that_fails_to_write_warns_and_loses_nothing(tmp_path: Path) -> None:
    """Bo's disk fails while Ann posts (live and by sync): Bo warns, blames no one, and
    gets every post once his store works again."""
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann, running_node(bo_dir) as bo:
        await bo.follow_live(ann)
        source = bo.node.source
        ingest = source.ingest

        def disk_full(*args: Any) -> Any:
            raise StoreError("no space left on the device (simulated)")

        source.ingest = disk_full  # type: ignore[method-assign]
        await ann.post("while Bo's disk is full")
        await bo.log.wait_for(lambda events: any(isinstance(e, NodeWarning) for e in events))
        with trio.fail_after(20):
            summary = await bo.node.sync_now()
        assert any("no space left" in error for error in summary.errors)
        assert bo.height_of(ann) == 0
        assert not any(isinstance(e, PeerPenalised) for e in bo.log.events)
        assert bo.node.host.get_network().connections.get(ann.node.host.get_id())

        source.ingest = ingest  # type: ignore[method-assign]
        await ann.post("and after")
        await bo.wait_height(ann, 2)
