"""Inbox catch-up (``/lndesk/inbox/1``) and targeted fetch over ``/lndesk/sync/1``,
between real hosts on 127.0.0.1 with real stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cbor2
import pytest
import trio
from conftest import running_host
from inbox_helpers import entry_ref, held_ids, signed
from libp2p.peer.peerinfo import PeerInfo
from store_helpers import make_chain, make_identity, wire

from lndesk import canonical
from lndesk.app.feeds import StoreFeeds
from lndesk.content import Post, Reply, Share
from lndesk.entry_refs import ref_of
from lndesk.errors import ProtocolError
from lndesk.p2p import wire as frames
from lndesk.p2p.catchup import (
    CATCHUP_PROTOCOL,
    MAX_REFS,
    Ask,
    CatchupClient,
    CatchupFrames,
    CatchupServer,
    Refs,
    decode_catchup_body,
    encode_catchup_frame,
)
from lndesk.p2p.config import Limits
from lndesk.p2p.events import EntriesStored, Event
from lndesk.p2p.fetch import RefFetcher
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sessions import PeerMisbehaved, SessionRefused
from lndesk.p2p.sync import SYNC_PROTOCOL, SyncServer
from lndesk.store.store import Store

WAIT = 15.0
ANN, LEA, BO, CY = (make_identity(n) for n in (71, 72, 73, 74))
A = ANN.public_key
QUESTION = make_chain(ANN, 1)[0]
REPLY = signed(LEA, 1, None, Reply("a", ref_of(QUESTION[0]), ref_of(QUESTION[0])), 5000)
MENTION = signed(LEA, 2, REPLY[0].id, Post("b", mentions=(A,)), 9000)
SHARE = signed(BO, 1, None, Share(ref_of(QUESTION[0])), 7000)


# --- frames -------------------------------------------------------------------------------


def test_frames_round_trip_strictly() -> None:
    ask = Ask(A, 1234, 50)
    frame = encode_catchup_frame(ask)
    body = canonical.encode({"t": "ask", "to": A, "since": 1234, "limit": 50})
    assert frame == len(body).to_bytes(4, "big") + body
    assert decode_catchup_body(frame[4:]) == ask
    refs = Refs((entry_ref(REPLY[0]), entry_ref(SHARE[0])))
    assert decode_catchup_body(encode_catchup_frame(refs)[4:]) == refs
    assert decode_catchup_body(encode_catchup_frame(Refs(()))[4:]) == Refs(())
    error = frames.Error("busy", "later")
    assert decode_catchup_body(encode_catchup_frame(error)[4:]) == error


@pytest.mark.parametrize(
    "doc",
    [
        {"t": "ask", "to": A, "since": 0, "limit": 0},
        {"t": "ask", "to": A, "since": 0, "limit": MAX_REFS + 1},
        {"t": "ask", "to": A, "since": -1, "limit": 5},
        {"t": "ask", "to": A, "since": True, "limit": 5},
        {"t": "ask", "to": A[:31], "since": 0, "limit": 5},
        {"t": "ask", "to": A, "since": 0},
        {"t": "ask", "to": A, "since": 0, "limit": 5, "x": 1},
        {"t": "want", "feeds": []},
        {"t": "refs", "refs": [[A, 1]]},
        {"t": "refs", "refs": [[A, 0, bytes(32)]]},
        {"t": "refs", "refs": [[A, 1, bytes(31)]]},
        {"t": "refs", "refs": [[A, 1, bytes(32)], [A, 1, bytes(32)]]},
        {"t": "refs", "refs": [[A, n, bytes(32)] for n in range(1, MAX_REFS + 2)]},
        {"t": "refs", "refs": {}},
        {"t": "error", "code": 1, "message": ""},
        ["ask"],
    ],
)
def test_malformed_frames_are_protocol_errors(doc: Any) -> None:
    with pytest.raises(ProtocolError):
        decode_catchup_body(canonical.encode(doc))


def test_non_canonical_cbor_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        decode_catchup_body(cbor2.dumps({"limit": 5, "since": 0, "t": "ask", "to": A}))


# --- real hosts ----------------------------------------------------------------------------


@dataclass
class Side:
    host: Any
    store: Store
    feeds: StoreFeeds
    blocked: set[bytes] = field(default_factory=set)
    events: list[Event] = field(default_factory=list)
    penalised: dict[str, str] = field(default_factory=dict)

    def penalise(self, peer: Any, reason: str) -> None:
        self.penalised[str(peer)] = reason

    def is_penalised(self, peer: Any) -> bool:
        return str(peer) in self.penalised

    @property
    def client(self) -> CatchupClient:
        return CatchupClient(self.host, Limits(), penalise=self.penalise)

    @property
    def fetcher(self) -> RefFetcher:
        return RefFetcher(
            self.host,
            self.feeds,
            Limits(),
            events=self.events.append,
            penalise=self.penalise,
            key_of=public_key_of,
        )


@asynccontextmanager
async def side(path: Path) -> AsyncIterator[Side]:
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            blocked: set[bytes] = set()
            s = Side(host, store, StoreFeeds(store, me, lambda: frozenset(blocked)), blocked)
            server = CatchupServer(
                s.feeds,
                Limits(),
                events=s.events.append,
                penalise=s.penalise,
                is_penalised=s.is_penalised,
            )
            sync = SyncServer(
                s.feeds,
                Limits(),
                events=s.events.append,
                penalise=s.penalise,
                is_penalised=s.is_penalised,
                key_of=public_key_of,
            )
            host.set_stream_handler(CATCHUP_PROTOCOL, server.handle)
            host.set_stream_handler(SYNC_PROTOCOL, sync.handle)
            yield s
    finally:
        store.close()


async def connect(a: Any, b: Any) -> None:
    with trio.fail_after(WAIT):
        await a.connect(PeerInfo(b.get_id(), b.get_addrs()))


async def test_catch_up_lists_what_is_addressed_newest_first_without_blocked_authors(
    tmp_path: Path,
) -> None:
    async with side(tmp_path / "s") as server, side(tmp_path / "r") as reader:
        server.store.ingest(A, wire([QUESTION]))
        server.store.ingest(LEA.public_key, [(e.raw, p) for e, p in (REPLY, MENTION)])
        server.store.ingest(BO.public_key, [(SHARE[0].raw, SHARE[1])])
        await connect(reader.host, server.host)
        peer = server.host.get_id()
        got = await reader.client.ask(peer, A, 0)
        assert got == [entry_ref(MENTION[0]), entry_ref(SHARE[0]), entry_ref(REPLY[0])]
        assert await reader.client.ask(peer, A, 6000) == got[:2]
        assert await reader.client.ask(peer, A, 0, 1) == got[:1]
        assert await reader.client.ask(peer, LEA.public_key, 0) == []
        server.blocked.add(BO.public_key)
        assert await reader.client.ask(peer, A, 0) == [got[0], got[2]]
        assert not server.penalised and not reader.penalised


async def test_a_malformed_ask_is_refused_and_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "s") as server, running_host() as evil:
        await connect(evil, server.host)
        stream = await evil.new_stream(server.host.get_id(), [CATCHUP_PROTOCOL])
        body = canonical.encode({"t": "ask", "to": A, "since": 0, "limit": 0})
        await stream.write(len(body).to_bytes(4, "big") + body)
        with trio.fail_after(WAIT):
            answer = await CatchupFrames(stream).receive()
        assert isinstance(answer, frames.Error) and answer.code == "bad-request"
        assert str(evil.get_id()) in server.penalised


async def test_a_server_sending_garbage_is_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "r") as reader, running_host() as evil:

        async def lie(stream: Any) -> None:
            await CatchupFrames(stream).receive()
            await stream.write(b"\x00\x00\x00\x02\xa0\xff")

        evil.set_stream_handler(CATCHUP_PROTOCOL, lie)
        await connect(reader.host, evil)
        with pytest.raises(PeerMisbehaved):
            await reader.client.ask(evil.get_id(), A, 0)
        assert str(evil.get_id()) in reader.penalised


async def test_a_server_sending_more_refs_than_asked_is_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "r") as reader, running_host() as evil:

        async def lie(stream: Any) -> None:
            io = CatchupFrames(stream)
            await io.receive()
            await io.send(Refs((entry_ref(REPLY[0]), entry_ref(SHARE[0]))))

        evil.set_stream_handler(CATCHUP_PROTOCOL, lie)
        await connect(reader.host, evil)
        with pytest.raises(PeerMisbehaved):
            await reader.client.ask(evil.get_id(), A, 0, 1)


async def test_a_server_answering_with_another_message_is_penalised(tmp_path: Path) -> None:
    """An answer that decodes but is neither ``refs`` nor ``error`` (here the reader's
    own ``ask`` sent back) breaks the protocol (docs/protocol.md 29.4)."""
    async with side(tmp_path / "r") as reader, running_host() as evil:

        async def echo(stream: Any) -> None:
            io = CatchupFrames(stream)
            asked = await io.receive()
            await io.send(asked)

        evil.set_stream_handler(CATCHUP_PROTOCOL, echo)
        await connect(reader.host, evil)
        with pytest.raises(PeerMisbehaved, match="did not answer ask with refs"):
            await reader.client.ask(evil.get_id(), A, 0)
        assert "did not answer ask with refs" in reader.penalised[str(evil.get_id())]


async def test_busy_and_refusals_are_not_misbehaviour(tmp_path: Path) -> None:
    async with side(tmp_path / "r") as reader, running_host() as other:

        async def busy(stream: Any) -> None:
            io = CatchupFrames(stream)
            await io.receive()
            await io.send(frames.Error("busy", "later"))

        other.set_stream_handler(CATCHUP_PROTOCOL, busy)
        await connect(reader.host, other)
        with pytest.raises(SessionRefused):
            await reader.client.ask(other.get_id(), A, 0)
        assert not reader.penalised


# --- targeted fetch ---------------------------------------------------------------------


async def test_fetch_takes_referenced_entries_and_ignores_other_ids(tmp_path: Path) -> None:
    chain = make_chain(ANN, 5)
    async with side(tmp_path / "s") as server, side(tmp_path / "r") as reader:
        server.store.ingest(A, wire(chain))
        server.store.ingest(LEA.public_key, [(e.raw, p) for e, p in (REPLY, MENTION)])
        await connect(reader.host, server.host)
        peer = server.host.get_id()
        refs = [
            entry_ref(chain[3][0]),
            entry_ref(chain[1][0]),
            entry_ref(MENTION[0]),
            (A, 5, bytes(32)),  # another id than the entry at 5: ignored
            (A, 9, bytes(32)),  # not held by the server: nothing asked
            (CY.public_key, 1, bytes(32)),  # a feed the server holds nothing of
        ]
        report = await reader.fetcher.fetch_from(peer, refs)
        assert sorted(held_ids(reader.store, A)) == sorted([chain[1][0].id, chain[3][0].id])
        assert held_ids(reader.store, LEA.public_key) == {MENTION[0].id}
        assert len(report.stored) == 3 and report.ignored == 1
        stored = [e for e in reader.events if isinstance(e, EntriesStored)]
        assert {e.via for e in stored} == {"fetch"}
        # Held entries are not asked for again; blocked authors are not asked for at all.
        again = await reader.fetcher.fetch_from(peer, refs[:3])
        assert again.stored == [] and again.ignored == 0
        reader.blocked.add(A)
        assert (await reader.fetcher.fetch_from(peer, [entry_ref(chain[4][0])])).stored == []
        reader.blocked.clear()
        # A check can refuse what it does not want (catch-up: only what is addressed).
        refused = await reader.fetcher.fetch_from(
            peer, [entry_ref(chain[4][0])], check=lambda _entry, _payload: False
        )
        assert refused.stored == [] and refused.ignored == 1
        assert not reader.penalised and not server.penalised


async def test_a_server_altering_a_payload_is_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "r") as reader, running_host() as evil:
        entry, payload = QUESTION

        async def lie(stream: Any) -> None:
            io = frames.FrameStream(stream, 1 << 20)
            await io.receive()
            await io.send(frames.Have((frames.FeedHave(A, 1, 1),)))
            await io.receive()
            await io.send(frames.Batch(A, ((entry.raw, payload + b" "),)))
            await io.receive()

        evil.set_stream_handler(SYNC_PROTOCOL, lie)
        await connect(reader.host, evil)
        with pytest.raises(PeerMisbehaved):
            await reader.fetcher.fetch_from(evil.get_id(), [entry_ref(entry)])
        assert str(evil.get_id()) in reader.penalised
        assert reader.store.feed_state(A).max_seq == 0


async def test_a_server_sending_a_forgery_for_a_reference_gets_it_ignored(tmp_path: Path) -> None:
    """A forged entry hashes to another id than the reference: not stored, not checked."""
    async with side(tmp_path / "r") as reader, running_host() as evil:
        entry, payload = QUESTION
        forged = entry.raw[:-1] + bytes([entry.raw[-1] ^ 1])

        async def lie(stream: Any) -> None:
            io = frames.FrameStream(stream, 1 << 20)
            await io.receive()
            await io.send(frames.Have((frames.FeedHave(A, 0, 1),)))
            await io.receive()
            await io.send(frames.Batch(A, ((forged, payload),)))
            await io.receive()
            await io.send(frames.Done())
            await io.receive()

        evil.set_stream_handler(SYNC_PROTOCOL, lie)
        await connect(reader.host, evil)
        report = await reader.fetcher.fetch_from(evil.get_id(), [entry_ref(entry)])
        assert report.stored == [] and report.ignored == 1
        assert reader.store.feed_state(A).max_seq == 0
