"""What a visit server answers, and the frames each side refuses (docs/protocol.md
section 20.16), on real loopback hosts: a malformed ``visit`` or ``visited`` is
penalised, an answer that breaks what was asked too; ``busy`` is not misbehaviour."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from inbox_helpers import entry_ref, signed
from libp2p.peer.peerinfo import PeerInfo
from store_helpers import make_chain, make_identity, wire

from lndesk import canonical
from lndesk.app.feeds import StoreFeeds
from lndesk.content import Post
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.digest import LeftVectors, vector_digest
from lndesk.p2p.frame_caps import MAX_FORKED
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sessions import PeerMisbehaved, SessionRefused
from lndesk.p2p.sync import SyncServer
from lndesk.p2p.visit import VISIT_PROTOCOL, VisitClient, VisitServer
from lndesk.p2p.visit_frames import InboxCheck, Visit, Visited, VisitFrames, refs_digest
from lndesk.store.forks import record_fork
from lndesk.store.store import Store

WAIT = 15.0
ANN, LEA, CY = (make_identity(n) for n in (91, 92, 93))
A, C = ANN.public_key, CY.public_key
CHAIN = make_chain(ANN, 3)
MENTION = signed(LEA, 1, None, Post("hi", mentions=(C,)), 9000)
DIGEST = bytes(32)


@dataclass
class Side:
    host: Any
    store: Store
    feeds: StoreFeeds
    sync: SyncServer
    penalised: dict[str, str] = field(default_factory=dict)

    def penalise(self, peer: Any, reason: str) -> None:
        self.penalised[str(peer)] = reason

    def is_penalised(self, peer: Any) -> bool:
        return str(peer) in self.penalised

    @property
    def client(self) -> VisitClient:
        return VisitClient(self.host, Limits(), penalise=self.penalise)


@asynccontextmanager
async def side(path: Path, limits: Limits | None = None) -> AsyncIterator[Side]:
    """A host serving visits from a store holding Ann's 1..3."""
    limits = limits or Limits()
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(CHAIN))
            penalised: dict[str, str] = {}
            sync = SyncServer(
                feeds,
                limits,
                events=lambda _e: None,
                penalise=lambda who, why: penalised.__setitem__(str(who), why),
                is_penalised=lambda who: str(who) in penalised,
                key_of=public_key_of,
            )
            s = Side(host, store, feeds, sync, penalised)
            server = VisitServer(
                feeds,
                limits,
                sync,
                events=lambda _e: None,
                penalise=s.penalise,
                is_penalised=s.is_penalised,
            )
            host.set_stream_handler(VISIT_PROTOCOL, server.handle)
            yield s
    finally:
        store.close()


async def connect(a: Any, b: Any) -> None:
    with trio.fail_after(WAIT):
        await a.connect(PeerInfo(b.get_id(), b.get_addrs()))


async def test_the_server_answers_each_part_from_what_it_holds_now(tmp_path: Path) -> None:
    async with side(tmp_path / "s") as server, running_host() as reader:
        await connect(reader, server.host)
        peer, me = server.host.get_id(), reader.get_id()
        client = VisitClient(reader, Limits(), penalise=lambda *_: None)
        seen = refs_digest([])
        visit = Visit(DIGEST, (InboxCheck(C, 0, seen),))
        with trio.fail_after(WAIT):
            # A vector it never saw: heights differ, forks unknown.
            assert await client.visit(peer, visit, [A]) == Visited(False, (None,), None)
            vector = server.sync.vectors.remember(me, [(A, 3)])
            known = Visit(vector, (InboxCheck(C, 0, seen),))
            assert await client.visit(peer, known, [A]) == Visited(True, (None,), ())
            server.feeds.ingest(A, wire(make_chain(ANN, 5)[3:]))
            assert await client.visit(peer, known, [A]) == Visited(False, (None,), ())
            vector = server.sync.vectors.remember(me, [(A, 5)])
            known = Visit(vector, (InboxCheck(C, 0, seen),))
            server.feeds.ingest(LEA.public_key, [(MENTION[0].raw, MENTION[1])])
            other, _ = signed(ANN, 3, CHAIN[1][0].id, Post("another three"))
            record_fork(server.store, A, CHAIN[2][0].raw, other.raw)
            got = await client.visit(peer, known, [A])
            assert got == Visited(True, ((entry_ref(MENTION[0]),),), (A,))
            again = Visit(vector, (InboxCheck(C, 0, refs_digest(got.inbox[0] or ())),))
            assert await client.visit(peer, again, [A]) == Visited(True, (None,), (A,))
        assert not server.penalised


async def test_each_inbox_key_of_a_visit_is_charged_as_a_wanted_feed(tmp_path: Path) -> None:
    """An inbox query costs the server what a feed of a ``want`` does: a reader naming
    inbox keys in visit after visit runs out of the want rate (section 20.16)."""
    async with side(tmp_path / "s", Limits(want_feeds_per_minute=4)) as server:
        async with running_host() as reader:
            await connect(reader, server.host)
            client = VisitClient(reader, Limits(), penalise=lambda *_: None)
            keys = [make_identity(n).public_key for n in range(120, 124)]
            checks = tuple(InboxCheck(key, 0, refs_digest([])) for key in keys)
            peer = server.host.get_id()
            with trio.fail_after(WAIT):
                # A vector it never saw costs nothing; the four inbox keys use the rate up.
                answer = await client.visit(peer, Visit(DIGEST, checks), [A])
                assert answer == Visited(False, (None,) * 4, None)
                assert not server.penalised
                with pytest.raises(SessionRefused, match="feeds a minute"):
                    await client.visit(peer, Visit(DIGEST, checks[:1]), [A])
            assert not server.penalised  # busy, not a violation (section 20.13)


async def test_a_server_holding_more_forks_than_visited_names_is_not_penalised(
    tmp_path: Path,
) -> None:
    """More than ``MAX_FORKED`` of the vector's feeds forked here: ``forked`` is null, so
    ``heights`` must be false, even with nothing to serve (true with null is refused)."""
    async with side(tmp_path / "s") as server, running_host() as reader:
        await connect(reader, server.host)
        authors = [make_identity(n) for n in range(100, 101 + MAX_FORKED)]
        for author in authors:
            chain = make_chain(author, 1)
            server.feeds.ingest(author.public_key, wire(chain))
            other, _ = signed(author, 1, None, Post("the other one"))
            record_fork(server.store, author.public_key, chain[0][0].raw, other.raw)
        keys = [author.public_key for author in authors]
        vector = server.sync.vectors.remember(reader.get_id(), [(k, 1) for k in keys])
        penalised: dict[str, str] = {}
        client = VisitClient(reader, Limits(), penalise=lambda p, w: penalised.update({str(p): w}))
        with trio.fail_after(WAIT):
            answer = await client.visit(server.host.get_id(), Visit(vector, ()), keys)
        assert answer == Visited(False, (), None)
        assert not penalised


@pytest.mark.parametrize(
    "doc",
    [
        {"t": "visit", "heights": DIGEST[:31], "inbox": []},
        {"t": "visit", "heights": DIGEST, "inbox": [[C, 0, DIGEST]] * 2},
        {"t": "visit", "heights": DIGEST, "inbox": [[C, 0, DIGEST]], "extra": 1},
        {"t": "visited", "heights": False, "inbox": [], "forked": None},
        {"t": "want", "feeds": []},
    ],
    ids=["short heights", "a key twice", "an extra field", "visited", "want"],
)
async def test_a_malformed_visit_is_refused_and_penalised(tmp_path: Path, doc: Any) -> None:
    async with side(tmp_path / "s") as server, running_host() as evil:
        await connect(evil, server.host)
        stream = await evil.new_stream(server.host.get_id(), [VISIT_PROTOCOL])
        body = canonical.encode(doc)
        await stream.write(len(body).to_bytes(4, "big") + body)
        with trio.fail_after(WAIT):
            answer = await VisitFrames(stream).receive()
        assert isinstance(answer, frames.Error) and answer.code == "bad-request"
        assert str(evil.get_id()) in server.penalised


def lying(answer: Any) -> Any:
    """A visit server that answers every visit with ``answer`` (a message or raw bytes)."""

    async def handle(stream: Any) -> None:
        io = VisitFrames(stream)
        await io.receive()
        if isinstance(answer, bytes):
            await stream.write(answer)
        else:
            await io.send(answer)
        await stream.close()

    return handle


@pytest.mark.parametrize(
    "answer",
    [
        b"\x00\x00\x00\x02\xa0\xff",
        Visited(True, (), ()),  # one inbox key asked, none answered
        Visited(True, (None, None), ()),
        Visited(False, (None,), (C,)),  # a feed the visit did not name
        Visit(DIGEST, ()),
    ],
    ids=["garbage", "no inbox answer", "two inbox answers", "forked not asked", "visit"],
)
async def test_a_server_breaking_the_visit_is_penalised(tmp_path: Path, answer: Any) -> None:
    async with side(tmp_path / "r") as reader, running_host() as evil:
        evil.set_stream_handler(VISIT_PROTOCOL, lying(answer))
        await connect(reader.host, evil)
        visit = Visit(DIGEST, (InboxCheck(C, 0, DIGEST),))
        with trio.fail_after(WAIT), pytest.raises(PeerMisbehaved):
            await reader.client.visit(evil.get_id(), visit, [A])
        assert str(evil.get_id()) in reader.penalised


async def test_busy_is_not_misbehaviour(tmp_path: Path) -> None:
    async with side(tmp_path / "r") as reader, running_host() as other:
        other.set_stream_handler(VISIT_PROTOCOL, lying(frames.Error("busy", "later")))
        await connect(reader.host, other)
        with trio.fail_after(WAIT), pytest.raises(SessionRefused):
            await reader.client.visit(other.get_id(), Visit(DIGEST, ()), [A])
        assert not reader.penalised


def test_a_reader_visits_with_a_left_vector_only_while_its_heights_are_no_lower() -> None:
    left = LeftVectors(budget=1000)
    left.remember("p", [(A, 3), (C, 1)])
    assert left.usable("p", [(C, 1), (A, 3)]) == vector_digest([(A, 3), (C, 1)])
    assert left.usable("p", [(A, 5), (C, 1)]) == vector_digest([(A, 3), (C, 1)])  # grew
    assert left.usable("p", [(A, 2), (C, 1)]) is None  # lower than the server was told
    assert left.usable("p", [(A, 3)]) is None  # other feeds
    assert left.usable("q", [(A, 3), (C, 1)]) is None  # another server
    for n in range(20):  # the least recently used go first
        left.remember(n, [(A, n)])
    assert left.bytes <= 1000
    assert left.usable("p", [(A, 3), (C, 1)]) is None
    assert left.usable(19, [(A, 19)]) == vector_digest([(A, 19)])
