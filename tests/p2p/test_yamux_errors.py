"""A yamux connection is closed at the first frame it cannot take (docs/protocol.md
section 19), on real loopback hosts: a body whose Noise message fails to decrypt (a
hostile peer writing garbage after the handshake, or a corrupted link), a frame of an
unknown version or type, data over a stream's receive window. Its streams end, the peer
is disconnected as for any closed connection, and the host and its other connections go
on. A frame for a stream that is not open is dropped, the connection kept.

py-libp2p 0.8.1 closed it only when the failure hit a frame's header; a failure in a
frame's body left the connection open (a new stream's body: the read loop slept 10 ms and
read on; another body: the stream was half-closed and the loop read on), reading a
connection whose two ends no longer agree on the Noise nonces.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing
from conftest import running_host, wait_disconnected
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.peer.peerinfo import PeerInfo
from libp2p.stream_muxer.yamux import yamux
from test_read_ahead import ECHO, echo, raw_stream_of, round_trip

WAIT = 30
SINK = "/lndesk-test/sink/1"


async def sink(stream: Any) -> None:
    """A handler that never reads: what its peer sends stays buffered."""
    await trio.sleep_forever()


@asynccontextmanager
async def three_hosts() -> AsyncIterator[tuple[Any, Any, Any, Any]]:
    """(victim, attacker, other, the attacker's connection to the victim): the attacker
    and the other host connected to the victim, which echoes and sinks."""
    async with (
        running_host() as victim,
        running_host() as attacker,
        running_host() as other,
    ):
        victim.set_stream_handler(ECHO, echo)
        victim.set_stream_handler(SINK, sink)
        with trio.fail_after(WAIT):
            await attacker.connect(PeerInfo(victim.get_id(), victim.get_addrs()))
            await other.connect(PeerInfo(victim.get_id(), victim.get_addrs()))
        (outbound,) = attacker.get_network().get_connections(victim.get_id())
        await trio.testing.wait_all_tasks_blocked()
        yield victim, attacker, other, outbound.muxed_conn


async def assert_closed_and_others_unaffected(victim: Any, attacker: Any, other: Any) -> None:
    (inbound,) = victim.get_network().get_connections(attacker.get_id())
    await wait_disconnected(victim, attacker.get_id(), timeout=WAIT)
    assert inbound.muxed_conn.is_closed
    assert inbound.muxed_conn.streams == {}
    with trio.fail_after(WAIT):
        assert await round_trip(other, victim.get_id(), b"unaffected") == b"unaffected"


def frame(kind: int, flags: int, stream_id: int, length: int, version: int = 0) -> bytes:
    return struct.pack(yamux.YAMUX_HEADER_FORMAT, version, kind, flags, stream_id, length)


def garbage_noise_message(size: int) -> bytes:
    """A Noise transport message (2-byte length, then the body) that fails to decrypt."""
    return struct.pack(">H", size) + bytes(range(256))[:size]


@pytest.mark.parametrize(
    "flags", [yamux.FLAG_SYN, 0], ids=["new stream's body", "unknown stream's body"]
)
async def test_a_body_that_fails_to_decrypt_closes_the_connection(flags: int) -> None:
    async with three_hosts() as (victim, attacker, other, conn):
        # A stream the victim opened and reads: it ends with the connection.
        attacker.set_stream_handler(SINK, sink)
        with trio.fail_after(WAIT):
            opened = await victim.new_stream(attacker.get_id(), [SINK])
        ended = trio.Event()

        async def read_until_it_ends() -> None:
            with contextlib.suppress(Exception):
                while await opened.read():
                    pass
            ended.set()

        async with trio.open_nursery() as nursery:
            nursery.start_soon(read_until_it_ends)
            await trio.testing.wait_all_tasks_blocked()
            # A frame header, encrypted as it should be, announcing a 100-byte body;
            # then a body that fails to decrypt, written straight to the TCP connection.
            await conn._write_frame(frame(yamux.TYPE_DATA, flags, 1001, 100))
            await raw_stream_of(conn).write(garbage_noise_message(116))
            await assert_closed_and_others_unaffected(victim, attacker, other)
            with trio.fail_after(WAIT):
                await ended.wait()


@pytest.mark.parametrize(
    ("version", "kind"), [(1, yamux.TYPE_PING), (0, 4)], ids=["version 1", "type 4"]
)
async def test_a_frame_of_an_unknown_version_or_type_closes_the_connection(
    version: int, kind: int
) -> None:
    async with three_hosts() as (victim, attacker, other, conn):
        await conn._write_frame(frame(kind, yamux.FLAG_SYN, 0, 7, version=version))
        await assert_closed_and_others_unaffected(victim, attacker, other)


@pytest.mark.parametrize("new", [True, False], ids=["with its SYN", "on an open stream"])
async def test_data_over_a_streams_window_closes_the_connection(new: bool) -> None:
    """One byte more than the window: a peer that ignores the windows could otherwise
    make a stream nobody reads hold any amount of memory."""
    async with three_hosts() as (victim, attacker, other, conn):
        if new:
            size = yamux.DEFAULT_WINDOW_SIZE + 1
            await conn._write_frame(frame(yamux.TYPE_DATA, yamux.FLAG_SYN, 1001, size))
        else:
            with trio.fail_after(WAIT):
                stream = await attacker.new_stream(victim.get_id(), [SINK])
            await stream.write(b"x")  # within the window: kept
            await trio.testing.wait_all_tasks_blocked()
            muxed = stream.muxed_stream
            size = muxed.send_window + 1  # nothing read, so no window update came
            await conn._write_frame(frame(yamux.TYPE_DATA, 0, muxed.stream_id, size))
        with contextlib.suppress(ConnectionClosedError):  # closed before it was all read
            await conn._write_frame(bytes(size))
        await assert_closed_and_others_unaffected(victim, attacker, other)


async def test_a_peer_within_the_windows_is_never_closed() -> None:
    """Many windows' worth on one stream, and a stream filled to its window exactly."""
    async with three_hosts() as (victim, attacker, _, _conn):
        with trio.fail_after(WAIT):
            stream = await attacker.new_stream(victim.get_id(), [SINK])
            await stream.write(bytes(stream.muxed_stream.send_window))  # all it allows
            message = bytes(i % 251 for i in range(3 * 1024 * 1024))
            assert await round_trip(attacker, victim.get_id(), message) == message
        assert attacker.get_id() in victim.get_connected_peers()


@pytest.mark.parametrize("kind", [yamux.TYPE_DATA, yamux.TYPE_WINDOW_UPDATE])
async def test_a_frame_for_a_stream_never_opened_is_dropped(kind: int) -> None:
    """A frame for a stream that is not open may be one in flight for a stream that
    just closed: dropped, and the connection kept (as go-yamux does)."""
    async with three_hosts() as (victim, attacker, _, conn):
        length = 100 if kind == yamux.TYPE_DATA else 1000
        await conn._write_frame(frame(kind, 0, 1001, length))
        if kind == yamux.TYPE_DATA:
            await conn._write_frame(bytes(length))
        with trio.fail_after(WAIT):
            assert await round_trip(attacker, victim.get_id(), b"kept") == b"kept"
        assert attacker.get_id() in victim.get_connected_peers()


def test_the_protocol_states_the_windows_the_transport_holds_peers_to() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "protocol.md").read_text()
    section = text[text.index("## 19. Network transport") : text.index("## 20. ")]
    assert f"{yamux.DEFAULT_WINDOW_SIZE:,} bytes for the first frame of a new" in section
    assert f"more than {yamux.MAX_WINDOW_SIZE // 2**20} MiB closes the connection" in section
