"""Anti-entropy visits ``/lndesk/visit/1`` (docs/protocol.md section 20.16) between whole
nodes on loopback: a visit in which nothing changed is one stream on both sides; a new
entry, a new inbox item and a new fork proof each go on and arrive; a peer that speaks
only the old protocols still gets all three."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio
from inbox_helpers import signed
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.content import Post
from lndesk.entry import decode_entry
from lndesk.entry_refs import Ref
from lndesk.errors import StoreError
from lndesk.p2p.catchup import CATCHUP_PROTOCOL_ID
from lndesk.p2p.digest import DIGEST_PROTOCOL, vector_digest
from lndesk.p2p.events import EntriesStored, FeedForked, NodeWarning
from lndesk.p2p.forks import FORKS_PROTOCOL_ID
from lndesk.p2p.scheduler import PACE_CAP, RoundPace
from lndesk.p2p.sync import SYNC_PROTOCOL
from lndesk.p2p.visit import VISIT_PROTOCOL
from lndesk.store.forks import record_fork

WAIT = 20
CY, LEA = make_identity(81), make_identity(82)
CY_CHAIN = make_chain(CY, 3)


class Streams:
    """The lndesk streams a host opens (``opened``) and those it serves to others
    (``served``), by the protocol asked first."""

    def __init__(self, host: Any) -> None:
        self.opened: list[str] = []
        self.served: list[str] = []
        new_stream = host.new_stream

        async def opening(peer: Any, protocols: Any) -> Any:
            self.opened.append(str(protocols[0]))
            return await new_stream(peer, protocols)

        host.new_stream = opening
        handlers = host.get_mux().handlers
        for protocol, handler in list(handlers.items()):
            if handler is not None and str(protocol).startswith("/lndesk/"):
                handlers[protocol] = self._counted(str(protocol), handler)

    def _counted(self, protocol: str, handler: Any) -> Any:
        async def serving(stream: Any) -> None:
            self.served.append(protocol)
            await handler(stream)

        return serving

    def clear(self) -> None:
        self.opened.clear()
        self.served.clear()


async def settle(bo: TestNode, ann: TestNode) -> None:
    """Wait until Bo's round with Ann has ended: sync, inbox catch-up, fork proofs, and
    Ann remembers the vector Bo ended with."""
    node = bo.node
    await node.scheduler.wait_idle(WAIT)
    await node.inbox_delivery.wait_idle(WAIT)
    assert node.forks is not None
    await node.forks.wait_idle(WAIT)
    wanted = list(dict.fromkeys(node.source.wanted_feeds()))
    vector = vector_digest(node.sync_client.heights_for(ann.node.host.get_id(), wanted))
    with trio.fail_after(WAIT):
        await ann.node.sync_server.vectors.wait_remembered(node.host.get_id(), vector)


@asynccontextmanager
async def pair(
    tmp_path: Path, *, old_server: bool = False
) -> AsyncIterator[tuple[TestNode, TestNode, Any, Streams, Streams]]:
    """Ann follows Cy and Lea and holds Cy's 1..3; Bo follows Ann and Cy and has ended
    his first round with Ann. With ``old_server`` Ann does not speak ``/lndesk/visit/1``."""
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "bo")) as bo,
    ):
        if old_server:
            ann.node.host.remove_stream_handler(VISIT_PROTOCOL)
        await ann.follow(CY.public_key)
        await ann.follow(LEA.public_key)
        ann.service.store.ingest(CY.public_key, wire(CY_CHAIN))
        await ann.post("one")
        await bo.follow(ann)
        await bo.follow(CY.public_key)
        await bo.connect(ann)
        await bo.wait_height(CY.public_key, 3)
        await bo.wait_height(ann, ann.height_of(ann))
        await bo.node.scheduler.wait_idle(WAIT)
        # Ann's entries may have come by gossip while the first session ran, so that Ann
        # remembers another vector than Bo holds: one more session ends with Bo's.
        await bo.node.scheduler.run_round([ann.node.host.get_id()], WAIT)
        await settle(bo, ann)
        reader, server = Streams(bo.node.host), Streams(ann.node.host)
        yield ann, bo, ann.node.host.get_id(), reader, server


async def unchanged_visit(bo: TestNode, peer: Any, reader: Streams, server: Streams) -> None:
    """A visit of Ann in which nothing changed: one stream, opened and served."""
    reader.clear()
    server.clear()
    unchanged = bo.node.visits.counts.unchanged
    with trio.fail_after(WAIT):
        assert await bo.node.visits.visit(peer)
    assert bo.node.visits.counts.unchanged == unchanged + 1
    assert reader.opened == [VISIT_PROTOCOL]
    assert server.served == [VISIT_PROTOCOL]
    assert not bo.node.scheduler.is_syncing(peer)


def mention_of_bo(bo: TestNode) -> tuple[Any, bytes]:
    """Lea (whom Bo does not follow) mentions Bo, now."""
    return signed(LEA, 1, None, Post("hello Bo", mentions=(bo.key,)), int(time.time() * 1000))


def fork_of_cy() -> tuple[bytes, bytes]:
    """Cy's held entry 3 and another one Cy signed at 3."""
    other, _payload = signed(CY, 3, CY_CHAIN[1][0].id, Post("another three"))
    return CY_CHAIN[2][0].raw, other.raw


def forked(node: TestNode, feed: bytes) -> bool:
    return any(isinstance(e, FeedForked) and e.feed == feed for e in node.log.events)


def from_inbox(node: TestNode, feed: bytes) -> bool:
    return any(
        isinstance(e, EntriesStored) and e.feed == feed and e.via == "inbox"
        for e in node.log.events
    )


async def test_a_visit_in_which_nothing_changed_is_one_stream(tmp_path: Path) -> None:
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        await unchanged_visit(bo, peer, reader, server)
        await unchanged_visit(bo, peer, reader, server)
        assert not ann.node.is_penalised(bo.node.host.get_id())
        assert not bo.node.is_penalised(peer)


async def test_entries_got_elsewhere_leave_a_visit_one_stream(tmp_path: Path) -> None:
    """Bo's vector grew from another peer (Cy's entry 4, which Ann does not hold): the
    visit names the vector Bo left Ann with, and Ann holds nothing above it."""
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        bo.service.store.ingest(CY.public_key, wire(make_chain(CY, 4)[3:]))
        await unchanged_visit(bo, peer, reader, server)
        assert ann.height_of(CY.public_key) == 3


async def test_a_new_entry_goes_on_to_a_sync_session_that_wants_at_once(tmp_path: Path) -> None:
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        height = ann.height_of(ann)
        ann.service.post("two")  # stored at Ann, never announced
        with trio.fail_after(WAIT):
            assert await bo.node.visits.visit(peer)
        await bo.wait_height(ann, height + 1)
        await settle(bo, ann)
        assert reader.opened == [VISIT_PROTOCOL, DIGEST_PROTOCOL]
        assert server.served == [VISIT_PROTOCOL, DIGEST_PROTOCOL]
        assert bo.node.visits.counts.unchanged == 0
        await unchanged_visit(bo, peer, reader, server)


async def test_a_new_inbox_item_comes_with_the_answer(tmp_path: Path) -> None:
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        entry, payload = mention_of_bo(bo)
        ann.service.store.ingest(LEA.public_key, [(entry.raw, payload)])
        with trio.fail_after(WAIT):
            assert await bo.node.visits.visit(peer)
        await bo.log.wait_for(lambda _e: from_inbox(bo, LEA.public_key))
        await settle(bo, ann)
        # The references came in the visit's answer: the fetch of the entry follows (and
        # the lookup of the stranger's profile), no inbox catch-up.
        assert reader.opened[:2] == [VISIT_PROTOCOL, SYNC_PROTOCOL]
        assert CATCHUP_PROTOCOL_ID not in reader.opened
        assert server.served[:2] == [VISIT_PROTOCOL, SYNC_PROTOCOL]
        await unchanged_visit(bo, peer, reader, server)


async def test_a_new_fork_proof_is_asked_for_and_kept(tmp_path: Path) -> None:
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        record_fork(ann.service.store, CY.public_key, *fork_of_cy())
        with trio.fail_after(WAIT):
            assert await bo.node.visits.visit(peer)
        await bo.log.wait_for(lambda _e: forked(bo, CY.public_key))
        await settle(bo, ann)
        assert reader.opened == [VISIT_PROTOCOL, FORKS_PROTOCOL_ID]
        assert bo.service.store.feed_state(CY.public_key).forked_at == 3
        # Ann still names Cy as forked; Bo froze it already and asks nothing more.
        await unchanged_visit(bo, peer, reader, server)


async def test_a_peer_without_visits_still_gets_all_three_asked(tmp_path: Path) -> None:
    async with pair(tmp_path, old_server=True) as (ann, bo, peer, reader, server):
        height = ann.height_of(ann)
        ann.service.post("two")
        entry, payload = mention_of_bo(bo)
        ann.service.store.ingest(LEA.public_key, [(entry.raw, payload)])
        record_fork(ann.service.store, CY.public_key, *fork_of_cy())
        with trio.fail_after(WAIT):
            assert not await bo.node.visits.visit(peer)  # na: the old round instead
        await bo.wait_height(ann, height + 1)
        await bo.log.wait_for(lambda _e: from_inbox(bo, LEA.public_key))
        await bo.log.wait_for(lambda _e: forked(bo, CY.public_key))
        await settle(bo, ann)
        assert reader.opened[0] == VISIT_PROTOCOL
        assert {DIGEST_PROTOCOL, CATCHUP_PROTOCOL_ID, FORKS_PROTOCOL_ID} <= set(reader.opened)
        assert VISIT_PROTOCOL not in server.served
        # Not proposed again for a while: the next round goes straight to the old protocols.
        reader.clear()
        with trio.fail_after(WAIT):
            assert not await bo.node.visits.visit(peer)
        await settle(bo, ann)
        assert VISIT_PROTOCOL not in reader.opened
        assert DIGEST_PROTOCOL in reader.opened
        assert not bo.node.is_penalised(peer)
        assert decode_entry(entry.raw).author == LEA.public_key


async def test_an_inbox_answer_that_left_something_to_fetch_is_asked_again(
    tmp_path: Path,
) -> None:
    """Only an answer whose references are all held afterwards is checked by its digest
    at the next visit; one naming an entry the server did not send is asked again."""
    async with pair(tmp_path) as (ann, bo, peer, reader, _server):
        inbox = bo.node.inbox_delivery
        checks, unasked = inbox.visit_checks(peer)
        assert [check[0] for check in checks] == [bo.key] and not unasked
        ghost = Ref(LEA.public_key, 1, bytes(32))  # Ann holds no such entry
        inbox.take_refs_soon(peer, bo.key, 0, [ghost])
        await inbox.wait_idle(WAIT)
        assert inbox.visit_checks(peer) == ([], [bo.key])
        reader.clear()
        with trio.fail_after(WAIT):
            assert await bo.node.visits.visit(peer)
        await settle(bo, ann)
        assert reader.opened == [VISIT_PROTOCOL, CATCHUP_PROTOCOL_ID]
        assert [check[0] for check in inbox.visit_checks(peer)[0]] == [bo.key]


async def test_a_store_that_fails_while_a_visit_is_prepared_warns_and_stops_nothing(
    tmp_path: Path,
) -> None:
    """Bo's store cannot be read as a round's visit is prepared: Bo warns, blames no
    one, and the node runs on; the next visit, once the store reads again, is one
    stream."""
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        source = bo.node.source
        holes = source.payload_holes

        def unreadable(*args: Any) -> Any:
            raise StoreError("the index could not be read (simulated)")

        source.payload_holes = unreadable  # type: ignore[method-assign]
        bo.node.visits.visit_soon(peer)

        def warned(events: list[Any]) -> bool:
            return any(isinstance(e, NodeWarning) and "simulated" in e.message for e in events)

        await bo.log.wait_for(warned)
        source.payload_holes = holes  # type: ignore[method-assign]
        await unchanged_visit(bo, peer, reader, server)
        assert not ann.node.is_penalised(bo.node.host.get_id())
        assert not bo.node.is_penalised(peer)


async def test_an_authors_posts_that_its_followers_got_from_it_leave_its_visits_one_stream(
    tmp_path: Path,
) -> None:
    """A star: the hub follows no one and wants only its own feed, which grows by
    publishing, never by a session. Its followers got the new post from the hub itself
    (its announcement): a visit that names the vector the hub left them with before the
    post is still one stream, and nothing goes on."""
    async with (
        running_node(make_data_dir(tmp_path, "hub")) as hub,
        running_node(make_data_dir(tmp_path, "f1")) as f1,
        running_node(make_data_dir(tmp_path, "f2")) as f2,
    ):
        followers = (f1, f2)
        for follower in followers:
            await follower.follow_live(hub)
        await hub.post("warm-up")
        for follower in followers:
            await follower.wait_height(hub, hub.height_of(hub))
        peers = [follower.node.host.get_id() for follower in followers]
        await hub.node.scheduler.run_round(peers, WAIT)  # the followers learn the vector
        for follower in followers:
            await settle(hub, follower)
        await hub.post("by gossip")  # no session: only the announcement
        for follower in followers:
            await follower.wait_height(hub, hub.height_of(hub))
        reader = Streams(hub.node.host)
        for follower, peer in zip(followers, peers, strict=True):
            server = Streams(follower.node.host)
            await unchanged_visit(hub, peer, reader, server)
            await unchanged_visit(hub, peer, reader, server)


def test_a_calm_peers_rounds_come_2_4_8_rounds_apart_and_all_again_after_a_change() -> None:
    pace = RoundPace()
    visited = []
    for number in range(40):  # every visit finds nothing changed
        if pace.due("ann"):
            visited.append(number)
            pace.unchanged("ann")
    assert visited == [0, 2, 6, 14, 22, 30, 38]  # at most PACE_CAP rounds apart
    assert PACE_CAP == 8
    assert pace.due("bo")  # another peer is not calmed by Ann's visits
    pace.stirred("ann")
    assert pace.due("ann") and pace.due("ann")
    pace.unchanged("ann")
    pace.unchanged("bo")
    pace.restart()  # a session stored entries: every round due with everyone
    assert pace.due("ann") and pace.due("bo")
    never = RoundPace(cap=1)
    never.unchanged("ann")
    assert never.due("ann")


async def test_the_timer_skips_rounds_with_a_calm_peer_until_something_changes(
    tmp_path: Path,
) -> None:
    """Bo's timer rounds with Ann (section 20.16): one skipped after a visit found
    nothing changed, three after two such visits; a visit in which something differed
    makes every round due again, and so does a session that stored entries, from
    whichever peer (gossip missed them, and may have missed more)."""
    async with pair(tmp_path) as (ann, bo, peer, reader, server):
        visits, pace = bo.node.visits, bo.node.scheduler.pace
        await unchanged_visit(bo, peer, reader, server)
        visits.periodic_round(peer)
        assert visits.counts.skipped == 1 and not visits.is_visiting(peer)
        await unchanged_visit(bo, peer, reader, server)
        for _ in range(3):
            visits.periodic_round(peer)
        assert visits.counts.skipped == 4 and not visits.is_visiting(peer)

        await unchanged_visit(bo, peer, reader, server)
        ann.service.post("two")  # stored at Ann, never announced
        with trio.fail_after(WAIT):
            assert await visits.visit(peer)  # heights differ: a session follows
        assert pace.due(peer)
        await bo.wait_height(ann, ann.height_of(ann))
        await settle(bo, ann)

        await unchanged_visit(bo, peer, reader, server)
        await unchanged_visit(bo, peer, reader, server)
        ann.service.store.ingest(CY.public_key, wire(make_chain(CY, 4)[3:]))  # unannounced
        bo.node.request_sync(peer, [CY.public_key])
        await bo.wait_height(CY.public_key, 4)
        await bo.node.scheduler.wait_idle(WAIT)
        assert pace.due(peer)
        visits.periodic_round(peer)
        assert visits.is_visiting(peer)
