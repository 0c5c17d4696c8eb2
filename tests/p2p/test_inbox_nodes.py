"""Questions and answers across one-way follows, between whole nodes on 127.0.0.1.

Lea follows Ann; Ann does not follow Lea. Lea's reply reaches Ann by Ann's inbox topic
when both are online, by inbox catch-up when Ann was offline; shares and replies bring
the entries they name along; a blocked feed is neither served, stored nor relayed.
Nothing sleeps: every wait is on an event under a timeout.
"""

from __future__ import annotations

from pathlib import Path

import trio
from inbox_helpers import entry_ref, held_ids, reference_addressed_to, signed
from node_helpers import GossipTaken, TestNode, make_data_dir, running_node
from store_helpers import make_chain, make_identity, wire

from lndesk.content import Content, Follow, Post, Reply, Share
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.p2p.events import EntriesStored, PeerPenalised
from lndesk.store import views
from lndesk.store.store import Store, now_ms

WAIT = 20.0


async def publish(node: TestNode, content: Content) -> Entry:
    entry: Entry = await node.app.publish(lambda s: s.publish(content))
    return entry


def inbox_stored(node: TestNode, feed: bytes) -> list[EntriesStored]:
    return [
        e
        for e in node.log.events
        if isinstance(e, EntriesStored) and e.feed == feed and e.via == "inbox"
    ]


def holds(node: TestNode, entry: Entry) -> bool:
    return entry.id in held_ids(node.service.store, entry.author)


async def wait_holds(node: TestNode, entry: Entry, timeout: float = WAIT) -> None:
    await node.log.wait_for(lambda _events: holds(node, entry), timeout)


async def lea_follows_ann(lea: TestNode, ann: TestNode) -> None:
    """Lea follows Ann and connects; both see each other on Ann's inbox topic."""
    await lea.follow(ann)
    await lea.connect(ann)
    with trio.fail_after(WAIT):
        await lea.node.gossip.wait_for_inbox_peers(ann.key, 1)
        await ann.node.gossip.wait_for_inbox_peers(lea.key, 1)


# --- (a) both online: live delivery through the inbox topics -------------------------------


async def test_question_reply_and_answer_travel_live(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "lea")) as lea,
    ):
        await lea_follows_ann(lea, ann)
        question = await publish(ann, Post("What makes fractions hard to teach?", question=True))
        await wait_holds(lea, question)

        started = trio.current_time()
        reply = await publish(lea, Reply("Equivalence.", ref_of(question), ref_of(question)))
        await wait_holds(ann, reply)
        latency = trio.current_time() - started
        assert inbox_stored(ann, lea.key), "the reply came by Ann's inbox topic"
        assert lea.key not in ann.service.store.following(ann.key)
        print(f"reply to inbox latency on loopback: {latency * 1000:.1f} ms")

        answer = await publish(ann, Reply("Paper strips help.", ref_of(question), ref_of(reply)))
        await wait_holds(lea, answer)
        assert not any(isinstance(e, PeerPenalised) for e in ann.log.events + lea.log.events)


async def test_a_mention_reaches_someone_who_follows_no_one(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "lea")) as lea,
    ):
        await lea.connect(ann)
        with trio.fail_after(WAIT):
            await lea.node.gossip.wait_for_inbox_peers(ann.key, 1)
        mention = await publish(lea, Post("Ann knows this.", mentions=(ann.key,)))
        await wait_holds(ann, mention)
        assert inbox_stored(ann, lea.key)


# --- (b) Ann offline at reply time: inbox catch-up ------------------------------------------


async def test_reply_sent_while_offline_arrives_by_catch_up_from_its_author(
    tmp_path: Path,
) -> None:
    ann_dir = make_data_dir(tmp_path, "ann")
    async with running_node(make_data_dir(tmp_path, "lea")) as lea:
        async with running_node(ann_dir) as ann:
            await lea_follows_ann(lea, ann)
            question = await publish(ann, Post("Who has a good worksheet?", question=True))
            await wait_holds(lea, question)
        reply = await publish(lea, Reply("I do.", ref_of(question), ref_of(question)))
        async with running_node(ann_dir) as ann:
            assert not holds(ann, reply)
            await ann.connect(lea)
            await wait_holds(ann, reply)
            (event,) = inbox_stored(ann, lea.key)
            assert event.peer == lea.key


async def test_reply_kept_by_a_follower_reaches_its_addressee_after_the_author_left(
    tmp_path: Path,
) -> None:
    """Sam follows Ann and keeps what arrives on Ann's inbox topic from people within his
    two follow hops (Sam follows Bo, who follows Lea); Lea replies while Ann is offline,
    then leaves too; Ann comes back, meets only Sam, and gets the reply."""
    ann_dir, lea_dir = make_data_dir(tmp_path, "ann"), make_data_dir(tmp_path, "lea")
    async with running_node(make_data_dir(tmp_path, "sam")) as sam:
        async with running_node(ann_dir) as ann, running_node(lea_dir) as lea:
            await lea_follows_ann(lea, ann)
            bo = make_identity(43)
            bo_follows_lea, payload = signed(bo, 1, None, Follow(lea.key))
            await sam.follow(bo.public_key)
            sam.service.store.ingest(bo.public_key, [(bo_follows_lea.raw, payload)])
            await sam.follow(ann)
            await sam.connect(ann)
            question = await publish(ann, Post("Any tips for group work?", question=True))
            await wait_holds(lea, question)
            await wait_holds(sam, question)
        async with running_node(lea_dir) as lea:
            await lea.connect(sam)
            with trio.fail_after(WAIT):
                await lea.node.gossip.wait_for_inbox_peers(ann.key, 1)
            reply = await publish(lea, Reply("Small groups.", ref_of(question), ref_of(question)))
            await wait_holds(sam, reply)  # kept from Ann's inbox topic, Lea not followed
            assert inbox_stored(sam, lea.key)
        async with running_node(ann_dir) as ann:
            await ann.connect(sam)
            await wait_holds(ann, reply)
            assert inbox_stored(ann, lea.key)[-1].peer == sam.key


# --- (c) a share brings the shared entry ----------------------------------------------------


async def test_a_share_brings_the_original_from_the_sharer(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "sam")) as sam,
        running_node(make_data_dir(tmp_path, "fay")) as fay,
    ):
        original = await ann.post("A lesson on ratios.")
        await sam.follow(ann)
        await sam.connect(ann)
        await wait_holds(sam, original)
        await publish(sam, Share(ref_of(original), "Good one"))
        await fay.follow(sam)
        await fay.connect(sam)
        await wait_holds(fay, original)
        fetched = [
            e
            for e in fay.log.events
            if isinstance(e, EntriesStored) and e.feed == ann.key and e.via == "fetch"
        ]
        assert fetched and fetched[0].peer == sam.key
        assert ann.node.host.get_id() not in fay.node.host.get_connected_peers()
        assert ann.key not in fay.service.store.following(fay.key)


async def test_a_reply_brings_its_parent_and_fetch_refs_skips_wrong_ids(tmp_path: Path) -> None:
    ann, bob = make_identity(31), make_identity(32)
    post = make_chain(ann, 1)[0][0]
    async with (
        running_node(make_data_dir(tmp_path, "sam")) as sam,
        running_node(make_data_dir(tmp_path, "fay")) as fay,
    ):
        chain = make_chain(ann, 1)
        sam.service.store.ingest(ann.public_key, wire(chain))
        reply, reply_payload = signed(bob, 1, None, Reply("yes", ref_of(post), ref_of(post)))
        sam.service.store.ingest(bob.public_key, [(reply.raw, reply_payload)])
        await fay.follow(bob.public_key)
        await fay.connect(sam)
        await wait_holds(fay, post)  # the reply's parent, fetched after the reply

        wrong = (bob.public_key, 1, bytes(32))
        assert await fay.node.fetch_refs([wrong]) == 0  # held with another id: skipped
        assert await fay.node.fetch_refs([(ann.public_key, 2, bytes(32))], sam.key) == 0


# --- (d) a blocked feed --------------------------------------------------------------------


async def test_a_blocked_feed_is_neither_served_stored_nor_kept_from_the_inbox(
    tmp_path: Path,
) -> None:
    bo = make_identity(41)
    bo_chain = make_chain(bo, 3)
    async with (
        running_node(make_data_dir(tmp_path, "x")) as x,
        running_node(make_data_dir(tmp_path, "p")) as p,
    ):
        x.service.store.ingest(bo.public_key, wire(bo_chain))
        x.service.local.set_blocked(bo.public_key, True, now_ms())
        # Served to no one: P follows Bo, syncs with X, gets nothing.
        await p.follow(bo.public_key)
        await p.connect(x)
        with trio.fail_after(WAIT):
            await p.node.sync_now()
        assert p.height_of(bo.public_key) == 0
        assert await p.node.fetch_refs([entry_ref(bo_chain[0][0])], x.key) == 0
        assert bo.public_key not in list(x.app.feeds.held_feeds())

        # Not stored when offered: a fetch, or an ingest, stores nothing and blames no one.
        p.service.store.ingest(bo.public_key, wire(bo_chain))
        more = make_chain(bo, 2, start_seq=4, prev=bo_chain[-1][0].id)
        p.service.store.ingest(bo.public_key, wire(more))
        assert await x.node.fetch_refs([entry_ref(more[0][0])], p.key) == 0
        assert x.app.feeds.ingest(bo.public_key, wire(more)).stored == 0
        assert x.service.store.feed_state(bo.public_key).max_seq == 3

        # Not kept from the inbox: Bo's reply to X, forwarded by P, is dropped; an
        # unblocked author's reply forwarded once X has taken Bo's in is stored. Gossip
        # keeps no order, but X handles one topic's notices in turn: when it holds Cy's
        # reply it has handled Bo's.
        mine = await x.post("My question")
        cy = make_identity(42)
        bo_reply, bo_payload = signed(
            bo, 6, more[-1][0].id, Reply("spam", ref_of(mine), ref_of(mine))
        )
        cy_reply, cy_payload = signed(cy, 1, None, Reply("real", ref_of(mine), ref_of(mine)))
        with trio.fail_after(WAIT):
            await p.node.gossip.wait_for_inbox_peers(x.key, 1)
        taken = GossipTaken(x)
        await p.node.gossip.notify(x.key, bo_reply.raw, bo_payload)
        await taken.wait_for(bo_reply.raw)
        await p.node.gossip.notify(x.key, cy_reply.raw, cy_payload)
        await wait_holds(x, cy_reply)
        assert not holds(x, bo_reply)
        assert not any(isinstance(e, PeerPenalised) for e in x.log.events)


# --- the store's answer ------------------------------------------------------------------


def test_store_addressed_to_agrees_with_the_reference(tmp_path: Path) -> None:
    ann, lea, bo = make_identity(51), make_identity(52), make_identity(53)
    with Store(tmp_path / "s") as store:
        question = make_chain(ann, 1)[0][0]
        store.ingest(ann.public_key, wire(make_chain(ann, 1)))
        r1 = signed(lea, 1, None, Reply("a", ref_of(question), ref_of(question)), 5000)
        r2 = signed(lea, 2, r1[0].id, Post("hi", mentions=(ann.public_key,)), 9000)
        r3 = signed(bo, 1, None, Share(ref_of(question)), 7000)
        r4 = signed(bo, 2, r3[0].id, Post("not addressed"), 8000)
        store.ingest(lea.public_key, [(e.raw, p) for e, p in (r1, r2)])
        store.ingest(bo.public_key, [(e.raw, p) for e, p in (r3, r4)])
        key = ann.public_key
        for since, limit in ((0, 500), (6000, 500), (0, 2)):
            got = views.addressed_to(store, key, since_ms=since, limit=limit)
            assert got == reference_addressed_to(store, key, since_ms=since, limit=limit)
