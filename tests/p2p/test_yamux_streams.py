"""What the streams a peer opens on one yamux connection can make a node hold
(docs/protocol.md section 19), on real loopback hosts.

py-libp2p 0.8.1 takes every stream a peer opens, with no bound, and each may hold up to
its receive window (256 KiB) of data nobody reads: a stream whose handler does not read,
one still negotiating its protocol, one whose server answered ``busy`` and closed its
side. One connection could so make a node hold any amount of memory. And a stream
reset, by either end, kept the data it had buffered until py-libp2p's sweeper dropped it,
60 to 90 s later, though a reset stream is never read again.
"""

from __future__ import annotations

import contextlib
import tracemalloc
from pathlib import Path
from typing import Any

import trio
import trio.testing
from libp2p.stream_muxer.yamux import yamux
from test_read_ahead import round_trip
from test_yamux_errors import SINK, WAIT, frame, three_hosts

from lndesk.p2p.yamux_window import FRAME_LIMIT, MAX_INBOUND_STREAMS

CHUNK = 32 * 1024
RESETS = "/lndesk-test/resets/1"


def inbound_of(victim: Any, attacker: Any) -> Any:
    (conn,) = victim.get_network().get_connections(attacker.get_id())
    return conn.muxed_conn


def opened_by_peer(muxed: Any) -> list[Any]:
    return [stream for stream in muxed.streams.values() if not stream.is_initiator]


def buffered(muxed: Any) -> int:
    return sum(len(buffer) for buffer in muxed.stream_buffers.values())


async def test_a_peer_holds_at_most_max_inbound_streams_open_on_a_connection() -> None:
    """Streams to a handler that never reads, each with data: those over the cap are
    reset at once; the connection, and every other peer's, goes on."""
    over = 8
    async with three_hosts() as (victim, attacker, other, _conn):
        refused = 0
        for _ in range(MAX_INBOUND_STREAMS + over):
            try:
                with trio.fail_after(WAIT):
                    stream = await attacker.new_stream(victim.get_id(), [SINK])
                    await stream.write(bytes(CHUNK))
            except trio.TooSlowError:
                raise
            except Exception:  # reset: the protocol could not be negotiated
                refused += 1
        await trio.testing.wait_all_tasks_blocked()
        muxed = inbound_of(victim, attacker)
        assert len(opened_by_peer(muxed)) == MAX_INBOUND_STREAMS
        assert refused == over
        assert buffered(muxed) <= MAX_INBOUND_STREAMS * CHUNK
        assert attacker.get_id() in victim.get_connected_peers()  # not closed: refused
        with trio.fail_after(WAIT):
            assert await round_trip(other, victim.get_id(), b"unaffected") == b"unaffected"


async def test_streams_opened_and_closed_one_after_another_are_never_refused() -> None:
    async with three_hosts() as (victim, attacker, _, _conn):
        for n in range(2 * MAX_INBOUND_STREAMS + 1):
            with trio.fail_after(WAIT):
                message = b"round %d" % n
                assert await round_trip(attacker, victim.get_id(), message) == message
        await trio.testing.wait_all_tasks_blocked()
        assert opened_by_peer(inbound_of(victim, attacker)) == []


async def resets(stream: Any) -> None:
    """A handler that reads one byte and resets the stream, the rest unread."""
    await stream.read(1)
    await stream.reset()


async def test_a_stream_reset_here_drops_what_it_buffered_at_once() -> None:
    async with three_hosts() as (victim, attacker, _, _conn):
        victim.set_stream_handler(RESETS, resets)
        with trio.fail_after(WAIT):
            stream = await attacker.new_stream(victim.get_id(), [RESETS])
            with contextlib.suppress(Exception):  # the reset may come while it writes
                await stream.write(bytes(3 * CHUNK))
        await trio.testing.wait_all_tasks_blocked()
        muxed = inbound_of(victim, attacker)
        assert opened_by_peer(muxed) == []
        assert buffered(muxed) == 0


async def test_a_stream_the_peer_reset_drops_what_it_buffered_at_once() -> None:
    """Its handler (one that never reads) still runs; what it could not read is gone,
    and the stream no longer counts against the peer's streams."""
    async with three_hosts() as (victim, attacker, _, _conn):
        with trio.fail_after(WAIT):
            stream = await attacker.new_stream(victim.get_id(), [SINK])
            await stream.write(bytes(3 * CHUNK))
        await trio.testing.wait_all_tasks_blocked()
        muxed = inbound_of(victim, attacker)
        assert buffered(muxed) >= 3 * CHUNK
        await stream.reset()
        await trio.testing.wait_all_tasks_blocked()
        assert opened_by_peer(muxed) == []
        assert buffered(muxed) == 0
        with trio.fail_after(WAIT):
            assert await round_trip(attacker, victim.get_id(), b"kept") == b"kept"


def test_the_protocol_states_the_streams_a_peer_may_hold_open() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text[text.index("## 19. Network transport") : text.index("## 20. ")]
    assert f"at most {MAX_INBOUND_STREAMS} streams it opened" in section


async def test_data_for_a_stream_not_open_is_dropped_as_it_is_read() -> None:
    """A frame for a stream that is not open may announce up to 16 MiB, all of it
    dropped: it is read a Noise message at a time, never held whole (py-libp2p built
    the whole body, and copies of it, before dropping it)."""
    size = 8 * 1024 * 1024
    async with three_hosts() as (victim, attacker, _, conn):
        with trio.fail_after(WAIT):
            assert await round_trip(attacker, victim.get_id(), b"warm") == b"warm"
        tracemalloc.start()
        try:
            await conn._write_frame(frame(yamux.TYPE_DATA, 0, 1001, size))
            chunk = bytes(FRAME_LIMIT)
            for start in range(0, size, FRAME_LIMIT):
                await conn.secured_conn.write(chunk[: min(FRAME_LIMIT, size - start)])
            with trio.fail_after(WAIT):  # read in order: the body was taken before it
                assert await round_trip(attacker, victim.get_id(), b"kept") == b"kept"
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < size // 4
        assert attacker.get_id() in victim.get_connected_peers()
