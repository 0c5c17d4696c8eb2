"""The sync reader's states (lndesk.p2p.read_states, read_feed, reader), each played
against a scripted server (tests/p2p/scripted_stream.py) on a real store; the script
itself is checked once against a real server over loopback."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from scripted_stream import RecordingHost, ScriptedStream, Step, frames_in, served
from store_helpers import make_chain, make_identity, wire, without_payloads

from lndesk.app.feeds import StoreFeeds
from lndesk.errors import ChainError, ProtocolError
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.events import Event, FeedForked, FeedSynced, HolderProven
from lndesk.p2p.frame_caps import READER_RECEIVES
from lndesk.p2p.holes import HoleAsks
from lndesk.p2p.host import public_key_of
from lndesk.p2p.read_feed import FeedRead
from lndesk.p2p.read_states import DISCARDING, FROZEN, Ask, End, ReadContext
from lndesk.p2p.reader import FeedLocks, SessionRead
from lndesk.p2p.sync import SYNC_PROTOCOL, SyncClient, SyncServer, receive_reply
from lndesk.store.store import Store

ANN, ME, PEER = make_identity(1), make_identity(7), make_identity(8)
A = ANN.public_key
LIMITS = Limits(batch_entries=3, request_entries=500, window=2)
CHAIN = make_chain(ANN, 8)
ITEMS = wire(CHAIN)


@contextmanager
def reader_store(path: Path) -> Iterator[StoreFeeds]:
    store = Store(path)
    try:
        yield StoreFeeds(store, ME.public_key)
    finally:
        store.close()


async def play(
    feeds: StoreFeeds,
    offers: Sequence[frames.FeedHave],
    script: Sequence[Step],
    *,
    events: list[Event] | None = None,
    limits: Limits = LIMITS,
    newest_first: bool = False,
) -> SessionRead:
    """Read ``offers`` from a server playing ``script``; the whole script must be used."""
    stream = ScriptedStream(script)
    io = frames.FrameStream(stream, limits.max_frame, READER_RECEIVES)
    sink = events if events is not None else []
    ctx = ReadContext(feeds, sink.append, "peer", PEER.public_key, None)
    read = SessionRead(
        ctx, limits, offers, locks=FeedLocks(), hole_asks=HoleAsks(), newest_first=newest_first
    )

    async def receive() -> frames.Message:
        return await receive_reply(io, limits)

    with trio.fail_after(5):
        await read.run(io.send, io.flush, receive)
    assert stream.finished, "the reader stopped before the script's end"
    return read


def script_of_eight() -> list[Step]:
    return served(frames.Get(A, 1, 8), ITEMS, 1, batch_entries=3, window=2)


async def test_the_script_is_what_a_real_server_plays(tmp_path: Path) -> None:
    """The scripted server is verified: a real reader's real exchange with a real
    server over loopback holds exactly the script's frames, each way."""
    server_store = Store(tmp_path / "s")
    try:
        async with running_host() as server_host, running_host() as reader_host:
            me = public_key_of(server_host.get_id())
            assert me is not None
            served_feeds = StoreFeeds(server_store, me)
            served_feeds.ingest(A, ITEMS)
            server = SyncServer(
                served_feeds,
                LIMITS,
                events=lambda _e: None,
                penalise=lambda *_a: None,
                is_penalised=lambda _p: False,
                key_of=public_key_of,
            )
            server_host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            recording = RecordingHost(reader_host)
            with reader_store(tmp_path / "r") as feeds:
                feeds.wanted_feeds = lambda: [A]  # type: ignore[method-assign]
                client = SyncClient(
                    recording,
                    feeds,
                    LIMITS,
                    events=lambda _e: None,
                    penalise=lambda *_a: None,
                    key_of=public_key_of,
                    newest_first=False,
                )
                await reader_host.connect(PeerInfo(server_host.get_id(), server_host.get_addrs()))
                with trio.fail_after(10):
                    await client.sync_with(server_host.get_id())
    finally:
        server_store.close()
    script: list[Step] = [
        (frames.Want(((A, 0),)), [frames.Have((frames.FeedHave(A, 8, 8),))]),
        *script_of_eight(),
    ]
    (stream,) = recording.streams
    assert frames_in(bytes(stream.sent)) == [sent for sent, _ in script]
    assert frames_in(bytes(stream.received)) == [
        reply for _, replies in script for reply in replies
    ]


async def test_storing_takes_every_batch_and_goes_on_to_the_next_feed(tmp_path: Path) -> None:
    ben = make_identity(2)
    ben_items = wire(make_chain(ben, 2))
    offers = (frames.FeedHave(A, 8, 8), frames.FeedHave(ben.public_key, 2, 2))
    script = [
        *script_of_eight(),
        (frames.Get(ben.public_key, 1, 2), [frames.Batch(ben.public_key, tuple(ben_items))]),
        (frames.Ack(2), [frames.Done()]),
    ]
    events: list[Event] = []
    with reader_store(tmp_path / "r") as feeds:
        read = await play(feeds, offers, script, events=events)
        assert (read.stored, read.feeds) == (10, 2)
        assert feeds.held(A).height == 8 and feeds.held(ben.public_key).height == 2
    synced = [e for e in events if isinstance(e, FeedSynced)]
    assert [(e.feed, e.height) for e in synced] == [(A, 8), (ben.public_key, 2)]


async def test_newest_first_asks_the_newest_batch_first_then_long_ranges(tmp_path: Path) -> None:
    limits = Limits(batch_entries=3, request_entries=4, window=2)
    script = [
        *served(frames.Get(A, 6, 8), ITEMS, 1, batch_entries=3, window=2),
        *served(frames.Get(A, 2, 5), ITEMS, 1, batch_entries=3, window=2),
        *served(frames.Get(A, 1, 1), ITEMS, 1, batch_entries=3, window=2),
    ]
    # Entries above a gap leave the height where it was: the acks say so.
    assert [sent for sent, _ in script] == [
        frames.Get(A, 6, 8),
        frames.Ack(8),
        frames.Get(A, 2, 5),
        frames.Ack(4),
        frames.Ack(5),
        frames.Get(A, 1, 1),
        frames.Ack(1),
    ]
    script[1] = (frames.Ack(0), [])
    script[3] = (frames.Ack(0), script[3][1])
    script[4] = (frames.Ack(0), [])
    script[6] = (frames.Ack(8), [])
    with reader_store(tmp_path / "r") as feeds:
        read = await play(
            feeds, [frames.FeedHave(A, 8, 8)], script, limits=limits, newest_first=True
        )
        assert read.stored == 8 and feeds.held(A).height == 8


async def test_an_empty_answer_at_or_below_the_claimed_height_is_a_protocol_error(
    tmp_path: Path,
) -> None:
    script: list[Step] = [(frames.Get(A, 1, 5), [frames.Done()])]
    with reader_store(tmp_path / "r") as feeds, pytest.raises(ProtocolError) as caught:
        await play(feeds, [frames.FeedHave(A, 5, 5)], script)
    assert str(caught.value) == "the peer said it holds entries 1..5 but sent none of 1..5"


async def test_an_empty_answer_above_the_claimed_height_stops_the_feed(tmp_path: Path) -> None:
    """A sparse claim of 2^53-1 costs one get, not a walk down every window."""
    top = 2**53 - 1
    script: list[Step] = [(frames.Get(A, 1, 500), [frames.Done()])]
    with reader_store(tmp_path / "r") as feeds:
        read = await play(feeds, [frames.FeedHave(A, 0, top)], script)
        assert read.stored == 0 and read.feeds == 1


async def test_a_batch_that_does_not_link_asks_for_the_fork_proof(tmp_path: Path) -> None:
    """Suspect, then ForkProof: the server's entry at the meeting point proves a fork."""
    branch = make_chain(ANN, 3, start_seq=3, prev=CHAIN[1][0].id, text="other branch")
    events: list[Event] = []
    script: list[Step] = [
        (frames.Get(A, 4, 5), [frames.Batch(A, tuple(wire(branch[1:])))]),
        (frames.Ack(3), [frames.Done()]),
        (frames.Get(A, 3, 3), [frames.Batch(A, tuple(wire(branch[:1])))]),
        (frames.Ack(3), [frames.Done()]),
    ]
    with reader_store(tmp_path / "r") as feeds:
        feeds.ingest(A, ITEMS[:3])
        read = await play(feeds, [frames.FeedHave(A, 5, 5)], script, events=events)
        assert read.stored == 0
        assert feeds.held(A).forked_at == 3
    assert FeedForked(A, 3) in events


async def test_a_fork_proof_of_two_entries_is_a_protocol_error(tmp_path: Path) -> None:
    branch = make_chain(ANN, 3, start_seq=3, prev=CHAIN[1][0].id, text="other branch")
    script: list[Step] = [
        (frames.Get(A, 4, 5), [frames.Batch(A, tuple(wire(branch[1:])))]),
        (frames.Ack(3), [frames.Done()]),
        (frames.Get(A, 3, 3), [frames.Batch(A, tuple(wire(branch[:1])))]),
        (frames.Ack(3), [frames.Batch(A, tuple(wire(branch[:1])))]),
    ]
    with reader_store(tmp_path / "r") as feeds, pytest.raises(ProtocolError) as caught:
        feeds.ingest(A, ITEMS[:3])
        await play(feeds, [frames.FeedHave(A, 5, 5)], script)
    assert str(caught.value) == "expected one entry as proof of a fork"


async def test_the_stored_entry_is_no_fork_proof(tmp_path: Path) -> None:
    branch = make_chain(ANN, 3, start_seq=3, prev=CHAIN[1][0].id, text="other branch")
    script: list[Step] = [
        (frames.Get(A, 4, 5), [frames.Batch(A, tuple(wire(branch[1:])))]),
        (frames.Ack(3), [frames.Done()]),
        (frames.Get(A, 3, 3), [frames.Batch(A, tuple(ITEMS[2:3]))]),
        (frames.Ack(3), [frames.Done()]),
    ]
    with reader_store(tmp_path / "r") as feeds, pytest.raises(ChainError):
        feeds.ingest(A, ITEMS[:3])
        await play(feeds, [frames.FeedHave(A, 5, 5)], script)


async def test_holes_are_asked_after_the_ranges_and_filled(tmp_path: Path) -> None:
    script: list[Step] = [
        (frames.Get(A, 3, 4), [frames.Batch(A, tuple(ITEMS[2:4]))]),
        (frames.Ack(4), [frames.Done()]),
        (frames.Get(A, 1, 2), [frames.Batch(A, tuple(ITEMS[:2]))]),
        (frames.Ack(4), [frames.Done()]),
    ]
    with reader_store(tmp_path / "r") as feeds:
        feeds.ingest(A, without_payloads(CHAIN[:2]))
        read = await play(feeds, [frames.FeedHave(A, 4, 4)], script)
        assert read.stored == 4
        assert not feeds.payload_holes(A, 1, 4, 10)


async def test_the_own_feed_claimed_by_the_peer_is_checked_entry_for_entry(
    tmp_path: Path,
) -> None:
    """HolderCheck: the peer serves exactly our entry at the height it claims."""
    mine = wire(make_chain(ME, 3))
    events: list[Event] = []
    script: list[Step] = [
        (frames.Get(ME.public_key, 3, 3), [frames.Batch(ME.public_key, (mine[2],))]),
        (frames.Ack(3), [frames.Done()]),
    ]
    with reader_store(tmp_path / "r") as feeds:
        feeds.ingest(ME.public_key, mine)
        await play(feeds, [frames.FeedHave(ME.public_key, 3, 3)], script, events=events)
    assert HolderProven(PEER.public_key, ME.public_key, 3) in events


async def test_a_claimed_own_entry_not_sent_is_a_protocol_error(tmp_path: Path) -> None:
    mine = wire(make_chain(ME, 3))
    script: list[Step] = [(frames.Get(ME.public_key, 3, 3), [frames.Done()])]
    with reader_store(tmp_path / "r") as feeds, pytest.raises(ProtocolError) as caught:
        feeds.ingest(ME.public_key, mine)
        await play(feeds, [frames.FeedHave(ME.public_key, 3, 3)], script)
    assert str(caught.value) == "the peer said it holds entries 1..3 but sent none of 3"


def _ask(feeds: StoreFeeds, state: Any) -> tuple[ReadContext, Ask]:
    ctx = ReadContext(feeds, lambda _e: None, "peer", PEER.public_key, None)
    lock = trio.Lock()
    lock.acquire_nowait()
    feed = FeedRead(ctx, frames.FeedHave(A, 8, 8), LIMITS, lock, HoleAsks(), newest_first=False)
    return ctx, Ask(feed, 1, 8, state)


@pytest.mark.parametrize("state", [FROZEN, DISCARDING], ids=["frozen", "discarding"])
async def test_frozen_and_discarding_take_batches_of_the_range_without_storing(
    tmp_path: Path, state: Any
) -> None:
    with reader_store(tmp_path / "r") as feeds:
        ctx, ask = _ask(feeds, state)
        assert await state.take(ctx, ask, frames.Batch(A, tuple(ITEMS[:3]))) is state
        assert feeds.held(A).max_seq == 0 and ask.received == 3
        assert state.done(ctx, ask) is End.STOP
        with pytest.raises(ProtocolError):
            await state.take(ctx, ask, frames.Batch(make_identity(2).public_key, (ITEMS[0],)))
