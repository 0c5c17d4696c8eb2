"""A gossip stream's reads and writes without trips through the scheduler for free locks
(``lndesk.p2p.gossip_io``): they wait for a lock another task holds, keep to the send
window, acknowledge what they read, and checkpoint only where data must be waited for.

Two real hosts on 127.0.0.1 and a stream of a test protocol between them; every wait is
on an event under ``trio.fail_after``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from conftest import make_seed, running_host
from libp2p.custom_types import TProtocol
from libp2p.network.stream.exceptions import StreamEOF
from libp2p.peer.peerinfo import PeerInfo
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

from lndesk.p2p.gossip_io import read_quickly, write_quickly

pytestmark = pytest.mark.trio

PROTOCOL = TProtocol("/lndesk-test/gossip-io/1")
WAIT = 15.0


@asynccontextmanager
async def stream_pair() -> AsyncIterator[tuple[Any, Any]]:
    """(the dialler's stream, the listener's end of it), the stream just opened."""
    ends: trio.MemorySendChannel[Any]
    ends, accepted = trio.open_memory_channel[Any](math.inf)
    done = trio.Event()

    async def handler(stream: Any) -> None:
        ends.send_nowait(stream)
        await done.wait()  # the stream stays open while the test uses it

    async with running_host(make_seed("io-a")) as a, running_host(make_seed("io-b")) as b:
        b.set_stream_handler(PROTOCOL, handler)
        addrs = [x for x in b.get_addrs() if str(x).startswith("/ip4/127.0.0.1/tcp/")]
        with trio.fail_after(WAIT):
            await a.connect(PeerInfo(b.get_id(), addrs))
            out = await a.new_stream(b.get_id(), [PROTOCOL])
            await out.write(b"hello")  # the listener's end exists once data comes
            into = await accepted.receive()
            assert await into.read(5) == b"hello"
        try:
            yield out, into
        finally:
            done.set()


async def test_a_write_goes_out_as_one_frame_within_the_window() -> None:
    async with stream_pair() as (out, into):
        window = out.muxed_stream.send_window
        with trio.fail_after(WAIT):
            await write_quickly(out, b"x" * 1000)
            assert await read_quickly(into, 4096) == b"x" * 1000
        assert out.muxed_stream.send_window == window - 1000


async def test_a_write_over_the_send_window_waits_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only as much as the window allows goes out; the rest once the window grows."""
    frames: list[int] = []
    original = Yamux._write_frame

    async def spying(self: Yamux, data: bytes) -> None:
        frames.append(len(data))
        await original(self, data)

    async with stream_pair() as (out, into):
        muxed = out.muxed_stream
        muxed.send_window = 600
        monkeypatch.setattr(Yamux, "_write_frame", spying)
        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_quickly, out, b"y" * 1000)
                assert await read_quickly(into, 4096) == b"y" * 600
                assert muxed.send_window == 0
                muxed.send_window += 400  # as a window update would
            assert await read_quickly(into, 4096) == b"y" * 400
        assert [n - 12 for n in frames if n > 12] == [600, 400]


@pytest.mark.parametrize("lock", ["window", "write"])
async def test_a_write_waits_for_a_lock_another_task_holds(lock: str) -> None:
    async with stream_pair() as (out, into):
        muxed = out.muxed_stream
        held = muxed.window_lock if lock == "window" else muxed.rw_lock._writer_lock
        window = muxed.send_window
        await held.acquire()
        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(write_quickly, out, b"z" * 100)
                await trio.testing.wait_all_tasks_blocked()
                assert muxed.send_window == window  # nothing sent while it is held
                held.release()
            assert await read_quickly(into, 4096) == b"z" * 100


async def test_reads_acknowledge_what_they_take(monkeypatch: pytest.MonkeyPatch) -> None:
    """More than a whole receive window flows through reads: every byte a read takes is
    reported to yamux's window accounting (which tells the writer), and the writer never
    stalls."""
    total = 1024 * 1024
    acknowledged: list[int] = []
    original = YamuxStream._auto_tune_and_send_window_update

    async def noting(self: YamuxStream, *, bytes_read: int = 0) -> None:
        acknowledged.append(bytes_read)
        await original(self, bytes_read=bytes_read)

    async with stream_pair() as (out, into):
        monkeypatch.setattr(YamuxStream, "_auto_tune_and_send_window_update", noting)
        received = 0
        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:

                async def writer() -> None:
                    for _ in range(total // 8192):
                        await write_quickly(out, b"w" * 8192)

                nursery.start_soon(writer)
                while received < total:
                    received += len(await read_quickly(into, 64 * 1024))
        assert received == total
        assert sum(acknowledged) == total


async def test_a_read_of_data_held_takes_no_checkpoint() -> None:
    """Data the connection has already taken is read without a trip through the
    scheduler (py-libp2p's read takes three, for locks that are free)."""
    async with stream_pair() as (out, into):
        await out.write(b"data")
        with trio.fail_after(WAIT):
            while not into.muxed_stream.conn.stream_buffers.get(into.muxed_stream.stream_id):
                await trio.testing.wait_all_tasks_blocked()
        read = read_quickly(into, 4096)
        with pytest.raises(StopIteration) as done:
            read.send(None)  # runs to its end without yielding to the scheduler
        assert done.value.value == b"data"


async def test_a_closed_stream_reads_as_the_stream_does() -> None:
    async with stream_pair() as (out, into):
        await write_quickly(out, b"last")
        await out.close()
        with trio.fail_after(WAIT):
            assert await read_quickly(into, 4096) == b"last"
            with pytest.raises(StreamEOF):
                await read_quickly(into, 4096)
