"""The sync protocol between two real libp2p hosts on loopback, with real stores."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import running_host, wait_disconnected
from libp2p.peer.peerinfo import PeerInfo
from store_helpers import check_feed, make_chain, make_identity, wire

from lndesk.app.feeds import StoreFeeds
from lndesk.errors import ProtocolError, StoreCorruptError
from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits, NodeConfig
from lndesk.p2p.events import EntriesStored, Event, HolderProven, NodeWarning, PeerHolds
from lndesk.p2p.host import public_key_of
from lndesk.p2p.sessions import PeerMisbehaved, SessionRefused
from lndesk.p2p.sync import (
    SYNC_PROTOCOL,
    SyncClient,
    SyncServer,
    missing_runs,
    plan_windows,
)
from lndesk.store.store import Store

ANN = make_identity(1)


@dataclass
class Side:
    host: Any
    store: Store
    feeds: StoreFeeds
    events: list[Event] = field(default_factory=list)
    penalised: dict[str, str] = field(default_factory=dict)
    server: SyncServer | None = None
    client: SyncClient | None = None


@asynccontextmanager
async def side(
    path: Path, limits: Limits, *, newest_first: bool = False, config: NodeConfig | None = None
) -> AsyncIterator[Side]:
    store = Store(path)
    try:
        async with running_host(config=config) as host:
            me = public_key_of(host.get_id())
            assert me is not None
            s = Side(host, store, StoreFeeds(store, me))

            def penalise(peer: Any, reason: str) -> None:
                s.penalised[str(peer)] = reason

            s.server = SyncServer(
                s.feeds,
                limits,
                events=s.events.append,
                penalise=penalise,
                is_penalised=lambda peer: str(peer) in s.penalised,
                key_of=public_key_of,
            )
            s.client = SyncClient(
                host,
                s.feeds,
                limits,
                events=s.events.append,
                penalise=penalise,
                key_of=public_key_of,
                newest_first=newest_first,
            )
            host.set_stream_handler(SYNC_PROTOCOL, s.server.handle)
            yield s
    finally:
        store.close()


async def connect(a: Side, b: Side) -> None:
    await b.host.connect(PeerInfo(a.host.get_id(), a.host.get_addrs()))


def follow(s: Side, key: bytes) -> None:
    """Make ``s`` want ``key`` without publishing (the tests' stores have no identity)."""
    s.feeds.wanted_feeds = lambda: [key]  # type: ignore[method-assign]


SMALL = Limits(batch_entries=100, request_entries=500, window=2)


async def sync_from_liar(b: Side, liar: Any, *replies: frames.Message | bytes) -> None:
    """Sync ``b`` from a host that answers each frame it receives with the next reply.

    Asserts that the session ends with the liar penalised.
    """

    async def handler(stream: Any) -> None:
        io = frames.FrameStream(stream, 1 << 20)
        for reply in replies:
            await io.receive()
            if isinstance(reply, bytes):
                await stream.write(reply)
            else:
                await io.send(reply)
        await io.receive()

    liar.set_stream_handler(SYNC_PROTOCOL, handler)
    follow(b, ANN.public_key)
    await b.host.connect(PeerInfo(liar.get_id(), liar.get_addrs()))
    assert b.client is not None
    with trio.fail_after(10), pytest.raises(PeerMisbehaved):
        await b.client.sync_with(liar.get_id())
    assert str(liar.get_id()) in b.penalised


def raw_batch(items: list[tuple[bytes, bytes | None]]) -> bytes:
    """A batch frame built without the encoder's checks."""
    body = frames.canonical.encode(
        {"t": "batch", "feed": ANN.public_key, "items": [list(i) for i in items]}
    )
    return frames.FRAME_HEAD.pack(len(body)) + body


def test_missing_runs_and_windows() -> None:
    assert missing_runs(1, 10, {3, 4, 8}) == [(1, 2), (5, 7), (9, 10)]
    assert missing_runs(1, 3, {1, 2, 3}) == []
    assert list(plan_windows(0, 25, 10, newest_first=False)) == [(1, 10), (11, 20), (21, 25)]
    assert list(plan_windows(3, 25, 10, newest_first=True)) == [(16, 25), (6, 15), (4, 5)]
    assert list(plan_windows(3, 25, 10, newest_first=True, first=2)) == [
        (24, 25),
        (14, 23),
        (4, 13),
    ]


@pytest.mark.parametrize("newest_first", [False, True])
async def test_reader_gets_every_entry_authenticated(tmp_path: Path, newest_first: bool) -> None:
    chain = make_chain(ANN, 1234)
    async with (
        side(tmp_path / "a", SMALL) as a,
        side(tmp_path / "b", SMALL, newest_first=newest_first) as b,
    ):
        a.store.ingest(ANN.public_key, wire(chain))
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        with trio.fail_after(30):
            report = await b.client.sync_with(a.host.get_id())
        assert report.stored == 1234
        assert [e.id for e in check_feed(b.store, ANN.public_key)] == [e.id for e, _ in chain]
        stored = [e for e in b.events if isinstance(e, EntriesStored)]
        assert sum(e.count for e in stored) == 1234
        if newest_first:
            assert stored[0].max_seq == 1234  # the newest run came first
        # what the reader holds of a feed that is not the server's own is not reported
        # (only the own feed's holders count, docs/protocol.md section 20.13)
        assert not [e for e in a.events if isinstance(e, PeerHolds | HolderProven)]
        # a second session finds nothing to do
        with trio.fail_after(10):
            again = await b.client.sync_with(a.host.get_id())
        assert again.stored == 0


async def test_resumes_from_stored_height_after_the_connection_is_cut(tmp_path: Path) -> None:
    chain = make_chain(ANN, 1000)
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        a.store.ingest(ANN.public_key, wire(chain))
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        cut = trio.Event()
        original = b.feeds.ingest

        def ingest_then_cut(key: bytes, items: Any) -> Any:
            outcome = original(key, items)
            if b.feeds.held(key).height >= 300:
                cut.set()
            return outcome

        b.feeds.ingest = ingest_then_cut  # type: ignore[method-assign]

        async def cutter() -> None:
            await cut.wait()
            await b.host.disconnect(a.host.get_id())

        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(cutter)
                with pytest.raises(Exception):
                    await b.client.sync_with(a.host.get_id())
        height = b.feeds.held(ANN.public_key).height
        assert 300 <= height < 1000
        await wait_disconnected(a.host, b.host.get_id())
        assert not a.penalised  # going away is not misbehaviour
        await connect(a, b)
        with trio.fail_after(30):
            report = await b.client.sync_with(a.host.get_id())
        assert report.stored == 1000 - height
        assert len(check_feed(b.store, ANN.public_key)) == 1000


async def test_server_serves_feeds_it_only_holds(tmp_path: Path) -> None:
    """Re-serving: B holds Ann's feed (got it from Ann); C gets it from B."""
    chain = make_chain(ANN, 50)
    async with side(tmp_path / "b", SMALL) as b, side(tmp_path / "c", SMALL) as c:
        b.store.ingest(ANN.public_key, wire(chain))
        follow(c, ANN.public_key)
        await connect(b, c)
        assert c.client is not None
        with trio.fail_after(10):
            await c.client.sync_with(b.host.get_id())
        assert len(check_feed(c.store, ANN.public_key)) == 50


async def test_a_reader_breaking_the_protocol_is_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        await connect(a, b)
        stream = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
        await stream.write(b"\x00\x00\x00\x03abc")
        reply = frames.FrameStream(stream, 1 << 20)
        with trio.fail_after(10):
            message = await reply.receive()
        assert isinstance(message, frames.Error)
        assert str(b.host.get_id()) in a.penalised
        # and further sessions from it are refused
        with trio.fail_after(10), pytest.raises(Exception):
            stream = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
            await stream.write(frames.encode_frame(frames.Want(())))
            assert await frames.FrameStream(stream, 1 << 20).receive() is None
            raise ProtocolError("closed")


async def test_oversized_frame_is_refused_before_reading_it(tmp_path: Path) -> None:
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        await connect(a, b)
        stream = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
        await stream.write(frames.FRAME_HEAD.pack(SMALL.max_frame + 1))
        with trio.fail_after(10):
            message = await frames.FrameStream(stream, 1 << 20).receive()
        assert isinstance(message, frames.Error)
        assert "cap" in message.message
        assert str(b.host.get_id()) in a.penalised


async def test_too_many_sessions_at_once_get_busy(tmp_path: Path) -> None:
    limits = Limits(streams_per_peer=1)
    async with side(tmp_path / "a", limits) as a, side(tmp_path / "b", limits) as b:
        await connect(a, b)
        first = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
        await first.write(frames.encode_frame(frames.Want(((ANN.public_key, 0),))))
        with trio.fail_after(10):
            assert isinstance(await frames.FrameStream(first, 1 << 20).receive(), frames.Have)
        second = await b.host.new_stream(a.host.get_id(), [SYNC_PROTOCOL])
        with trio.fail_after(10):
            message = await frames.FrameStream(second, 1 << 20).receive()
        assert isinstance(message, frames.Error)
        assert message.code == "busy"
        assert not a.penalised


def _forged_chain() -> list[tuple[bytes, bytes | None]]:
    return wire(make_chain(make_identity(2), 5))  # another author's entries


def _bad_last_signature() -> list[tuple[bytes, bytes | None]]:
    from store_helpers import with_bad_signature

    chain = make_chain(ANN, 5)
    entry, payload = chain[-1]
    return [*wire(chain[:-1]), (with_bad_signature(entry).raw, payload)]


def _broken_chain() -> list[tuple[bytes, bytes | None]]:
    first = make_chain(ANN, 2)
    other = make_chain(ANN, 3, start_seq=3, prev=b"\x01" * 32)  # does not link to entry 2
    return wire(first) + wire(other)


def _payload_mismatch() -> list[tuple[bytes, bytes | None]]:
    chain = make_chain(ANN, 5)
    items = wire(chain)
    entry, _ = items[-1]
    return [*items[:-1], (entry, b"\xa1dtextdnope")]


def _undecodable() -> list[tuple[bytes, bytes | None]]:
    return [(b"\x89" + b"\x00" * 60, None)]


def _oversized() -> list[tuple[bytes, bytes | None]]:
    return [(b"\x00" * 600, None)]


@pytest.mark.parametrize(
    "bad_items",
    [
        _forged_chain,
        _bad_last_signature,
        _broken_chain,
        _payload_mismatch,
        _undecodable,
        _oversized,
    ],
    ids=["forged", "bad-signature", "forked-without-proof", "payload", "undecodable", "oversized"],
)
async def test_a_server_sending_bad_entries_is_penalised_and_nothing_is_stored(
    tmp_path: Path, bad_items: Any
) -> None:
    have = frames.Have((frames.FeedHave(ANN.public_key, 5, 5),))
    async with side(tmp_path / "b", SMALL) as b, running_host() as evil:
        await sync_from_liar(b, evil, have, raw_batch(bad_items()))
        assert b.feeds.held(ANN.public_key).max_seq == 0
        assert b.store.index.count_entries() == 0


async def test_a_real_fork_is_kept_as_proof_and_not_penalised(tmp_path: Path) -> None:
    """The author signed two branches; a peer relaying the other branch is honest."""
    chain = make_chain(ANN, 3)
    fork = make_chain(ANN, 3, start_seq=3, prev=chain[1][0].id, text="other branch")
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        a.store.ingest(ANN.public_key, wire(chain[:2]) + wire(fork))  # 1, 2, 3', 4', 5'
        b.store.ingest(ANN.public_key, wire(chain))  # 1, 2, 3
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        with trio.fail_after(10):
            await b.client.sync_with(a.host.get_id())
        assert not b.penalised
        state = b.store.feed_state(ANN.public_key)
        assert state.forked_at == 3
        assert {e.id for e in b.store.fork_proofs(ANN.public_key)} == {fork[0][0].id}


async def test_entries_that_do_not_link_without_a_fork_proof_are_penalised(
    tmp_path: Path,
) -> None:
    chain = make_chain(ANN, 3)
    async with side(tmp_path / "b", SMALL) as b, running_host() as evil:
        b.store.ingest(ANN.public_key, wire(chain))
        loose = wire(make_chain(ANN, 2, start_seq=4, prev=b"\x02" * 32))
        await sync_from_liar(
            b,
            evil,
            frames.Have((frames.FeedHave(ANN.public_key, 5, 5),)),
            frames.Batch(ANN.public_key, tuple(loose)),
            frames.Done(),
            # asked for its entry 3 as proof of a fork, it has only ours to show
            frames.Batch(ANN.public_key, tuple(wire(chain[2:3]))),
            frames.Done(),
        )
        assert b.store.feed_state(ANN.public_key).max_seq == 3


async def test_a_busy_server_is_not_penalised(tmp_path: Path) -> None:
    busy = Limits(streams_per_peer=0)
    async with side(tmp_path / "a", busy) as a, side(tmp_path / "b", SMALL) as b:
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        with trio.fail_after(10), pytest.raises(SessionRefused, match="busy"):
            await b.client.sync_with(a.host.get_id())
        assert not b.penalised and not a.penalised


async def test_a_server_claiming_entries_it_does_not_send_is_penalised(tmp_path: Path) -> None:
    async with side(tmp_path / "b", SMALL) as b, running_host() as evil:
        await sync_from_liar(
            b, evil, frames.Have((frames.FeedHave(ANN.public_key, 1000, 1000),)), frames.Done()
        )


async def test_a_sparse_claim_with_nothing_behind_it_ends_quickly(tmp_path: Path) -> None:
    """A peer may hold nothing of a sparse range; the reader must not walk 2**53 windows."""
    async with side(tmp_path / "b", SMALL) as b, running_host() as odd:

        async def handler(stream: Any) -> None:
            io = frames.FrameStream(stream, 1 << 20)
            await io.receive()
            await io.send(frames.Have((frames.FeedHave(ANN.public_key, 0, 2**53 - 1),)))
            while await io.receive() is not None:
                await io.send(frames.Done())

        odd.set_stream_handler(SYNC_PROTOCOL, handler)
        follow(b, ANN.public_key)
        await b.host.connect(PeerInfo(odd.get_id(), odd.get_addrs()))
        assert b.client is not None
        with trio.fail_after(10):
            report = await b.client.sync_with(odd.get_id())
        assert report.stored == 0
        assert not b.penalised


async def test_a_batch_outside_the_requested_range_is_penalised(tmp_path: Path) -> None:
    chain = make_chain(ANN, 8)
    async with side(tmp_path / "b", SMALL) as b, running_host() as evil:
        b.store.ingest(ANN.public_key, wire(chain[:3]))
        await sync_from_liar(
            b,
            evil,
            frames.Have((frames.FeedHave(ANN.public_key, 8, 8),)),
            frames.Batch(ANN.public_key, tuple(wire(chain))),  # 1..8, asked 4..8
        )
        assert b.store.feed_state(ANN.public_key).max_seq == 3


def test_a_feed_named_twice_is_a_protocol_error() -> None:
    frame = frames.encode_frame(frames.Want(((ANN.public_key, 0), (ANN.public_key, 1))))
    with pytest.raises(ProtocolError, match="twice"):
        frames.decode_frame_body(frame[4:])


async def test_a_server_that_cannot_read_its_store_says_so_and_keeps_serving(
    tmp_path: Path,
) -> None:
    """A local failure (a damaged or unreadable store) ends that session with `internal`;
    the reader does not penalise it, and the server goes on answering."""
    chain = make_chain(ANN, 20)
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        a.store.ingest(ANN.public_key, wire(chain))
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        read_run = a.feeds.read_run

        def failing_read_run(*args: Any) -> Any:
            raise StoreCorruptError("the log file could not be read (simulated disk error)")

        a.feeds.read_run = failing_read_run  # type: ignore[method-assign]
        with trio.fail_after(10), pytest.raises(SessionRefused, match="internal"):
            await b.client.sync_with(a.host.get_id())
        assert not b.penalised and not a.penalised
        assert [e for e in a.events if isinstance(e, NodeWarning)]

        a.feeds.read_run = read_run  # type: ignore[method-assign]
        with trio.fail_after(10):
            await b.client.sync_with(a.host.get_id())
        assert len(check_feed(b.store, ANN.public_key)) == 20


async def test_a_sparse_feed_is_served_with_a_query_per_window_not_per_gap(
    tmp_path: Path,
) -> None:
    """Every other entry missing: the server finds each next held entry from held seqs it
    read ahead, a window at a time; it read the whole rest of the range at every gap."""
    chain = make_chain(ANN, 400)
    async with side(tmp_path / "a", SMALL) as a, side(tmp_path / "b", SMALL) as b:
        for k in range(0, 400, 2):  # seqs 1, 3, 5, ... 399
            a.store.ingest(ANN.public_key, wire(chain[k : k + 1]))
        asked: list[tuple[int, int, int]] = []
        stored_seqs = a.feeds.stored_seqs

        def counted(key: bytes, first: int, last: int) -> set[int]:
            held = stored_seqs(key, first, last)
            asked.append((first, last, len(held)))
            return held

        a.feeds.stored_seqs = counted  # type: ignore[method-assign]
        follow(b, ANN.public_key)
        await connect(a, b)
        assert b.client is not None
        with trio.fail_after(30):
            await b.client.sync_with(a.host.get_id())
        assert b.store.stored_seqs(ANN.public_key, 1, 400) == set(range(1, 400, 2))
        assert not a.penalised and not b.penalised
        assert asked  # gaps were crossed
        assert sum(rows for _, _, rows in asked) <= 200 + SMALL.batch_entries
        assert all(last - first < 2 * SMALL.request_entries for first, last, _ in asked)
