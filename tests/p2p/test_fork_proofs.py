"""Fork proofs travel: A forks, B detects it, C syncs only from B and learns of it."""

from __future__ import annotations

from pathlib import Path

import trio
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.app.ownlog import OWN_LOG_CONFIRMED, OwnLog, save_own_log
from lndesk.app.service import Service, restore_identity
from lndesk.cli.render import describe_feed
from lndesk.entry import decode_entry
from lndesk.p2p.events import FeedForked, PeerPenalised
from lndesk.store.forks import fork_pair


def _forked_author(tmp_path: Path) -> tuple[Path, Path, bytes]:
    """Ann's laptop holds entries 1..3; a second device restored from her words with only
    1..2 signs a different 3 and a 4: the same key, two branches from entry 3."""
    first = make_data_dir(tmp_path, "ann")
    with Service(first) as ann:
        for i in range(3):
            ann.post(f"laptop {i + 1}")
        key, words = ann.public_key, ann.backup_words()
        items = list(ann.store.feed_items(key))
    second = tmp_path / "ann-phone"
    restore_identity(second, words)
    save_own_log(second, OwnLog(state=OWN_LOG_CONFIRMED))  # the user confirmed too early
    with Service(second) as phone:
        phone.store.ingest(key, items[:2])
        assert phone.post("phone 3").seq == 3
        phone.post("phone 4")
    return first, second, key


def _forked(node: TestNode, feed: bytes) -> bool:
    return any(isinstance(e, FeedForked) and e.feed == feed for e in node.log.events)


async def test_a_follower_learns_of_a_fork_from_a_peer_that_saw_it(tmp_path: Path) -> None:
    laptop_dir, phone_dir, ann = _forked_author(tmp_path)
    bo_dir, cy_dir = make_data_dir(tmp_path, "bo"), make_data_dir(tmp_path, "cy")
    async with running_node(bo_dir) as bo:
        await bo.follow(ann)
        async with running_node(laptop_dir) as laptop:
            await bo.connect(laptop)
            await bo.wait_height(ann, 3)
        async with running_node(phone_dir) as phone:
            await bo.connect(phone)
            await bo.log.wait_for(lambda _e: _forked(bo, ann))
        assert bo.service.store.feed_state(ann).forked_at == 3
        pair = fork_pair(bo.service.store, ann)
        assert pair is not None
        assert {decode_entry(e).seq for e in pair} == {3}

        # Cy follows Ann and meets only Bo (both Ann's devices are off).
        async with running_node(cy_dir) as cy:
            await cy.follow(ann)
            await cy.connect(bo)
            await cy.log.wait_for(lambda _e: _forked(cy, ann))
            state = cy.service.store.feed_state(ann)
            assert state.forked_at == 3
            assert "FORKED at 3" in describe_feed(state)
            assert fork_pair(cy.service.store, ann) == pair  # Cy can serve it in turn
            assert not any(isinstance(e, FeedForked) and e.feed != ann for e in cy.log.events)


async def test_a_peer_without_a_fork_sends_no_proof(tmp_path: Path) -> None:
    ann_dir, bo_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "bo")
    async with running_node(ann_dir) as ann, running_node(bo_dir) as bo:
        await ann.post("one")
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.wait_height(ann, 1)
        peer = next(iter(bo.node.host.get_connected_peers()))
        assert bo.node.forks is not None
        with trio.fail_after(20):
            assert await bo.node.forks.check(peer) == 0
        assert bo.service.store.feed_state(ann.key).forked_at is None


class _ForgedSource:
    """A hostile server's store: its "proof" has a second entry with a broken signature."""

    def __init__(self, pair: tuple[bytes, bytes]) -> None:
        self.pair = pair

    def fork_proof(self, key: bytes) -> tuple[bytes, bytes] | None:
        return self.pair if key == decode_entry(self.pair[0]).author else None

    def record_fork(self, key: bytes, first: bytes, second: bytes) -> int:
        raise AssertionError("not used by a server")


async def test_a_forged_proof_is_refused_and_its_sender_penalised(tmp_path: Path) -> None:
    ann_dir, bo_dir, cy_dir = (make_data_dir(tmp_path, n) for n in ("ann", "bo", "cy"))
    with Service(ann_dir) as ann_service:
        real = ann_service.post("the only entry 1")
        ann = ann_service.public_key
    forged = real.raw[:-50] + bytes([real.raw[-50] ^ 1]) + real.raw[-49:]  # R altered
    pair = tuple(sorted([real.raw, forged], key=lambda raw: decode_entry(raw).id))
    async with running_node(bo_dir) as bo, running_node(cy_dir) as cy:
        assert bo.node.forks is not None and cy.node.forks is not None
        bo.node.forks.server.source = _ForgedSource(pair)  # type: ignore[assignment]
        await cy.follow(ann)
        await cy.connect(bo)
        bo_peer = next(iter(cy.node.host.get_connected_peers()))
        with trio.fail_after(20):
            assert await cy.node.forks.check(bo_peer) == 0
        assert cy.service.store.feed_state(ann).forked_at is None
        assert cy.node.is_penalised(bo_peer)
        assert any(
            isinstance(e, PeerPenalised) and "invalid signature" in e.reason for e in cy.log.events
        )
