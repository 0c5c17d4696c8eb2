"""The known-peers file: what a node remembers so that a restart finds its peers again."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import trio
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.app.datadir import PEERS_NAME
from lndesk.errors import DialError
from lndesk.p2p import peerbook as peerbook_module
from lndesk.p2p.peerbook import MAX_ADDRS, PeerBook


def test_peers_round_trip_newest_first(tmp_path: Path) -> None:
    path = tmp_path / PEERS_NAME
    book = PeerBook(path)
    book.seen("12D3KooWold", ["/ip4/192.0.2.1/tcp/4747"])
    book.seen("12D3KooWnew", ["/ip4/192.0.2.2/tcp/4747"])
    book.seen("12D3KooWold", ["/ip4/192.0.2.3/tcp/4747"])  # seen again: newest now
    book.save()
    again = PeerBook(path)
    assert [p.peer_id for p in again.recent(10)] == ["12D3KooWold", "12D3KooWnew"]
    assert again.peers["12D3KooWold"].addrs == [
        "/ip4/192.0.2.3/tcp/4747",
        "/ip4/192.0.2.1/tcp/4747",
    ]
    assert set(json.loads(path.read_text())["peers"]) == {"12D3KooWold", "12D3KooWnew"}


def test_the_list_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(peerbook_module, "MAX_PEERS", 3)
    book = PeerBook(tmp_path / PEERS_NAME)
    for i in range(5):
        book.seen(f"peer{i}", [f"/ip4/192.0.2.{i}/tcp/{4000 + j}" for j in range(20)])
    assert sorted(book.peers) == ["peer2", "peer3", "peer4"]  # the oldest went
    assert all(len(p.addrs) == MAX_ADDRS for p in book.peers.values())


@pytest.mark.parametrize(
    "content",
    [b"not json", b'{"peers": {"x": {"addrs": []}}}', b'{"peers": []}', b"\xff\xfe"],
)
def test_a_damaged_file_is_ignored_with_a_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / PEERS_NAME
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING):
        book = PeerBook(path)
    assert book.peers == {}
    assert "ignoring the unreadable peer list" in caplog.text
    book.seen("12D3KooWx", ["/ip4/192.0.2.9/tcp/4747"])
    book.save()  # and it is replaced by a good one
    assert list(PeerBook(path).peers) == ["12D3KooWx"]


async def learned_addresses(node: TestNode, other: TestNode) -> None:
    """Wait until ``node``'s peerstore holds ``other``'s listen address (identify)."""
    store = node.node.host.get_peerstore()
    peer_id, wanted = other.node.host.get_id(), other.address.split("/p2p/")[0]
    learned = trio.Event()
    add_addr = store.add_addr

    def noting(pid: Any, addr: Any, ttl: int) -> None:
        add_addr(pid, addr, ttl)
        if pid == peer_id and str(addr).startswith(wanted):
            learned.set()

    store.add_addr = noting  # identify stores each listen address with add_addr
    try:
        if not any(str(a).startswith(wanted) for a in store.addrs(peer_id)):
            with trio.fail_after(10):
                await learned.wait()
    finally:
        store.add_addr = add_addr


async def test_a_restarted_node_finds_its_peers_again(tmp_path: Path) -> None:
    """Bo met Ann once, when she dialled him; after a restart, with no bootstrap and no
    mDNS, Bo dials Ann by himself (at the listen address she announced, not the port
    she dialled from) and gets what she wrote meanwhile."""
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann:
        await ann.post("before")
        async with running_node(bo_dir) as bo:
            await bo.follow(ann)
            await ann.connect(bo)
            await bo.wait_height(ann, 1)
            await learned_addresses(bo, ann)
        saved = json.loads((bo_dir / PEERS_NAME).read_text())["peers"]
        assert ann.address.split("/p2p/")[0] in saved[str(ann.node.host.get_id())]["addrs"]

        await ann.post("written while Bo was away")
        async with running_node(bo_dir) as bo:
            await bo.wait_height(ann, 2)


async def test_a_peer_that_moved_is_reached_at_its_new_address(tmp_path: Path) -> None:
    """Ann's node comes back on another port. Bo tries the old address first (as from
    his peer list) and it fails; the new one (as mDNS or the DHT would bring) must
    still get through, at once."""
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann:
        await ann.post("before the move")
        old_address = ann.address
    async with running_node(ann_dir) as ann, running_node(bo_dir) as bo:
        assert ann.address != old_address
        await ann.post("after the move")
        await bo.follow(ann)
        with pytest.raises(DialError, match="refused"):
            await bo.node.connect(old_address)
        await bo.node.connect(ann.address)
        await bo.wait_height(ann, 2)
