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
from lndesk.entry_refs import Ref
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


async def test_a_batch_of_another_feed_than_asked_is_a_protocol_error(tmp_path: Path) -> None:
    async with reader_of(tmp_path / "r", A) as reader, running_host() as liar:
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(frames.Have((frames.FeedHave(A, 3, 3),)), batch(B, wire(make_chain(BEN, 3)))),
        )
        cause = await misbehaves(reader, liar, lambda: reader.client().sync_with(liar.get_id()))
        assert type(cause) is ProtocolError
        assert str(cause) == "expected a batch of the requested feed"
        assert reader.store.index.count_entries() == 0


async def test_a_fork_proof_is_one_entry_in_one_batch(tmp_path: Path) -> None:
    """Asked to prove a fork at entry 3, the server must send its entry 3 alone: a
    second batch after the first (here the stored entry, then another one) is refused,
    and no fork is recorded."""
    chain = make_chain(ANN, 3)
    other3 = make_chain(ANN, 1, start_seq=3, prev=chain[1][0].id, text="another entry 3")
    loose = make_chain(ANN, 2, start_seq=4, prev=b"\x02" * 32)
    async with reader_of(tmp_path / "r", A) as reader, running_host() as liar:
        reader.store.ingest(A, wire(chain))
        liar.set_stream_handler(
            SYNC_PROTOCOL,
            scripted(
                frames.Have((frames.FeedHave(A, 5, 5),)),
                batch(A, wire(loose)),  # 4..5, not linking to the stored 3
                frames.Done(),
                batch(A, wire(chain[2:])),  # asked for 3: the stored entry 3 ...
                batch(A, wire(other3)),  # ... and then another one
                frames.Done(),
            ),
        )
        cause = await misbehaves(reader, liar, lambda: reader.client().sync_with(liar.get_id()))
        assert type(cause) is ProtocolError
        assert str(cause) == "expected one entry as proof of a fork"
        assert reader.store.feed_state(A).forked_at is None


# --- the server ------------------------------------------------------------------------


@asynccontextmanager
async def serving(
    path: Path, limits: Limits, held: int
) -> AsyncIterator[tuple[Any, dict[str, str]]]:
    """A stream to a real sync server holding Ann's entries 1..held, and its penalties."""
    store = Store(path)
    penalised: dict[str, str] = {}
    try:
        async with running_host() as host, running_host() as peer:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(make_chain(ANN, held)))
            server = SyncServer(
                feeds,
                limits,
                events=lambda _event: None,
                penalise=lambda who, reason: penalised.__setitem__(str(who), reason),
                is_penalised=lambda who: str(who) in penalised,
                key_of=public_key_of,
            )
            host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            await peer.connect(PeerInfo(host.get_id(), host.get_addrs()))
            with trio.fail_after(WAIT):
                stream = await peer.new_stream(host.get_id(), [SYNC_PROTOCOL])
                yield frames.FrameStream(stream, 1 << 20), penalised
    finally:
        store.close()


async def test_the_server_refuses_a_get_over_request_entries(tmp_path: Path) -> None:
    async with serving(tmp_path / "s", LIMITS, 3) as (io, penalised):
        await io.send(frames.Want(((A, 0),)))
        assert await io.receive() == frames.Have((frames.FeedHave(A, 3, 3),))
        # One more than the cap: refused, although the server holds the start.
        await io.send(frames.Get(A, 1, LIMITS.request_entries + 1))
        assert await io.receive() == frames.Error(
            "bad-request", f"get asks for more than {LIMITS.request_entries} entries"
        )
        assert len(penalised) == 1


async def test_the_server_serves_a_get_at_the_cap(tmp_path: Path) -> None:
    async with serving(tmp_path / "s", LIMITS, 3) as (io, penalised):
        await io.send(frames.Want(((A, 0),)))
        await io.receive()
        await io.send(frames.Get(A, 1, LIMITS.request_entries))
        sent = await io.receive()
        assert isinstance(sent, frames.Batch) and len(sent.items) == 3
        await io.send(frames.Ack(3))
        assert await io.receive() == frames.Done()
        assert not penalised


async def test_the_server_refuses_a_want_over_want_feeds(tmp_path: Path) -> None:
    limits = Limits(want_feeds=3)
    async with serving(tmp_path / "s", limits, 1) as (io, penalised):
        keys = [make_identity(10 + n).public_key for n in range(4)]
        await io.send(frames.Want(tuple((key, 0) for key in keys)))
        assert await io.receive() == frames.Error("bad-request", "want names more than 3 feeds")
        assert len(penalised) == 1


async def test_a_session_must_start_with_want(tmp_path: Path) -> None:
    async with serving(tmp_path / "s", LIMITS, 1) as (io, penalised):
        await io.send(frames.Get(A, 1, 1))
        assert await io.receive() == frames.Error(
            "bad-request", "a sync session must start with want"
        )
        assert len(penalised) == 1


async def test_the_server_keeps_at_most_window_batches_unacknowledged(tmp_path: Path) -> None:
    limits = Limits(batch_entries=1, window=2)
    async with serving(tmp_path / "s", limits, 5) as (io, penalised):
        await io.send(frames.Want(((A, 0),)))
        await io.receive()
        await io.send(frames.Get(A, 1, 5))
        for _ in range(limits.window):
            assert isinstance(await io.receive(), frames.Batch)
        # The server now waits for an ack, so what it reads next must be one; a third
        # batch would mean it does not wait.
        await io.send(frames.Get(A, 1, 1))
        assert await io.receive() == frames.Error(
            "bad-request", "expected an ack while sending batches"
        )
        assert len(penalised) == 1


# --- targeted fetch ----------------------------------------------------------------------


def ref(entry: Any) -> Ref:
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
