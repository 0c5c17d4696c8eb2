"""Rules of the sync reader, server and targeted fetch that a lying peer probes, each
checked for the error it must raise (docs/protocol.md sections 20.2 to 20.6): a real
reader or server on one side, a scripted host on the other."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from store_helpers import make_chain, make_identity, wire

from lndesk.app.feeds import StoreFeeds
from lndesk.errors import ChainError, ProtocolError
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.fetch import RefFetcher
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sessions import PeerMisbehaved
from lndesk.p2p.sync import SYNC_PROTOCOL, SyncClient, SyncServer
from lndesk.store.store import Store

ANN = make_identity(1)
BEN = make_identity(2)
A, B = ANN.public_key, BEN.public_key
LIMITS = Limits(batch_entries=100, request_entries=500, window=2)
WAIT = 10


@dataclass
class Reader:
    host: Any
    store: Store
    feeds: StoreFeeds
    penalised: dict[str, str] = field(default_factory=dict)

    def penalise(self, peer: Any, reason: str) -> None:
        self.penalised[str(peer)] = reason

    def client(self) -> SyncClient:
        return SyncClient(
            self.host,
            self.feeds,
            LIMITS,
            events=lambda _event: None,
            penalise=self.penalise,
            key_of=public_key_of,
            newest_first=False,
        )

    def fetcher(self) -> RefFetcher:
        return RefFetcher(
            self.host,
            self.feeds,
            LIMITS,
            events=lambda _event: None,
            penalise=self.penalise,
            key_of=public_key_of,
        )


@asynccontextmanager
async def reader_of(path: Path, *follows: bytes) -> AsyncIterator[Reader]:
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            reader = Reader(host, store, StoreFeeds(store, me))
            reader.feeds.wanted_feeds = lambda: list(follows)  # type: ignore[method-assign]
            yield reader
    finally:
        store.close()


def scripted(*replies: frames.Message) -> Any:
    """A sync handler that answers each frame it receives with the next reply."""

    async def handler(stream: Any) -> None:
        io = frames.FrameStream(stream, 1 << 20)
        for reply in replies:
            if await io.receive() is None:
                return
            await io.send(reply)
        await io.receive()

    return handler


async def misbehaves(reader: Reader, liar: Any, run: Any) -> BaseException:
    """Run ``run()`` against ``liar``; it must end penalised. Returns the cause."""
    await reader.host.connect(PeerInfo(liar.get_id(), liar.get_addrs()))
    with trio.fail_after(WAIT), pytest.raises(PeerMisbehaved) as caught:
        await run()
    assert str(liar.get_id()) in reader.penalised
    cause = caught.value.__cause__
    assert cause is not None
    return cause


def batch(feed: bytes, items: Sequence[tuple[bytes, bytes | None]]) -> frames.Batch:
    return frames.Batch(feed, tuple(items))


# --- the reader ------------------------------------------------------------------------


async def test_a_batch_with_a_gap_is_a_chain_error(tmp_path: Path) -> None:
    """Inside the range asked, a gap breaks the links (section 20.4): ChainError."""
    chain = wire(make_chain(ANN, 5))
    async with reader_of(tmp_path / "r", A) as reader, running_host() as liar:
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(
                frames.Have((frames.FeedHave(A, 5, 5),)),
                batch(A, [chain[0], chain[1], chain[3], chain[4]]),  # 1, 2, 4, 5
            ),
        )
        cause = await misbehaves(reader, liar, lambda: reader.client().sync_with(liar.get_id()))
        assert type(cause) is ChainError
        assert "entry 4" in str(cause) and "does not link to entry 2" in str(cause)
        assert reader.store.index.count_entries() == 0


async def test_a_batch_reaching_outside_the_range_is_a_protocol_error(tmp_path: Path) -> None:
    chain = wire(make_chain(ANN, 8))
    async with reader_of(tmp_path / "r", A) as reader, running_host() as liar:
        reader.store.ingest(A, chain[:3])
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(frames.Have((frames.FeedHave(A, 8, 8),)), batch(A, chain)),  # 1..8
        )
        cause = await misbehaves(reader, liar, lambda: reader.client().sync_with(liar.get_id()))
        assert type(cause) is ProtocolError
        assert str(cause) == "a batch holds entry 1, outside the range 4..8 asked for"
        assert reader.store.feed_state(A).max_seq == 3


async def test_a_feed_that_was_not_asked_for_is_refused(tmp_path: Path) -> None:
    """A server may offer only the feeds in ``want``: nobody pushes a feed on a reader."""
    pushed = wire(make_chain(BEN, 3))
    async with reader_of(tmp_path / "r", A) as reader, running_host() as liar:
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(
                frames.Have((frames.FeedHave(B, 3, 3),)),
                batch(B, pushed),
                frames.Done(),
            ),
        )
        cause = await misbehaves(reader, liar, lambda: reader.client().sync_with(liar.get_id()))
        assert type(cause) is ProtocolError
        assert "not asked for" in str(cause)
        assert reader.store.index.count_entries() == 0


# --- the server ------------------------------------------------------------------------


async def test_the_server_refuses_a_get_over_request_entries(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    penalised: dict[str, str] = {}
    try:
        async with running_host() as host, running_host() as greedy:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(make_chain(ANN, 3)))
            server = SyncServer(
                feeds,
                LIMITS,
                events=lambda _event: None,
                penalise=lambda peer, reason: penalised.__setitem__(str(peer), reason),
                is_penalised=lambda peer: str(peer) in penalised,
                key_of=public_key_of,
            )
            host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            await greedy.connect(PeerInfo(host.get_id(), host.get_addrs()))
            with trio.fail_after(WAIT):
                stream = await greedy.new_stream(host.get_id(), [SYNC_PROTOCOL])
                io = frames.FrameStream(stream, 1 << 20)
                await io.send(frames.Want(((A, 0),)))
                assert await io.receive() == frames.Have((frames.FeedHave(A, 3, 3),))
                # One more than the cap: refused, although the server holds the start.
                await io.send(frames.Get(A, 1, LIMITS.request_entries + 1))
                answer = await io.receive()
            assert answer == frames.Error(
                "bad-request", f"get asks for more than {LIMITS.request_entries} entries"
            )
            assert str(greedy.get_id()) in penalised
    finally:
        store.close()


async def test_the_server_serves_a_get_at_the_cap(tmp_path: Path) -> None:
    store = Store(tmp_path / "s")
    try:
        async with running_host() as host, running_host() as reader:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(make_chain(ANN, 3)))
            server = SyncServer(
                feeds,
                LIMITS,
                events=lambda _event: None,
                penalise=lambda _peer, _reason: None,
                is_penalised=lambda _peer: False,
                key_of=public_key_of,
            )
            host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            await reader.connect(PeerInfo(host.get_id(), host.get_addrs()))
            with trio.fail_after(WAIT):
                stream = await reader.new_stream(host.get_id(), [SYNC_PROTOCOL])
                io = frames.FrameStream(stream, 1 << 20)
                await io.send(frames.Want(((A, 0),)))
                await io.receive()
                await io.send(frames.Get(A, 1, LIMITS.request_entries))
                sent = await io.receive()
                assert isinstance(sent, frames.Batch) and len(sent.items) == 3
                await io.send(frames.Ack(3))
                assert await io.receive() == frames.Done()
    finally:
        store.close()


# --- targeted fetch ----------------------------------------------------------------------


def ref(entry: Any) -> tuple[bytes, int, bytes]:
    return (entry.author, entry.seq, entry.id)


async def test_fetch_from_a_peer_claiming_a_height_but_sending_nothing(tmp_path: Path) -> None:
    chain = make_chain(ANN, 5)
    async with reader_of(tmp_path / "r") as reader, running_host() as liar:
        liar.set_stream_handler(
            SYNC_PROTOCOL, scripted(frames.Have((frames.FeedHave(A, 5, 5),)), frames.Done())
        )
        cause = await misbehaves(
            reader, liar, lambda: reader.fetcher().fetch_from(liar.get_id(), [ref(chain[2][0])])
        )
        assert type(cause) is ProtocolError
        assert str(cause) == "the peer said it holds entries 1..5 but sent no 3"


async def test_fetch_from_a_peer_holding_nothing_of_a_sparse_claim(tmp_path: Path) -> None:
    """Above its contiguous height a peer may hold nothing: not penalised."""
    chain = make_chain(ANN, 5)
    async with reader_of(tmp_path / "r") as reader, running_host() as peer:
        peer.set_stream_handler(
            SYNC_PROTOCOL, scripted(frames.Have((frames.FeedHave(A, 2, 5),)), frames.Done())
        )
        await reader.host.connect(PeerInfo(peer.get_id(), peer.get_addrs()))
        with trio.fail_after(WAIT):
            report = await reader.fetcher().fetch_from(peer.get_id(), [ref(chain[2][0])])
        assert report.stored == [] and not reader.penalised


async def test_fetch_refuses_a_batch_of_more_than_the_one_entry(tmp_path: Path) -> None:
    chain = make_chain(ANN, 5)
    items = wire(chain)
    async with reader_of(tmp_path / "r") as reader, running_host() as liar:
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(frames.Have((frames.FeedHave(A, 5, 5),)), batch(A, [items[2], items[2]])),
        )
        cause = await misbehaves(
            reader, liar, lambda: reader.fetcher().fetch_from(liar.get_id(), [ref(chain[2][0])])
        )
        assert type(cause) is ProtocolError
        assert reader.store.index.count_entries() == 0
