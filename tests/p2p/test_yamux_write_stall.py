"""A yamux connection whose peer takes nothing is closed once one frame could not be
written for ``WRITE_TIMEOUT`` (docs/protocol.md section 19), on real loopback hosts
behind a proxy that stops reading.

py-libp2p wrote a frame with no bound: a peer that stopped reading its socket (its
kernel keeping the connection alive) left the frame being written, and the
connection's write lock, held for ever. Every other write on the connection waited
behind it, its read loop too once it had a frame to send (an answer to a ping, a new
stream's ACK), and closing the connection (liveness, the pruner, the node stopping)
waited for ever to write its GO_AWAY. A write cut short by a timeout of its caller
(a session's ``send_timeout``) left a Noise message half sent.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import trio
import trio.testing
from conftest import running_host, wait_disconnected
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr
from stall_proxy import stall_proxy
from test_read_ahead import ECHO, echo, round_trip
from test_yamux_errors import SINK, WAIT, sink

from lndesk.p2p.yamux_window import WRITE_TIMEOUT

FLOOD = "/lndesk-test/flood/1"
STREAMS = 48
"""Streams of 256 KiB windows each: 12 MiB, more than the kernel buffers on the way."""


async def flood(stream: Any) -> None:
    """A handler that, once its peer wrote a byte, writes as long as the stream takes it."""
    with contextlib.suppress(Exception):
        await stream.read(1)
        while True:
            await stream.write(bytes(60_000))


async def test_a_peer_that_takes_nothing_has_its_connection_closed() -> None:
    async with (
        running_host() as victim,
        running_host() as reader,
        running_host() as other,
        stall_proxy(int(Multiaddr(str(victim.get_addrs()[0])).value_for_protocol("tcp"))) as proxy,
    ):
        victim.set_stream_handler(FLOOD, flood)
        victim.set_stream_handler(ECHO, echo)
        through = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
        with trio.fail_after(WAIT):
            await reader.connect(PeerInfo(victim.get_id(), [through]))
            await other.connect(PeerInfo(victim.get_id(), victim.get_addrs()))
        (conn,) = victim.get_network().get_connections(reader.get_id())
        conn.muxed_conn.write_timeout = 0.5  # of WRITE_TIMEOUT: the test's own time
        with trio.fail_after(WAIT):
            streams = [await reader.new_stream(victim.get_id(), [FLOOD]) for _ in range(STREAMS)]
        proxy.stall()  # from now on the reader's socket takes nothing the victim writes
        for stream in streams:
            await stream.write(b"!")  # go
        await wait_disconnected(victim, reader.get_id(), timeout=WAIT)
        assert conn.muxed_conn.is_closed
        with trio.fail_after(WAIT):
            assert await round_trip(other, victim.get_id(), b"unaffected") == b"unaffected"


async def test_a_writer_cancelled_in_the_middle_of_a_frame_closes_the_connection() -> None:
    """What follows a frame cut short could not be read: the connection is closed at
    once, not written on (nor left waiting for ``WRITE_TIMEOUT``)."""
    async with (
        running_host() as victim,
        running_host() as reader,
        running_host() as other,
        stall_proxy(int(Multiaddr(str(victim.get_addrs()[0])).value_for_protocol("tcp"))) as proxy,
    ):
        reader.set_stream_handler(SINK, sink)
        victim.set_stream_handler(ECHO, echo)
        through = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
        with trio.fail_after(WAIT):
            await reader.connect(PeerInfo(victim.get_id(), [through]))
            await other.connect(PeerInfo(victim.get_id(), victim.get_addrs()))
            streams = [await victim.new_stream(reader.get_id(), [SINK]) for _ in range(STREAMS)]
        proxy.stall()
        wrote = 0

        async def write_them_all(task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
            nonlocal wrote
            with trio.CancelScope() as scope:
                task_status.started(scope)
                for stream in streams:
                    await stream.write(bytes(stream.muxed_stream.send_window))
                    wrote += 1

        async with trio.open_nursery() as nursery:
            writing = await nursery.start(write_them_all)
            await trio.testing.wait_all_tasks_blocked()
            assert wrote < STREAMS  # blocked in a socket write: the reader takes nothing
            writing.cancel()
        await wait_disconnected(victim, reader.get_id(), timeout=WAIT)
        with trio.fail_after(WAIT):
            assert await round_trip(other, victim.get_id(), b"unaffected") == b"unaffected"


def test_the_protocol_states_the_write_timeout() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text[text.index("## 19. Network transport") : text.index("## 20. ")]
    assert f"could not be written for {WRITE_TIMEOUT:.0f} s" in section
