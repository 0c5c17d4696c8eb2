"""Inbox quotas (lndesk.app.inbox_quota, docs/protocol.md 28.6) on real loopback nodes.

Three hundred throwaway keys each mention Vic with 15 KB of text. Vic stores at most his
daily quota of them, Fay (who only follows Vic) stores none, what Vic holds only as
requests is neither served nor provided, requests expire, and a blocked sender's fresh
key shares the same quota instead of landing straight back in Requests.
"""

from __future__ import annotations

from pathlib import Path

import trio
from inbox_helpers import held_ids, signed
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_identity

from lndesk.app.inbox_quota import DAY_MS, REQUEST_BYTES_PER_DAY, REQUESTS_PER_DAY, Quota
from lndesk.content import Follow, Post
from lndesk.identity import Identity
from lndesk.p2p.inbox_notice import decode_notice, encode_notice, inbox_topic
from lndesk.p2p.sync import SYNC_PROTOCOL
from lndesk.p2p.wire import Done, FrameStream, Get, Have, Want
from lndesk.store import views

SPAM_TEXT = "buy now " * 1875  # 15,000 bytes


def spam(to: bytes, number: int, text: str = SPAM_TEXT) -> tuple[Identity, bytes]:
    """A notice to ``to`` from a fresh throwaway key: its identity and the notice bytes."""
    sender = Identity(number.to_bytes(4, "big") * 8)
    entry, payload = signed(sender, 1, None, Post(text, mentions=(to,)))
    return sender, encode_notice(to, entry.raw, payload)


async def deliver(node: TestNode, to: bytes, data: bytes) -> None:
    """Hand ``node`` a notice as its gossip layer does once it has validated it."""
    notice = decode_notice(data, topic=inbox_topic(to))
    await node.node.inbox_delivery.on_notice(node.node.host.get_id(), notice)


def stored_bytes(node: TestNode, authors: list[bytes]) -> tuple[int, int]:
    count = size = 0
    for author in authors:
        for raw, payload in node.service.store.feed_items(author):
            count += 1
            size += len(raw) + len(payload or b"")
    return count, size


def requests_of(node: TestNode) -> int:
    query = views.ListQuery(views.REQUESTS, node.key)
    return len(views.page(node.service.store, query, views.NEWEST, 1000))


async def test_three_hundred_fresh_keys_store_at_most_the_quota_at_vic_and_nothing_at_fay(
    tmp_path: Path,
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "vic")) as vic,
        running_node(make_data_dir(tmp_path, "fay")) as fay,
    ):
        await fay.follow(vic)
        senders = []
        for number in range(300):
            sender, data = spam(vic.key, number + 1)
            senders.append(sender.public_key)
            await deliver(vic, vic.key, data)
            await deliver(fay, vic.key, data)
        count, size = stored_bytes(vic, senders)
        assert 0 < count <= REQUESTS_PER_DAY
        assert size <= REQUEST_BYTES_PER_DAY
        assert count == REQUEST_BYTES_PER_DAY // 15_300  # the bytes bound bites first
        assert requests_of(vic) == count
        assert stored_bytes(fay, senders) == (0, 0)

        # Someone within Fay's hops (Vic follows Ann) still reaches both.
        ann = make_identity(60)
        await vic.follow(ann.public_key)
        entry, payload = signed(ann, 1, None, Post("hello Vic", mentions=(vic.key,)))
        await deliver(vic, vic.key, encode_notice(vic.key, entry.raw, payload))
        fay.service.store.ingest(vic.key, list(vic.service.store.feed_items(vic.key)))
        await deliver(fay, vic.key, encode_notice(vic.key, entry.raw, payload))
        assert entry.id in held_ids(vic.service.store, ann.public_key)
        assert entry.id in held_ids(fay.service.store, ann.public_key)


async def test_requests_are_neither_served_nor_provided(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "vic")) as vic,
        running_node(make_data_dir(tmp_path, "pia")) as pia,
    ):
        sender, data = spam(vic.key, 7, "a genuine question")
        await deliver(vic, vic.key, data)
        assert held_ids(vic.service.store, sender.public_key)
        assert sender.public_key not in list(vic.app.feeds.held_feeds())
        assert sender.public_key not in vic.node._provided
        assert not vic.app.feeds.addressed_to(vic.key, 0, 10)
        # Pia follows the sender and asks Vic: nothing is served.
        await pia.follow(sender.public_key)
        await pia.connect(vic)
        with trio.fail_after(20):
            await pia.node.sync_now()
        assert pia.height_of(sender.public_key) == 0
        # Once Vic accepts the sender, the feed is Vic's to serve.
        vic.service.local.set_accepted(sender.public_key, True, 0)
        assert sender.public_key in list(vic.app.feeds.held_feeds())
        with trio.fail_after(20):
            await pia.node.sync_now()
        assert pia.height_of(sender.public_key) == 1


async def test_quotas_renew_each_day_and_requests_expire(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "vic")) as vic:
        gate = vic.app.feeds.gate
        assert gate is not None
        now = [10**12]
        gate._clock = lambda: now[0]
        gate.quota = Quota(per_day=3, bytes_per_day=10**6, days=30, held=5)
        senders = []
        for number in range(5):
            sender, data = spam(vic.key, 100 + number, f"question {number}")
            senders.append(sender.public_key)
            await deliver(vic, vic.key, data)
        assert [bool(held_ids(vic.service.store, s)) for s in senders] == [True] * 3 + [False] * 2
        now[0] += DAY_MS + 1  # a day later there is room again
        for number in range(3, 5):
            await deliver(vic, vic.key, spam(vic.key, 100 + number, f"question {number}")[1])
        assert requests_of(vic) == 5
        # Over the held cap the oldest expire; after REQUEST_DAYS all of them.
        now[0] += 1
        await deliver(vic, vic.key, spam(vic.key, 200, "one more")[1])
        assert requests_of(vic) == 5
        assert gate.expire() == 0
        now[0] += 31 * DAY_MS
        assert gate.expire() == 5
        assert requests_of(vic) == 0
        log = (vic.service.data_dir / "entries.log").read_bytes()
        assert b"question 0" not in log and b"one more" not in log
        vic.service.store.reindex()
        assert requests_of(vic) == 0


async def test_a_blocked_sender_with_a_fresh_key_shares_the_quota(tmp_path: Path) -> None:
    async with running_node(make_data_dir(tmp_path, "vic")) as vic:
        gate = vic.app.feeds.gate
        assert gate is not None
        gate.quota = Quota(per_day=2, bytes_per_day=10**6)
        first, data = spam(vic.key, 300, "hello")
        await deliver(vic, vic.key, data)
        vic.service.local.set_blocked(first.public_key, True, 0)
        fresh = []
        for number in range(301, 306):  # the same sender, five fresh keys
            sender, data = spam(vic.key, number, "hello again")
            fresh.append(sender.public_key)
            await deliver(vic, vic.key, data)
        assert [bool(held_ids(vic.service.store, key)) for key in fresh] == [True] + [False] * 4


async def test_a_follower_keeps_no_live_notice_from_outside_its_circle(tmp_path: Path) -> None:
    """Zed's notices reach Vic through Fay, who relays both but keeps only the one by
    someone in her circle.

    Gossip keeps no order: two messages read from one write start one relay task each,
    which trio may run in either order, at Fay and again at Vic. So the friend's notice
    is sent only once Vic holds the stranger's; Fay handles the notices she receives in
    turn, so when she holds the friend's she has handled the stranger's already."""
    async with (
        running_node(make_data_dir(tmp_path, "vic")) as vic,
        running_node(make_data_dir(tmp_path, "fay")) as fay,
        running_node(make_data_dir(tmp_path, "zed")) as zed,
    ):
        await fay.follow(vic)
        await fay.connect(vic)
        await zed.connect(fay)
        with trio.fail_after(20):
            await zed.node.gossip.wait_for_inbox_peers(vic.key, 1)
            # Fay relays what she receives to the peers of her mesh only.
            router = fay.node.gossip.router
            await router.wait_for_mesh(vic.node.host.get_id(), inbox_topic(vic.key), 20)
        stranger, data = spam(vic.key, 400, "hi Vic")
        ann = make_identity(61)
        await vic.app.publish(lambda s: s.publish(Follow(ann.public_key)))
        await fay.node.sync_now(timeout=20)
        friend, friend_payload = signed(ann, 1, None, Post("hi Vic", mentions=(vic.key,)))
        await zed.node.gossip.pubsub.publish(inbox_topic(vic.key), data)
        await vic.log.wait_for(lambda _e: bool(held_ids(vic.service.store, stranger.public_key)))
        await zed.node.gossip.notify(vic.key, friend.raw, friend_payload)
        await vic.log.wait_for(lambda _e: friend.id in held_ids(vic.service.store, ann.public_key))
        await fay.log.wait_for(lambda _e: friend.id in held_ids(fay.service.store, ann.public_key))
        assert not held_ids(fay.service.store, stranger.public_key)


async def test_a_reader_asking_for_a_request_feed_gets_nothing(tmp_path: Path) -> None:
    """Asked directly, Vic's sync server neither offers nor sends a feed held only as
    requests."""
    async with (
        running_node(make_data_dir(tmp_path, "vic")) as vic,
        running_node(make_data_dir(tmp_path, "pia")) as pia,
    ):
        sender, data = spam(vic.key, 8, "a genuine question")
        await deliver(vic, vic.key, data)
        await pia.connect(vic)
        stream = await pia.node.host.new_stream(vic.node.host.get_id(), [SYNC_PROTOCOL])
        io = FrameStream(stream, 1 << 21)
        with trio.fail_after(20):
            await io.send(Want(((sender.public_key, 0),)))
            assert await io.receive() == Have(())
            await io.send(Get(sender.public_key, 1, 1))
            assert await io.receive() == Done()
        await stream.close()
