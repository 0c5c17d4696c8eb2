"""Whole nodes on loopback: offline publishing, store-and-forward, live delivery, lines."""

from __future__ import annotations

import itertools
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import multiaddr
import pytest
import trio
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.app.service import Service
from lndesk.errors import AddressError
from lndesk.keytext import key_to_text
from lndesk.p2p import host as host_module
from lndesk.p2p.events import AddressesChanged, EntriesStored, PeerConnected, PeerFound, PeerLost


async def test_posts_written_offline_reach_a_follower_when_online(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    with Service(ann_dir) as ann:  # on the train: no node running at all
        for i in range(10):
            ann.post(f"note {i} written offline")
        ann_key = ann.public_key
    with Service(bo_dir) as bo:
        bo.follow(key_to_text(ann_key))
    async with running_node(ann_dir) as ann_node, running_node(bo_dir) as bo_node:
        await bo_node.connect(ann_node)
        await bo_node.wait_height(ann_key, 10)
    with Service(bo_dir) as bo:
        texts = [item.content.text for item in bo.feed(key_to_text(ann_key), limit=20)]  # type: ignore[union-attr]
    assert texts == [f"note {i} written offline" for i in reversed(range(10))]


async def test_store_and_forward_while_the_author_is_offline(tmp_path: Path) -> None:
    """Cy never meets Ann's laptop: Bo re-serves Ann's feed."""
    ann_dir = make_data_dir(tmp_path, "ann")
    bo_dir, cy_dir = make_data_dir(tmp_path, "bo"), make_data_dir(tmp_path, "cy")
    async with running_node(bo_dir) as bo:
        async with running_node(ann_dir) as ann:
            for i in range(5):
                await ann.post(f"post {i}")
            await bo.follow(ann)
            await bo.connect(ann)
            await bo.wait_height(ann, 5)
        # Ann's node has stopped.
        async with running_node(cy_dir) as cy:
            await cy.follow(ann.key)
            await cy.connect(bo)
            await cy.wait_height(ann.key, 5)
            assert not any(
                isinstance(e, PeerConnected) and e.peer == ann.key for e in cy.log.events
            )


async def test_live_post_arrives_by_gossip(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann, running_node(bo_dir) as bo:
        await bo.follow_live(ann)
        await ann.post("live!")
        await bo.wait_height(ann, 1, timeout=10)
        assert bo.log.stored(ann.key, via="gossip") == 1


async def test_a_post_crosses_a_line_of_ten_nodes(tmp_path: Path) -> None:
    dirs = [make_data_dir(tmp_path, f"n{i}") for i in range(10)]
    async with AsyncExitStack() as stack:
        nodes: list[TestNode] = [await stack.enter_async_context(running_node(d)) for d in dirs]
        author = nodes[0]
        for node in nodes[1:]:
            await node.follow(author)
        for left, right in itertools.pairwise(nodes):
            await right.connect(left)
        await author.post("from one end")
        await nodes[-1].wait_height(author, 1, timeout=60)


async def test_bad_addresses_give_clear_errors(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "a")) as a:
        with pytest.raises(AddressError, match="not a valid multiaddr"):
            await a.node.connect("not an address")
        with pytest.raises(AddressError, match="/p2p/"):
            await a.node.connect("/ip4/127.0.0.1/tcp/4747")
        with pytest.raises(AddressError, match="own"):
            await a.node.connect(a.address)


async def test_events_report_stored_entries(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann, running_node(bo_dir) as bo:
        for i in range(3):
            await ann.post(f"p{i}")
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.wait_height(ann, 3)
        stored = [e for e in bo.log.events if isinstance(e, EntriesStored) and e.feed == ann.key]
        assert sum(e.count for e in stored) == 3
        assert stored[-1].height == 3


async def test_a_lost_announcement_is_repaired_by_the_next_sync_round(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with (
        running_node(ann_dir, resync_interval=0.5) as ann,
        running_node(bo_dir, resync_interval=0.5) as bo,
    ):
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.node.wait_synced(10)

        async def lost(_entry: bytes, _payload: bytes | None) -> None:
            return None  # the announcement never leaves Ann's node

        ann.node.gossip.announce = lost  # type: ignore[method-assign]
        await ann.post("nobody heard this live")
        await bo.wait_height(ann, 1, timeout=20)
        assert bo.log.stored(ann.key, via="gossip") == 0
        assert bo.log.stored(ann.key, via="sync") == 1


async def test_a_follower_finds_the_author_through_the_dht(tmp_path: Path) -> None:
    """Five nodes in a bootstrap chain; only the DHT says who holds Ann's feed."""
    dirs = [make_data_dir(tmp_path, f"n{i}") for i in range(5)]
    async with AsyncExitStack() as stack:
        first = await stack.enter_async_context(running_node(dirs[0], dht=True))
        await first.post("find me")
        nodes = [first]
        for d in dirs[1:]:
            nodes.append(
                await stack.enter_async_context(
                    running_node(d, dht=True, bootstrap=(nodes[-1].address,))
                )
            )
        last = nodes[-1]
        await last.node.discovery.wait_routing_table(1)
        await first.node.discovery.provide([first.key])
        await last.follow(first)  # looks up providers of the feed and dials them
        await last.wait_height(first, 1, timeout=30)
        await last.log.wait_for(
            lambda events: any(
                isinstance(e, PeerFound) and e.peer == first.key and e.source == "dht"
                for e in events
            )
        )


async def test_a_new_network_address_is_noticed_and_advertised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The machine joins another network: the node reports its new addresses and has
    discovery advertise them (mDNS restarted, DHT records renewed)."""
    joined = False
    new_addr = multiaddr.Multiaddr("/ip4/192.0.2.77/tcp/4747")
    expand = host_module.expand_wildcards

    def interfaces_of_the_moment(addrs: Any) -> list[multiaddr.Multiaddr]:
        return [*expand(addrs), new_addr] if joined else expand(addrs)

    monkeypatch.setattr(host_module, "expand_wildcards", interfaces_of_the_moment)
    async with running_node(make_data_dir(tmp_path, "ann"), address_check_interval=0.05) as ann:
        told = trio.Event()
        monkeypatch.setattr(ann.node.discovery, "addresses_changed", told.set)
        assert not any("192.0.2.77" in a for a in ann.node.addresses())
        joined = True
        await ann.log.wait_for(
            lambda events: any(
                isinstance(e, AddressesChanged) and any("192.0.2.77" in a for a in e.addresses)
                for e in events
            )
        )
        with trio.fail_after(5):
            await told.wait()


async def test_a_stopped_node_closes_its_connections_and_peers_see_it_go(tmp_path: Path) -> None:
    """py-libp2p's shutdown left sockets open: peers went on believing the node was there."""
    async with running_node(make_data_dir(tmp_path, "ann")) as ann:
        async with running_node(make_data_dir(tmp_path, "bo")) as bo:
            await bo.connect(ann)
            bo_peer = bo.node.host.get_id()
            assert bo_peer in ann.node.host.get_connected_peers()
        await ann.log.wait_for(
            lambda events: any(isinstance(e, PeerLost) and e.peer == bo.key for e in events),
            timeout=5,
        )
        assert bo_peer not in ann.node.host.get_connected_peers()


async def test_peers_report_their_latency_once_pinged(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await bo.connect(ann)
        [before] = bo.node.peers()
        assert before.key == ann.key and before.latency_ms is None
        rtt = await bo.node.ping(ann.node.host.get_id())
        assert 0 < rtt < 1000  # milliseconds, on loopback
        [after] = bo.node.peers()
        assert after.latency_ms is not None and after.latency_ms > 0
