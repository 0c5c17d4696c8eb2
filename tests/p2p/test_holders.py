"""Valid but expensive wants are bounded, and "seen by N peers" counts only proven
holders (docs/protocol.md section 20.13)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import TestNode, make_data_dir, running_node

from lndesk.p2p import wire as frames
from lndesk.p2p.admission import ServerBusy
from lndesk.p2p.config import Limits
from lndesk.p2p.digest import vector_digest
from lndesk.p2p.events import HolderProven, PeerHolds, PeerPenalised, SyncFinished
from lndesk.p2p.holders import ProvenHeights, WantRate
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sync import SYNC_PROTOCOL


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_want_rate_is_a_bucket_per_peer() -> None:
    clock = Clock()
    rate = WantRate(600, clock)  # ten feeds a second
    rate.charge("ann", 500)
    rate.charge("ann", 100)
    with pytest.raises(ServerBusy, match="600 feeds a minute"):
        rate.charge("ann", 1)
    rate.charge("bo", 600)  # each peer has its own bucket
    clock.now += 5  # 50 feeds back
    rate.charge("ann", 50)
    with pytest.raises(ServerBusy):
        rate.charge("ann", 1)
    clock.now += 1000  # full again, never more than full
    rate.charge("ann", 600)
    with pytest.raises(ServerBusy):
        rate.charge("ann", 1)


def proven(node: TestNode, peer: bytes) -> list[int]:
    return [e.height for e in node.log.events if isinstance(e, HolderProven) and e.peer == peer]


async def test_a_reader_that_fetched_my_entries_is_a_proven_holder(tmp_path: Path) -> None:
    """Bo fetches Ann's entries by sync and acks them: that proves he holds them.

    Ann's announcements carry no payload here. With payloads, GossipSub's IHAVE of the
    announcements Ann published before Bo came (still in her message cache) could give
    Bo all her entries before his sync session asked for them: he then asked for
    nothing, acked nothing, and is proven only by Ann's next round with him (the test
    below)."""
    async with (
        running_node(make_data_dir(tmp_path, "ann"), limits=Limits(gossip_payload=0)) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        for i in range(3):
            await ann.post(f"post {i}")
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.wait_height(ann, 3)
        assert bo.log.stored(ann.key, via="sync") == 3
        await ann.log.wait_for(lambda _e: 3 in proven(ann, bo.key))


def synced_with(node: TestNode, peer: bytes) -> bool:
    return any(isinstance(e, SyncFinished) and e.peer == peer for e in node.log.events)


async def test_a_follower_that_took_my_entries_from_gossip_is_proven_by_my_check(
    tmp_path: Path,
) -> None:
    """Entries that reach Bo by gossip are acked by no one, and as Ann sent them to him
    herself, he counts her feed as held by her up to there (section 20.15): a digest of
    her rounds is answered ``same``. The check she runs after a publish sends ``want``,
    and proves Bo a holder by the entry he serves her."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await bo.follow_live(ann)
        await bo.log.wait_for(lambda _e: synced_with(bo, ann.key))
        await ann.log.wait_for(lambda _e: synced_with(ann, bo.key))
        for i in range(3):
            await ann.post(f"post {i}")
        await bo.wait_height(ann, 3)
        assert bo.log.stored(ann.key, via="gossip") == 3
        ann.node.check_holders(ann.key)
        await ann.log.wait_for(lambda _e: 3 in proven(ann, bo.key))


async def test_a_peer_that_got_my_feed_elsewhere_proves_it_by_serving_my_entry(
    tmp_path: Path,
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
        running_node(make_data_dir(tmp_path, "cy")) as cy,
    ):
        for i in range(2):
            await ann.post(f"post {i}")
        await bo.follow(ann)
        await bo.connect(ann)
        await bo.wait_height(ann, 2)
        await cy.follow(ann)
        await cy.connect(bo)
        await cy.wait_height(ann, 2)
        await ann.connect(cy)  # Cy never fetched from Ann; Ann asks Cy about her feed
        await ann.node.sync_now(timeout=20)
        await ann.log.wait_for(lambda _e: 2 in proven(ann, cy.key))


async def test_a_made_up_claim_is_no_proof(tmp_path: Path) -> None:
    """A peer claiming in its want to hold Ann's feed far ahead, and a server claiming it
    holds Ann's feed but serving another entry, are never counted as holders."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_host() as liar,
    ):
        await ann.post("the only post")
        host = ann.node.host
        liar_key = public_key_of(liar.get_id())
        assert liar_key is not None
        other = await make_other_entry(tmp_path)

        async def serve_a_wrong_entry(stream: Any) -> None:
            io = frames.FrameStream(stream, 1 << 20)
            await io.receive()
            await io.send(frames.Have((frames.FeedHave(ann.key, 1, 1),)))
            while (message := await io.receive()) is not None:
                if isinstance(message, frames.Get):
                    await io.send(frames.Batch(ann.key, ((other, None),)))
                    await io.send(frames.Done())

        liar.set_stream_handler(SYNC_PROTOCOL, serve_a_wrong_entry)
        await liar.connect(PeerInfo(host.get_id(), host.get_addrs()))
        stream = await liar.new_stream(host.get_id(), [SYNC_PROTOCOL])
        io = frames.FrameStream(stream, 1 << 20)
        await io.send(frames.Want(((ann.key, 1_000_000),)))
        with trio.fail_after(10):
            assert isinstance(await io.receive(), frames.Have)
        await stream.close()
        await ann.node.sync_now(timeout=20)
        claims = [e for e in ann.log.events if isinstance(e, PeerHolds) and e.peer == liar_key]
        assert [c.height for c in claims] == [1_000_000]  # reported as what it is: a claim
        assert proven(ann, liar_key) == []
        assert not [e for e in ann.log.events if isinstance(e, PeerPenalised)]


async def make_other_entry(tmp_path: Path) -> bytes:
    """An entry at seq 1 of another author (bytes that are not Ann's entry 1)."""
    async with running_node(make_data_dir(tmp_path, "other")) as other:
        await other.post("not Ann's")
        run = other.service.store.read_run(other.key, 1, 1, 1, 1 << 20)
        return bytes(run[0][1])


async def test_a_flood_of_valid_wants_is_answered_busy_and_reports_nothing(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_host() as flooder,
    ):
        await ann.post("hello")
        host = ann.node.host
        key = public_key_of(flooder.get_id())
        await flooder.connect(PeerInfo(host.get_id(), host.get_addrs()))
        before = len(ann.log.events)
        answered, refused = 0, None
        with trio.fail_after(60):
            for _ in range(10):
                want = frames.Want(tuple((os.urandom(32), 7) for _ in range(5000)))
                try:
                    stream = await flooder.new_stream(host.get_id(), [SYNC_PROTOCOL])
                    io = frames.FrameStream(stream, 1 << 20)
                    await io.send(want)
                    reply = await io.receive()
                except Exception:  # cut off
                    break
                if not isinstance(reply, frames.Have):
                    refused = reply
                    break
                answered += 1
                await stream.close()
        assert answered == 4  # 20,000 feeds a minute
        assert isinstance(refused, frames.Error) and refused.code == "busy"
        assert "feeds a minute" in refused.message
        # Not a violation: an honest reader whose connection keeps coming back names
        # its feeds at every new one (test_want_rate_honest).
        assert not [e for e in ann.log.events if isinstance(e, PeerPenalised) and e.peer == key]
        # Claims about feeds that are not Ann's own are not reported at all.
        assert not [e for e in ann.log.events[before:] if isinstance(e, PeerHolds)]


async def test_an_ack_proves_no_more_than_was_sent(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_host() as reader,
    ):
        for i in range(3):
            await ann.post(f"post {i}")
        host = ann.node.host
        key = public_key_of(reader.get_id())
        assert key is not None
        await reader.connect(PeerInfo(host.get_id(), host.get_addrs()))
        stream = await reader.new_stream(host.get_id(), [SYNC_PROTOCOL])
        io = frames.FrameStream(stream, 1 << 20)
        with trio.fail_after(10):
            await io.send(frames.Want(((ann.key, 0),)))
            assert isinstance(await io.receive(), frames.Have)
            await io.send(frames.Get(ann.key, 1, 2))
            assert isinstance(await io.receive(), frames.Batch)
            await io.send(frames.Ack(1_000_000))  # a lie: it got entries 1..2
            assert isinstance(await io.receive(), frames.Done)
            await ann.log.wait_for(lambda _e: bool(proven(ann, key)))
        assert proven(ann, key) == [2]


async def test_a_holder_check_asks_heights_even_when_the_peer_would_answer_same(
    tmp_path: Path,
) -> None:
    """A check after a publish (``check_holders``) must learn how far a peer holds my
    feed. When my last session left Bo with the vector I name now (my feed at what Bo
    proved he holds: nothing), a digest would be answered ``same``, as Bo counts my feed
    as held by me up to the head I sent him myself, which says nothing of how far he
    holds it: the check sends ``want`` and proves Bo by his entry."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await bo.follow_live(ann)
        await bo.log.wait_for(lambda _e: synced_with(bo, ann.key))
        await ann.log.wait_for(lambda _e: synced_with(ann, bo.key))
        await ann.post("post 0")
        await bo.wait_height(ann, 1)
        assert not proven(ann, bo.key)
        # Both ends remember the vector a session that ran before Bo held the post
        # would have left: Ann's feed at what Bo proved, 0.
        bo_peer = bo.node.host.get_id()
        vector = ann.node.sync_client.heights_for(bo_peer, [ann.key])
        assert vector == [(ann.key, 0)]
        ann.node.sync_client.sent_vectors.remember(bo_peer, vector_digest(vector))
        bo.node.sync_server.vectors.remember(ann.node.host.get_id(), vector)
        finished = len([e for e in ann.log.events if isinstance(e, SyncFinished)])
        ann.node.check_holders(ann.key)
        await ann.log.wait_for(
            lambda _e: len([e for e in ann.log.events if isinstance(e, SyncFinished)]) > finished
        )
        await ann.log.wait_for(lambda _e: 1 in proven(ann, bo.key))


async def test_a_peer_that_got_my_post_elsewhere_after_my_round_is_proven_by_the_next_visit(
    tmp_path: Path,
) -> None:
    """My round with Bo ran before he held my post and left him a vector of my feed. He
    then got the post from someone else (here: straight into his store). My next visit
    names my feed at the height Bo proved he holds (none): he holds more than that, so
    he answers heights false and the session that follows proves him by the entry he
    serves. Named at my own height, his answer would say only that he holds nothing
    above it, and no later round would ask him again: "seen by" would never count him."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await ann.post("post 0")
        await bo.connect(ann)
        await ann.log.wait_for(lambda _e: synced_with(ann, bo.key))
        bo_peer, ann_peer = bo.node.host.get_id(), ann.node.host.get_id()
        wanted = list(ann.node.source.wanted_feeds())
        left = ann.node.sync_client.visit_vector(bo_peer, wanted)
        assert left is not None  # the next round is a visit naming the vector left
        with trio.fail_after(10):
            await bo.node.sync_server.vectors.wait_remembered(ann_peer, left)
        bo.service.store.ingest(ann.key, list(ann.service.store.feed_items(ann.key)))
        assert not proven(ann, bo.key)
        assert await ann.node.visits.visit(bo_peer)
        await ann.log.wait_for(lambda _e: 1 in proven(ann, bo.key))


async def test_a_peer_that_proved_my_feed_is_not_asked_for_my_entry_again(
    tmp_path: Path,
) -> None:
    """Bo holds my feed at 1 and proved it; I hold 2. A holder check acks with my own
    height, so the vector it leaves names my feed at 2, and the next round (naming it
    at 1, what Bo proved) sends want. That round asks Bo for nothing: it would prove 1
    again, ack 2 again, and every later round would ask again for the same entry of
    mine. The round after it is answered same."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        await ann.post("post 0")
        await ann.post("post 1")
        bo.service.store.ingest(ann.key, list(ann.service.store.feed_items(ann.key))[:1])
        await bo.connect(ann)
        await ann.log.wait_for(lambda _e: 1 in proven(ann, bo.key))
        bo_peer = bo.node.host.get_id()
        await ann.node.sync_client.sync_with(bo_peer)
        before = len(proven(ann, bo.key))
        await ann.node.sync_client.sync_with(bo_peer)
        report = await ann.node.sync_client.sync_with(bo_peer)
        assert len(proven(ann, bo.key)) == before
        assert report.unchanged == 1
        assert bo.service.store.feed_state(ann.key).height == 1


def test_the_own_feed_is_named_at_the_height_a_peer_proved() -> None:
    own, other = b"\x01" * 32, b"\x02" * 32
    heights = ProvenHeights(lambda: own, size=2)
    seen: list[Any] = []
    sink = heights.watching(seen.append)
    assert heights.named(b"ann", own, 9) == 0  # nothing proven: asks the peer to show it
    sink(HolderProven(b"ann", own, 5))
    sink(HolderProven(b"ann", own, 3))  # a later, lower proof keeps the higher height
    sink(HolderProven(b"ann", other, 8))  # another feed's proof is not the own feed's
    assert len(seen) == 3  # every event goes on
    assert heights.named(b"ann", own, 9) == 5
    assert heights.named(b"ann", own, 4) == 4  # never above what is held
    assert heights.named(b"ann", other, 9) == 9  # other feeds at the height held
    assert heights.named(None, own, 9) == 9  # a peer without a key: as held
    sink(HolderProven(b"bo", own, 1))
    sink(HolderProven(b"cy", own, 1))
    assert heights.named(b"ann", own, 9) == 0  # forgotten, the least recently proven
