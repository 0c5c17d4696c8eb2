"""Inbox notices: the message, its validation, and its delivery over GossipSub.

Malformed and forged notices are rejected by the GossipSub validator (never delivered,
never relayed) and their forwarder is reported; notices of unknown content types and
of blocked authors are dropped without blame. Waits are on events, never sleeps.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
import pytest
import trio
import trio.testing
from conftest import make_seed, running_host
from inbox_helpers import signed
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo
from libp2p.pubsub.pb import rpc_pb2
from node_helpers import make_data_dir, running_node
from store_helpers import make_chain, make_identity

from lndesk import canonical
from lndesk.content import Follow, Post, Reply, Share, Unknown
from lndesk.entry import create_entry
from lndesk.entry_refs import ref_of
from lndesk.errors import ContentError, DecodeError, PayloadError, SignatureError, SizeError
from lndesk.identity import blake2b_256
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EntriesStored, PeerPenalised
from lndesk.p2p.gossip import HeadAndNoticeGossip
from lndesk.p2p.gossip_ids import message_id
from lndesk.p2p.host import public_key_of
from lndesk.p2p.inbox_notice import (
    MAX_NOTICE_SIZE,
    InboxNotice,
    UnknownContentType,
    decode_notice,
    encode_notice,
    inbox_topic,
    key_of_inbox_topic,
    notice_id,
)

WAIT = 15.0
ANN, LEA, BO = make_identity(61), make_identity(62), make_identity(63)
QUESTION = make_chain(ANN, 1)[0][0]
REPLY, REPLY_PAYLOAD = signed(LEA, 1, None, Reply("yes", ref_of(QUESTION), ref_of(QUESTION)))
A = ANN.public_key


# --- the message ------------------------------------------------------------------------


def test_round_trip_and_layout() -> None:
    data = encode_notice(A, REPLY.raw, REPLY_PAYLOAD)
    assert data == canonical.encode({"to": A, "entry": REPLY.raw, "payload": REPLY_PAYLOAD})
    assert data.index(b"to") < data.index(b"entry") < data.index(b"payload")
    notice = decode_notice(data, topic=inbox_topic(A))
    assert (notice.to, notice.entry.id, notice.payload) == (A, REPLY.id, REPLY_PAYLOAD)
    assert isinstance(notice.content, Reply)


def test_topic_names() -> None:
    topic = inbox_topic(A)
    assert topic == "lndesk/inbox/1/" + A.hex()
    assert key_of_inbox_topic(topic) == A
    for other in (topic.upper(), "lndesk/inbox/2/" + A.hex(), topic[:-2], topic + "/", "x"):
        assert key_of_inbox_topic(other) is None


def test_message_id_names_the_person_and_the_entry() -> None:
    data = encode_notice(A, REPLY.raw, REPLY_PAYLOAD)
    msg_id = message_id(rpc_pb2.Message(data=data))
    assert msg_id == b"\x01" + blake2b_256(A + REPLY.id) == notice_id(A, REPLY.raw)
    assert msg_id != REPLY.id and len(msg_id) == 33
    # The same entry to another inbox (it mentions Bo too) has another id.
    mention = Reply("cc", ref_of(QUESTION), ref_of(QUESTION), mentions=(BO.public_key,))
    entry, payload = signed(LEA, 1, None, mention)
    assert message_id(rpc_pb2.Message(data=encode_notice(A, entry.raw, payload))) != message_id(
        rpc_pb2.Message(data=encode_notice(BO.public_key, entry.raw, payload))
    )
    # Over the notice cap it is not laid out as a notice: 00 || hash.
    assert message_id(rpc_pb2.Message(data=bytes(MAX_NOTICE_SIZE + 1)))[0] == 0


def test_decode_is_strict() -> None:
    good = {"to": A, "entry": REPLY.raw, "payload": REPLY_PAYLOAD}
    topic = inbox_topic(A)
    cases: list[tuple[type[Exception], bytes, str | None]] = [
        (DecodeError, cbor2.dumps({"entry": REPLY.raw, "to": A, "payload": REPLY_PAYLOAD}), topic),
        (DecodeError, canonical.encode(good) + b"\x00", topic),
        (DecodeError, canonical.encode({**good, "x": 1}), topic),
        (DecodeError, canonical.encode({"to": A, "entry": REPLY.raw}), topic),
        (DecodeError, canonical.encode({**good, "payload": None}), topic),
        (DecodeError, canonical.encode({**good, "to": A[:31]}), None),
        (DecodeError, canonical.encode([A, REPLY.raw]), topic),
        (DecodeError, canonical.encode(good), inbox_topic(BO.public_key)),
        (DecodeError, canonical.encode({**good, "to": LEA.public_key}), None),  # own author
        (PayloadError, canonical.encode({**good, "payload": REPLY_PAYLOAD + b" "}), topic),
        (
            SignatureError,
            canonical.encode({**good, "entry": REPLY.raw[:-1] + bytes([REPLY.raw[-1] ^ 1])}),
            topic,
        ),
        (ContentError, canonical.encode({**good, "to": BO.public_key}), None),  # not addressed
        (SizeError, b"\xa0" + bytes(MAX_NOTICE_SIZE), topic),
    ]
    for error, data, on in cases:
        with pytest.raises(error):
            decode_notice(data, topic=on)


def test_entries_that_address_no_one_or_unknown_types_are_refused() -> None:
    post, payload = signed(LEA, 1, None, Post("hello"))
    with pytest.raises(ContentError, match="not addressed"):
        encode_notice(A, post.raw, payload)
    follow, payload = signed(LEA, 1, None, Follow(A))
    with pytest.raises(ContentError):
        encode_notice(A, follow.raw, payload)
    odd, payload = signed(LEA, 1, None, Unknown("x-poll", {"to": A}))
    with pytest.raises(UnknownContentType):
        encode_notice(A, odd.raw, payload)
    big, payload = signed(
        LEA, 1, None, Reply("x" * MAX_NOTICE_SIZE, ref_of(QUESTION), ref_of(QUESTION))
    )
    with pytest.raises(SizeError):
        encode_notice(A, big.raw, payload)
    share, payload = signed(LEA, 1, None, Share(ref_of(QUESTION)))
    assert decode_notice(encode_notice(A, share.raw, payload)).to == A


# --- delivery between hosts -----------------------------------------------------------------


@dataclass
class GossipNode:
    host: Any
    gossip: HeadAndNoticeGossip
    notices: trio.MemoryReceiveChannel[tuple[ID, InboxNotice]]
    invalid: trio.MemoryReceiveChannel[tuple[ID, str]]
    blocked: set[bytes] = field(default_factory=set)

    @property
    def id(self) -> ID:
        return self.host.get_id()

    async def next_notice(self) -> tuple[ID, InboxNotice]:
        with trio.fail_after(WAIT):
            return await self.notices.receive()

    async def next_invalid(self) -> tuple[ID, str]:
        with trio.fail_after(WAIT):
            return await self.invalid.receive()


@asynccontextmanager
async def gossip_node(label: str) -> AsyncIterator[GossipNode]:
    notices_send, notices = trio.open_memory_channel[tuple[ID, InboxNotice]](math.inf)
    invalid_send, invalid = trio.open_memory_channel[tuple[ID, str]](math.inf)
    blocked: set[bytes] = set()

    async def on_head(_peer: ID, _head: Any) -> None:
        return None

    async def on_notice(peer: ID, notice: InboxNotice) -> None:
        await notices_send.send((peer, notice))

    async with running_host(make_seed(label)) as host:
        gossip = HeadAndNoticeGossip(
            host,
            limits=Limits(),
            on_head=on_head,
            on_invalid=lambda peer, reason: invalid_send.send_nowait((peer, reason)),
            on_notice=on_notice,
            accepts=lambda key: key not in blocked,
        )
        async with trio.open_nursery() as nursery:
            await nursery.start(gossip.run)
            yield GossipNode(host, gossip, notices, invalid, blocked)
            nursery.cancel_scope.cancel()


async def connect(a: GossipNode, b: GossipNode) -> None:
    with trio.fail_after(WAIT):
        await a.host.connect(PeerInfo(b.id, b.host.get_addrs()))
        await a.gossip.pubsub.wait_for_peer(b.id, timeout=WAIT)
        await b.gossip.pubsub.wait_for_peer(a.id, timeout=WAIT)


async def publish_to_ann(sender: GossipNode, ann: GossipNode) -> str:
    """Connect ``sender`` to ``ann``, who watches her inbox; its topic, once ``sender``
    knows that ``ann`` is on it."""
    await connect(sender, ann)
    await ann.gossip.watch_inbox(A)
    with trio.fail_after(WAIT):
        await sender.gossip.wait_for_inbox_peers(A, 1)
    return inbox_topic(A)


async def test_notices_are_relayed_by_followers_and_checked_on_the_way() -> None:
    """Lea reaches Ann only through Sam, who watches Ann's inbox: Sam validates, keeps
    (is handed) and relays the notice."""
    async with gossip_node("ann") as ann, gossip_node("sam") as sam, gossip_node("lea") as lea:
        await connect(sam, ann)
        await connect(lea, sam)
        await ann.gossip.watch_inbox(A)
        await sam.gossip.watch_inbox(A)
        await sam.gossip.watch_inbox(A)  # idempotent
        assert sam.gossip.watching() == frozenset({A})
        with trio.fail_after(WAIT):
            await lea.gossip.wait_for_inbox_peers(A, 1)
            await sam.gossip.router.wait_for_mesh(ann.id, inbox_topic(A), timeout=WAIT)
        await lea.gossip.notify(A, REPLY.raw, REPLY_PAYLOAD)
        peer, notice = await sam.next_notice()
        assert (peer, notice.entry.id) == (lea.id, REPLY.id)
        peer, notice = await ann.next_notice()
        assert (peer, notice.entry.id) == (sam.id, REPLY.id)
        await sam.gossip.unwatch_inbox(A)
        assert sam.gossip.watching() == frozenset()


async def test_bad_notices_are_rejected_and_reported_and_harmless_ones_dropped_quietly() -> None:
    async with gossip_node("ann") as ann, gossip_node("evil") as evil:
        topic = await publish_to_ann(evil, ann)
        good = {"to": A, "entry": REPLY.raw, "payload": REPLY_PAYLOAD}
        forged = REPLY.raw[:-1] + bytes([REPLY.raw[-1] ^ 1])
        post, post_payload = signed(LEA, 2, REPLY.id, Post("not for Ann"))
        bad = {
            "garbage": b"\xff\x00",
            "not canonical": cbor2.dumps({"payload": REPLY_PAYLOAD, "to": A, "entry": REPLY.raw}),
            "forged signature": canonical.encode({**good, "entry": forged}),
            "payload mismatch": canonical.encode({**good, "payload": REPLY_PAYLOAD + b"!"}),
            "another inbox's notice": canonical.encode({**good, "to": BO.public_key}),
            "not addressed": canonical.encode({**good, "entry": post.raw, "payload": post_payload}),
            "oversized": canonical.encode({**good, "payload": bytes(MAX_NOTICE_SIZE)}),
            "head announcement": canonical.encode({"author": LEA.public_key, "entry": REPLY.raw}),
        }
        for case, data in bad.items():
            await evil.gossip.pubsub.publish(topic, data)
            peer, reason = await ann.next_invalid()
            assert peer == evil.id, case
            assert reason, case
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.WouldBlock):
            ann.notices.receive_nowait()


async def test_unknown_types_and_blocked_authors_are_dropped_without_blame() -> None:
    """A later version's content type cannot be checked, a blocked author is not wanted:
    neither is kept or relayed, and the peer that forwarded them did nothing wrong."""
    async with gossip_node("ann") as ann, gossip_node("other") as other:
        topic = await publish_to_ann(other, ann)
        post = signed(LEA, 2, REPLY.id, Post("not for Ann"))[0]
        odd_payload = canonical.encode({"to": A})
        odd = create_entry(
            LEA, seq=3, prev=post.id, claimed_ms=1, type="x-ask", payload=odd_payload
        )
        await other.gossip.pubsub.publish(
            topic, canonical.encode({"to": A, "entry": odd.raw, "payload": odd_payload})
        )
        ann.blocked.add(BO.public_key)
        bo_reply, bo_payload = signed(BO, 1, None, Reply("hi", ref_of(QUESTION), ref_of(QUESTION)))
        await other.gossip.notify(A, bo_reply.raw, bo_payload)
        # A valid notice sent after them on the same connection is delivered: they were
        # processed, and neither was reported.
        await other.gossip.notify(A, REPLY.raw, REPLY_PAYLOAD)
        peer, notice = await ann.next_notice()
        assert (peer, notice.entry.id) == (other.id, REPLY.id)
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.WouldBlock):
            ann.invalid.receive_nowait()
        with pytest.raises(trio.WouldBlock):
            ann.notices.receive_nowait()


# --- (e) whole nodes: forged notices never crash anything -----------------------------------


async def test_a_node_penalises_a_forger_and_keeps_taking_valid_notices(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "lea")) as lea,
        gossip_node("evil") as evil,
    ):
        await evil.host.connect(PeerInfo(ann.node.host.get_id(), ann.node.host.get_addrs()))
        with trio.fail_after(WAIT):
            await evil.gossip.wait_for_inbox_peers(ann.key, 1)
        question = await ann.post("Question")
        forged_reply, payload = signed(
            make_identity(64), 1, None, Reply("x", ref_of(question), ref_of(question))
        )
        forged = forged_reply.raw[:-1] + bytes([forged_reply.raw[-1] ^ 1])
        await evil.gossip.pubsub.publish(
            inbox_topic(ann.key),
            canonical.encode({"to": ann.key, "entry": forged, "payload": payload}),
        )
        evil_key = public_key_of(evil.id)
        await ann.log.wait_for(
            lambda events: any(isinstance(e, PeerPenalised) and e.peer == evil_key for e in events)
        )
        assert ann.service.store.feed_state(forged_reply.author).max_seq == 0

        # Ann still takes Lea's reply.
        await lea.connect(ann)
        with trio.fail_after(WAIT):
            await lea.node.gossip.wait_for_inbox_peers(ann.key, 1)
        reply = await lea.app.publish(
            lambda s: s.publish(Reply("real", ref_of(question), ref_of(question)))
        )
        await ann.log.wait_for(
            lambda events: any(
                isinstance(e, EntriesStored) and e.feed == lea.key and e.via == "inbox"
                for e in events
            )
        )
        assert ann.service.store.feed_state(lea.key).max_seq == reply.seq
