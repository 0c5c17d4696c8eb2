"""Pipelined sync, ``/lndesk/sync/2`` (docs/protocol.md section 20.14): negotiation with
old readers and servers both ways, gets in flight, and the window enforced on both ends."""

from __future__ import annotations

import itertools
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from scripted_stream import RecordingHost, ScriptedStream, Step, frames_in
from store_helpers import make_chain, make_identity, wire

from lndesk.app.feeds import StoreFeeds
from lndesk.batch import CheckedBatch, check_batch
from lndesk.errors import ChainError, ProtocolError
from lndesk.p2p import offload, pipeline
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.frame_caps import READER_RECEIVES
from lndesk.p2p.holes import HoleAsks
from lndesk.p2p.host import public_key_of
from lndesk.p2p.pipeline import GETS_IN_FLIGHT, WINDOW_BATCHES, ReaderWindow, receiving
from lndesk.p2p.read_states import ReadContext
from lndesk.p2p.reader import FeedLocks, SessionRead
from lndesk.p2p.sync import PIPELINED_PROTOCOL, SYNC_PROTOCOL, SyncClient, SyncServer
from lndesk.store.store import Store

ANN, BEN = make_identity(1), make_identity(2)
A, B = ANN.public_key, BEN.public_key
LIMITS = Limits(batch_entries=5, request_entries=10, pipeline_window=3)
WAIT = 20


@asynccontextmanager
async def server_of(path: Path, *, pipelined: bool, limits: Limits = LIMITS) -> AsyncIterator[Any]:
    """A host serving Ann's 1..60 and Ben's 1..30; with ``pipelined`` it speaks
    ``/lndesk/sync/2`` too, else only ``/1`` (an old server)."""
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.ingest(A, wire(make_chain(ANN, 60)))
            feeds.ingest(B, wire(make_chain(BEN, 30)))
            host.penalised = {}
            server = SyncServer(
                feeds,
                limits,
                events=lambda _e: None,
                penalise=lambda who, reason: host.penalised.__setitem__(str(who), reason),
                is_penalised=lambda who: str(who) in host.penalised,
                key_of=public_key_of,
            )
            host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            if pipelined:
                host.set_stream_handler(PIPELINED_PROTOCOL, server.handle_pipelined)
            yield host
    finally:
        store.close()


async def read_from(path: Path, server: Any, *, pipelined: bool, newest_first: bool) -> Any:
    """Sync Ann and Ben from ``server`` with a reader that proposes ``/2`` (or, old,
    only ``/1``); returns the recorded stream."""
    store = Store(path)
    try:
        async with running_host() as host:
            me = public_key_of(host.get_id())
            assert me is not None
            feeds = StoreFeeds(store, me)
            feeds.wanted_feeds = lambda: [A, B]  # type: ignore[method-assign]
            recording = RecordingHost(host)
            penalised: list[str] = []
            client = SyncClient(
                recording,
                feeds,
                LIMITS,
                events=lambda _e: None,
                penalise=lambda _who, reason: penalised.append(reason),
                key_of=public_key_of,
                newest_first=newest_first,
                pipelined=pipelined,
            )
            await host.connect(PeerInfo(server.get_id(), server.get_addrs()))
            with trio.fail_after(WAIT):
                report = await client.sync_with(server.get_id())
            assert not penalised
            assert (report.stored, report.feeds) == (90, 2)
            assert feeds.held(A).height == 60 and feeds.held(B).height == 30
            (stream,) = recording.streams
            return stream
    finally:
        store.close()


@pytest.mark.parametrize("newest_first", [False, True], ids=["oldest-first", "newest-first"])
async def test_a_pipelining_reader_keeps_several_gets_in_flight(
    tmp_path: Path, newest_first: bool
) -> None:
    async with server_of(tmp_path / "s", pipelined=True) as server:
        stream = await read_from(tmp_path / "r", server, pipelined=True, newest_first=newest_first)
        assert stream.get_protocol() == PIPELINED_PROTOCOL
        assert not server.penalised
    sent = frames_in(bytes(stream.sent))
    first_ack = next(n for n, m in enumerate(sent) if isinstance(m, frames.Ack))
    # Want, then gets of both feeds before any batch was taken.
    gets = [m for m in sent[1:first_ack] if isinstance(m, frames.Get)]
    # Ann's 60 entries take 6 gets oldest first, 7 newest first (5, then ranges of 10).
    assert len(gets) == GETS_IN_FLIGHT
    assert {get.feed for get in gets} == {A, B}


async def test_a_pipelining_reader_syncs_from_an_old_server(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s", pipelined=False) as server:
        stream = await read_from(tmp_path / "r", server, pipelined=True, newest_first=True)
        assert stream.get_protocol() == SYNC_PROTOCOL
        assert not server.penalised


async def test_an_old_reader_syncs_from_a_new_server(tmp_path: Path) -> None:
    async with server_of(tmp_path / "s", pipelined=True) as server:
        stream = await read_from(tmp_path / "r", server, pipelined=False, newest_first=True)
        assert stream.get_protocol() == SYNC_PROTOCOL
        assert not server.penalised
    sent = frames_in(bytes(stream.sent))
    # One get at a time: every get but the first follows an ack (of the last batch).
    for before, get in itertools.pairwise(sent):
        if isinstance(get, frames.Get) and not isinstance(before, frames.Want):
            assert isinstance(before, frames.Ack)


async def test_the_server_refuses_more_gets_in_flight_than_allowed(tmp_path: Path) -> None:
    limits = Limits(batch_entries=1, pipeline_window=1)
    async with server_of(tmp_path / "s", pipelined=True, limits=limits) as server:
        async with running_host() as host:
            await host.connect(PeerInfo(server.get_id(), server.get_addrs()))
            with trio.fail_after(WAIT):
                stream = await host.new_stream(server.get_id(), [PIPELINED_PROTOCOL])
                io = frames.FrameStream(stream, 1 << 22)
                await io.send(frames.Want(((A, 0),)))
                assert isinstance(await io.receive(), frames.Have)
                for _ in range(GETS_IN_FLIGHT + 1):
                    await io.send(frames.Get(A, 1, 5), flush=False)
                await io.flush()
                assert isinstance(await io.receive(), frames.Batch)  # then the window is full
                assert await io.receive() == frames.Error(
                    "bad-request", f"more than {GETS_IN_FLIGHT} gets unanswered"
                )
        assert len(server.penalised) == 1


async def test_the_server_waits_for_acks_beyond_its_window(tmp_path: Path) -> None:
    limits = Limits(batch_entries=1, pipeline_window=2)
    async with server_of(tmp_path / "s", pipelined=True, limits=limits) as server:
        async with running_host() as host:
            await host.connect(PeerInfo(server.get_id(), server.get_addrs()))
            with trio.fail_after(WAIT):
                stream = await host.new_stream(server.get_id(), [PIPELINED_PROTOCOL])
                io = frames.FrameStream(stream, 1 << 22)
                await io.send(frames.Want(((A, 0),)))
                await io.receive()
                await io.send(frames.Get(A, 1, 5))
                for _ in range(2):
                    assert isinstance(await io.receive(), frames.Batch)
                with trio.move_on_after(0.5) as waited:  # nothing more comes without an ack
                    await io.receive()
                assert waited.cancelled_caught
                await io.send(frames.Ack(1))
                assert isinstance(await io.receive(), frames.Batch)


def _batch_frames(count: int) -> bytes:
    chain = wire(make_chain(ANN, count))
    return b"".join(frames.encode_frame(frames.Batch(A, (item,))) for item in chain)


@pytest.mark.parametrize("count", [WINDOW_BATCHES, WINDOW_BATCHES + 1])
async def test_the_reader_refuses_a_batch_beyond_the_window(count: int) -> None:
    """A server that does not wait for acks is caught by the reader, not buffered."""
    stream = ScriptedStream([(frames.Get(A, 1, 100), [_batch_frames(count), frames.Done()])])
    io = frames.FrameStream(stream, 1 << 22, READER_RECEIVES)
    window = ReaderWindow()
    got: list[frames.Message] = []
    with trio.fail_after(5):
        async with receiving(io, window, 5) as received:
            await io.send(frames.Get(A, 1, 100))
            if count <= WINDOW_BATCHES:
                got = [await received.next() for _ in range(count + 1)]
            else:
                with pytest.raises(ProtocolError) as caught:
                    while True:
                        got.append(await received.next())
                assert "unacknowledged" in str(caught.value)
    assert len(got) == (count + 1 if count <= WINDOW_BATCHES else WINDOW_BATCHES)


def test_the_reader_window_bounds_bytes_too() -> None:
    window = ReaderWindow()
    window.received(window.size)
    with pytest.raises(ProtocolError):
        window.received(1)
    window.ack()
    window.received(1)


async def test_asks_sent_ahead_for_a_feed_that_stopped_are_discarded(tmp_path: Path) -> None:
    """A sparse claim with nothing behind it stops the feed; the gets already in flight
    for it are answered and dropped, and the next feed is read."""
    chain = wire(make_chain(BEN, 2))
    script: list[Step] = [
        (frames.Get(A, 1, 20), []),
        (frames.Get(A, 21, 40), []),
        (frames.Get(A, 41, 60), [frames.Done(), frames.Done(), frames.Done()]),
        (frames.Get(B, 1, 2), [frames.Batch(B, tuple(chain)), frames.Done()]),
        (frames.Ack(2), []),
    ]
    store = Store(tmp_path / "r")
    try:
        feeds = StoreFeeds(store, make_identity(7).public_key)
        stream = ScriptedStream(script)
        io = frames.FrameStream(stream, 1 << 22, READER_RECEIVES)
        ctx = ReadContext(feeds, lambda _e: None, "peer", None, None)
        offers = (frames.FeedHave(A, 0, 60), frames.FeedHave(B, 2, 2))
        read = SessionRead(
            ctx,
            Limits(batch_entries=5, request_entries=20),
            offers,
            locks=FeedLocks(),
            hole_asks=HoleAsks(),
            newest_first=False,
            depth=3,
        )
        window = ReaderWindow()

        async def send(message: frames.Message) -> None:
            if isinstance(message, frames.Ack):
                window.ack()
            await io.send(message, flush=False)

        with trio.fail_after(5):
            async with receiving(io, window, 5) as received:
                await read.run(send, io.flush, received.next)
        assert stream.finished
        assert (read.stored, read.feeds) == (2, 2)
    finally:
        store.close()


async def _read_session(
    store: Store, script: list[Step], offers: tuple[frames.FeedHave, ...]
) -> None:
    """Run a pipelined reader's session against ``script``, storing into ``store``."""
    feeds = StoreFeeds(store, make_identity(7).public_key)
    io = frames.FrameStream(ScriptedStream(script), 1 << 22, READER_RECEIVES)
    ctx = ReadContext(feeds, lambda _e: None, "peer", None, None)
    read = SessionRead(
        ctx,
        Limits(batch_entries=100, request_entries=200),
        offers,
        locks=FeedLocks(),
        hole_asks=HoleAsks(),
        newest_first=False,
        depth=1,
    )
    window = ReaderWindow()

    async def send(message: frames.Message) -> None:
        if isinstance(message, frames.Ack):
            window.ack()
        await io.send(message, flush=False)

    with trio.fail_after(10):
        async with receiving(io, window, 5) as received:
            await read.run(send, io.flush, received.next)


async def test_the_reading_task_checks_big_batches_once_ahead_of_the_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each big batch is checked on a worker thread as it is read, before the session's
    task takes it, and the session stores it without checking it again."""
    chain = wire(make_chain(ANN, 200))
    ahead: list[int] = []

    def checking(author: bytes, items: Any) -> CheckedBatch:
        ahead.append(threading.get_ident())
        return check_batch(author, items)

    def again(author: bytes, items: Any) -> CheckedBatch:
        raise AssertionError("a batch checked ahead was checked again")

    monkeypatch.setattr(pipeline, "check_batch", checking)
    monkeypatch.setattr(offload, "check_batch", again)
    script: list[Step] = [
        (frames.Get(A, 1, 200), [frames.Batch(A, tuple(chain[:100]))]),
        (frames.Ack(100), [frames.Batch(A, tuple(chain[100:])), frames.Done()]),
        (frames.Ack(200), []),
    ]
    store = Store(tmp_path / "r")
    try:
        await _read_session(store, script, (frames.FeedHave(A, 200, 200),))
        assert store.feed_state(A).height == 200
    finally:
        store.close()
    assert len(ahead) == 2
    assert threading.get_ident() not in ahead


async def test_a_big_batch_that_fails_its_check_ahead_fails_where_it_is_stored(
    tmp_path: Path,
) -> None:
    """The check ahead keeps no error of its own: the broken batch reaches the session
    as it came, and storing it raises what it always did; nothing of it is stored."""
    items = wire(make_chain(ANN, 100))
    items[70] = wire(make_chain(BEN, 1))[0]  # another author's entry in the middle
    assert pipeline.checked_ahead(frames.Batch(A, tuple(items))) == frames.Batch(A, tuple(items))
    script: list[Step] = [(frames.Get(A, 1, 100), [frames.Batch(A, tuple(items))])]
    store = Store(tmp_path / "r")
    try:
        with pytest.raises(ChainError, match="another author"):
            await _read_session(store, script, (frames.FeedHave(A, 100, 100),))
        assert store.index.count_entries() == 0
    finally:
        store.close()


async def test_frames_are_taken_off_the_stream_while_a_batch_before_them_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The muxer's buffer is not left to hold the frames that came while a batch is
    checked: they are read at once."""
    size = offload.OFFLOAD_ITEMS  # of 1 kB posts: each batch more than the first read takes
    chain = wire(make_chain(ANN, 4 * size, text="x" * 1000))
    batches = [frames.Batch(A, tuple(chain[n : n + size])) for n in range(0, len(chain), size)]
    get = frames.Get(A, 1, len(chain))
    stream = ScriptedStream([(get, [*batches, frames.Done()])])
    io = frames.FrameStream(stream, 1 << 22, READER_RECEIVES)
    release = threading.Event()

    def checking(author: bytes, items: Any) -> CheckedBatch:
        assert release.wait(10)
        return check_batch(author, items)

    monkeypatch.setattr(pipeline, "check_batch", checking)
    with trio.fail_after(10):
        async with receiving(io, ReaderWindow(), 5) as received:
            await io.send(get)
            await trio.testing.wait_all_tasks_blocked()
            unread = stream.unread
            release.set()
            got = [await received.next() for _ in batches]
            assert isinstance(await received.next(), frames.Done)
    assert unread == 0
    assert [len(batch.items) for batch in got if isinstance(batch, frames.Batch)] == [size] * 4


async def test_a_frame_over_its_types_cap_ends_the_reading_before_the_next_is_read() -> None:
    """Bodies read ahead of their decoding are held to their type's cap as they come:
    while the session's task lagged, the reading task held a full channel of 2 MiB
    bodies that no message of theirs may have."""
    bound = WINDOW_BATCHES + GETS_IN_FLIGHT + 2
    over = frames.encode_map_frame({"t": "error", "code": 1, "message": "x" * 1_000_000})
    get = frames.Get(A, 1, 1)
    stream = ScriptedStream([(get, [*[frames.Done()] * (bound + 1), *[over] * bound])])
    io = frames.FrameStream(stream, 1 << 22, READER_RECEIVES)
    with trio.fail_after(10):
        async with receiving(io, ReaderWindow(), 5) as received:
            await io.send(get)
            await trio.testing.wait_all_tasks_blocked()
            unread = stream.unread
            for _ in range(bound + 1):
                assert isinstance(await received.next(), frames.Done)
            with pytest.raises(ProtocolError, match="over the 8192-byte cap"):
                await received.next()
    assert unread == (bound - 1) * len(over)


class ClosedLater:
    """A stream that hands out ``data``, then ends only once ``close_now`` is called."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._closed = trio.Event()

    def close_now(self) -> None:
        self._closed.set()

    async def read(self, n: int) -> bytes:
        if not self._data:
            await self._closed.wait()
        data, self._data = self._data[:n], self._data[n:]
        return data


async def test_a_stream_that_ends_after_a_frame_that_failed_its_decoding_ends_with_its_error() -> (
    None
):
    """The reading task's own failure, met after the decoding task ended on an earlier
    one, is dropped: sent to the closed channel, it escaped as BrokenResourceError and
    the session ended with it instead of the peer's fault."""
    malformed = frames.encode_map_frame({"t": "done", "extra": 1})
    stream = ClosedLater(malformed)
    io = frames.FrameStream(stream, 1 << 22, READER_RECEIVES)
    with trio.fail_after(10), pytest.raises(ProtocolError, match="done"):
        async with receiving(io, ReaderWindow(), 5) as received:
            await trio.testing.wait_all_tasks_blocked()
            stream.close_now()
            await trio.testing.wait_all_tasks_blocked()
            await received.next()


def test_small_batches_are_left_for_the_store_to_check() -> None:
    small = frames.Batch(A, tuple(wire(make_chain(ANN, offload.OFFLOAD_ITEMS - 1))))
    assert type(pipeline.checked_ahead(small).items) is tuple
    big = frames.Batch(A, tuple(wire(make_chain(ANN, offload.OFFLOAD_ITEMS))))
    checked = pipeline.checked_ahead(big).items
    assert isinstance(checked, CheckedBatch) and checked.author == A
