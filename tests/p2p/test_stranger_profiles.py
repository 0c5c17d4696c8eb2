"""A stranger's profile comes with their reply or mention (profile lookup
``/lndesk/profile/1`` and a targeted fetch), between real hosts on 127.0.0.1.

Lea never followed by Ann replies to or mentions Ann; Ann's node then asks the peer that
delivered it which entry holds Lea's current profile and fetches that one entry, so Ann
sees Lea's name and avatar in Requests. Nothing sleeps: every wait is on an event under
a timeout.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from inbox_helpers import entry_ref, signed
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import TestNode, make_data_dir, running_node
from store_helpers import make_identity

from lndesk import canonical
from lndesk.app.feeds import StoreFeeds
from lndesk.content import Content, Post, Profile, Reply
from lndesk.entry import Entry
from lndesk.entry_refs import ref_of
from lndesk.errors import ProtocolError
from lndesk.p2p.catchup import Refs
from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.host import public_key_of
from lndesk.p2p.profiles import (
    PROFILE_PROTOCOL,
    ProfileAsk,
    ProfileClient,
    ProfileFrames,
    ProfileServer,
    decode_profile_body,
    encode_profile_frame,
)
from lndesk.p2p.sessions import PeerMisbehaved
from lndesk.store.store import Store

WAIT = 20.0
AVATAR = b"\xff\xd8\xff" + b"\x00" * 20 + b"\xff\xd9"  # bytes only: nothing decodes them here


async def publish(node: TestNode, content: Content) -> Entry:
    entry: Entry = await node.app.publish(lambda s: s.publish(content))
    return entry


def name_of(node: TestNode, key: bytes) -> str | None:
    return node.service.store.feed_state(key).name


async def wait_name(node: TestNode, key: bytes, name: str) -> None:
    await node.log.wait_for(lambda _events: name_of(node, key) == name, WAIT)


def no_penalties(*nodes: TestNode) -> bool:
    return not any(isinstance(e, PeerPenalised) for n in nodes for e in n.log.events)


async def test_a_strangers_mention_brings_their_profile(tmp_path: Path) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "ann")) as ann,
        running_node(make_data_dir(tmp_path, "lea")) as lea,
    ):
        await publish(lea, Profile("Lea Stone", "teaches maths", AVATAR))
        for n in range(3):
            await publish(lea, Post(f"note {n}"))
        await lea.connect(ann)
        with trio.fail_after(WAIT):
            await lea.node.gossip.wait_for_inbox_peers(ann.key, 1)
        await publish(lea, Post("Ann knows this.", mentions=(ann.key,)))
        await wait_name(ann, lea.key, "Lea Stone")
        assert lea.key not in ann.service.store.following(ann.key)
        feeds = StoreFeeds(ann.service.store, ann.key, frozenset)
        profile = feeds.profile_ref(lea.key)
        assert profile is not None and profile[1] == 1
        assert ann.service.store.stored_seqs(lea.key, 2, 4) == set()  # one entry, not the feed
        assert no_penalties(ann, lea)


async def test_a_reply_caught_up_after_being_offline_brings_the_profile(tmp_path: Path) -> None:
    ann_dir = make_data_dir(tmp_path, "ann")
    async with running_node(make_data_dir(tmp_path, "lea")) as lea:
        async with running_node(ann_dir) as ann:
            await lea.follow(ann)
            await lea.connect(ann)
            question = await publish(ann, Post("Who has a worksheet?", question=True))
            await lea.wait_height(ann, question.seq)
        await publish(lea, Profile("Lea Stone"))
        await publish(lea, Reply("I do.", ref_of(question), ref_of(question)))
        async with running_node(ann_dir) as ann:
            assert name_of(ann, lea.key) is None
            await ann.connect(lea)
            await wait_name(ann, lea.key, "Lea Stone")
            assert no_penalties(ann, lea)


# --- the protocol on its own -----------------------------------------------------------------

LEA = make_identity(81)
PROFILE = signed(LEA, 1, None, Profile("Lea"), 1000)


def test_frames_round_trip_strictly() -> None:
    ask = ProfileAsk(LEA.public_key)
    frame = encode_profile_frame(ask)
    body = canonical.encode({"t": "profile", "of": LEA.public_key})
    assert frame == len(body).to_bytes(4, "big") + body
    assert decode_profile_body(frame[4:]) == ask
    one = Refs((entry_ref(PROFILE[0]),))
    assert decode_profile_body(encode_profile_frame(one)[4:]) == one
    assert decode_profile_body(encode_profile_frame(Refs(()))[4:]) == Refs(())
    for doc in (
        {"t": "profile", "of": LEA.public_key[:31]},
        {"t": "profile"},
        {"t": "profile", "of": LEA.public_key, "x": 1},
        {"t": "ask", "to": LEA.public_key, "since": 0, "limit": 1},
        {"t": "refs", "refs": [[LEA.public_key, n, bytes(32)] for n in (1, 2)]},
    ):
        with pytest.raises(ProtocolError):
            decode_profile_body(canonical.encode(doc))


class Reader:
    def __init__(self, host: Any) -> None:
        self.host = host
        self.penalised: list[str] = []
        self.client = ProfileClient(host, Limits(), penalise=self.penalise)

    def penalise(self, peer: Any, _reason: str) -> None:
        self.penalised.append(str(peer))


async def connect(a: Any, b: Any) -> None:
    with trio.fail_after(WAIT):
        await a.connect(PeerInfo(b.get_id(), b.get_addrs()))


async def test_the_server_names_the_current_profile_or_nothing(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    try:
        async with running_host() as server, running_host() as asker:
            me = public_key_of(server.get_id())
            assert me is not None
            blocked: set[bytes] = set()
            feeds = StoreFeeds(store, me, lambda: frozenset(blocked))
            penalised: list[str] = []
            handler = ProfileServer(
                feeds,
                Limits(),
                events=lambda _e: None,
                penalise=lambda peer, _r: penalised.append(str(peer)),
                is_penalised=lambda _p: False,
            )
            server.set_stream_handler(PROFILE_PROTOCOL, handler.handle)
            reader = Reader(asker)
            await connect(asker, server)
            assert await reader.client.ask(server.get_id(), LEA.public_key) is None
            store.ingest(LEA.public_key, [(PROFILE[0].raw, PROFILE[1])])
            got = await reader.client.ask(server.get_id(), LEA.public_key)
            assert got == entry_ref(PROFILE[0])
            blocked.add(LEA.public_key)
            assert await reader.client.ask(server.get_id(), LEA.public_key) is None
            assert not penalised and not reader.penalised
    finally:
        store.close()


async def test_a_server_naming_another_authors_entry_is_penalised() -> None:
    other = signed(make_identity(82), 1, None, Profile("Not Lea"), 1000)
    async with running_host() as evil, running_host() as asker:

        async def lie(stream: Any) -> None:
            io = ProfileFrames(stream)
            await io.receive()
            await io.send(Refs((entry_ref(other[0]),)))

        evil.set_stream_handler(PROFILE_PROTOCOL, lie)
        reader = Reader(asker)
        await connect(asker, evil)
        with pytest.raises(PeerMisbehaved):
            await reader.client.ask(evil.get_id(), LEA.public_key)
        assert str(evil.get_id()) in reader.penalised


async def test_a_server_answering_with_another_message_is_penalised() -> None:
    """An answer that decodes but is neither ``refs`` nor ``error`` (here the asker's own
    ``profile`` sent back) breaks the protocol (docs/protocol.md 31.4)."""
    async with running_host() as evil, running_host() as asker:

        async def echo(stream: Any) -> None:
            io = ProfileFrames(stream)
            await io.send(await io.receive())

        evil.set_stream_handler(PROFILE_PROTOCOL, echo)
        reader = Reader(asker)
        await connect(asker, evil)
        with pytest.raises(PeerMisbehaved, match="did not answer profile with refs"):
            await reader.client.ask(evil.get_id(), LEA.public_key)
        assert reader.penalised == [str(evil.get_id())]


async def test_an_answer_naming_an_entry_that_is_no_profile_stores_nothing(tmp_path: Path) -> None:
    from lndesk.p2p.sync import SYNC_PROTOCOL, SyncServer

    lea = make_identity(83)
    post = signed(lea, 1, None, Post("not a profile"), 1000)
    store = Store(tmp_path / "evil")
    try:
        store.ingest(lea.public_key, [(post[0].raw, post[1])])
        async with running_node(make_data_dir(tmp_path, "ann")) as ann, running_host() as evil:
            me = public_key_of(evil.get_id())
            assert me is not None
            sync = SyncServer(
                StoreFeeds(store, me, frozenset),
                Limits(),
                events=lambda _e: None,
                penalise=lambda _p, _r: None,
                is_penalised=lambda _p: False,
                key_of=public_key_of,
            )
            evil.set_stream_handler(SYNC_PROTOCOL, sync.handle)

            async def lie(stream: Any) -> None:
                io = ProfileFrames(stream)
                await io.receive()
                await io.send(Refs((entry_ref(post[0]),)))

            evil.set_stream_handler(PROFILE_PROTOCOL, lie)
            await connect(ann.node.host, evil)
            assert not await ann.node.inbox_delivery.fetch_profile(evil.get_id(), lea.public_key)
            assert ann.service.store.stored_seqs(lea.public_key, 1, 1) == set()
    finally:
        store.close()
