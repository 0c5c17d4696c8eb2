"""TCP read-ahead (lndesk.p2p.read_ahead): one socket read serves Noise's and yamux's
small reads, holds no more than its bound, and keeps what a read of a TCP connection
meant before: EOF, reset, a local close, cancellation, partial frames.

The semantics tests run the same script over py-libp2p's ``TrioTCPStream`` and over the
read-ahead wrapper of one, on real loopback sockets, and expect the same outcome; the
host tests run real lndesk hosts.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio
import trio.testing
from conftest import loopback_config, running_host
from libp2p.io.abc import ReadWriteCloser
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.msgio import encode_msg_with_length
from libp2p.io.trio import TrioTCPStream
from libp2p.io.utils import read_exactly
from libp2p.network.connection.raw_connection import RawConnection
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.noise.io import NoisePacketReadWriter
from libp2p.stream_muxer.yamux import yamux
from multiaddr import Multiaddr

from lndesk.p2p.admission import address_key
from lndesk.p2p.config import Limits
from lndesk.p2p.inbound import address_of, remote_ip
from lndesk.p2p.read_ahead import READ_AHEAD, ReadAheadStream

WAIT = 30
ECHO = "/lndesk-test/echo/1"

Wrap = Callable[[trio.SocketStream], ReadWriteCloser]


def plain(stream: trio.SocketStream) -> ReadWriteCloser:
    return TrioTCPStream(stream)


def ahead(stream: trio.SocketStream) -> ReadWriteCloser:
    return ReadAheadStream(TrioTCPStream(stream))


BOTH = pytest.mark.parametrize("wrap", [plain, ahead], ids=["TrioTCPStream", "read-ahead"])


@asynccontextmanager
async def tcp_pair() -> AsyncIterator[tuple[trio.SocketStream, trio.SocketStream]]:
    """Two ends of one loopback TCP connection: (ours, the peer's)."""
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    try:
        port = listeners[0].socket.getsockname()[1]
        ours = await trio.open_tcp_stream("127.0.0.1", port)
        peer = await listeners[0].accept()
    finally:
        for listener in listeners:
            await listener.aclose()
    async with ours, peer:
        yield ours, peer


def frames(sizes: list[int]) -> list[bytes]:
    """Noise-framed messages (2-byte length, body) of the given body sizes."""
    return [bytes((size + i) % 251 for i in range(size)) for size in sizes]


async def read_frames(conn: ReadWriteCloser, count: int) -> list[bytes]:
    """``count`` messages read as py-libp2p's Noise reads them (length, then body)."""
    reader = NoisePacketReadWriter(RawConnection(conn, False))
    return [await reader.read_msg() for _ in range(count)]


def reset(stream: trio.SocketStream) -> None:
    """Make closing ``stream`` send a reset instead of a FIN."""
    stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


# --- what the wrapper saves -------------------------------------------------------------


async def test_small_messages_come_from_one_socket_read() -> None:
    bodies = frames([40, 300, 12, 1000, 7])
    async with tcp_pair() as (ours, peer):
        conn = ReadAheadStream(TrioTCPStream(ours))
        await peer.send_all(b"".join(encode_msg_with_length(b, 2) for b in bodies))
        await trio.testing.wait_all_tasks_blocked()
        assert await read_frames(conn, len(bodies)) == bodies
        assert conn.socket_reads == 1  # py-libp2p alone: two per message (length, body)
        assert conn.held == 0


@BOTH
async def test_a_peer_sending_one_byte_at_a_time(wrap: Wrap) -> None:
    bodies = frames([1, 30, 2, 90])  # py-libp2p's read_exactly gives up after 100 reads
    wire = b"".join(encode_msg_with_length(b, 2) for b in bodies)
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)

        async def trickle() -> None:
            for byte in wire:
                await peer.send_all(bytes([byte]))
                await trio.testing.wait_all_tasks_blocked()  # the reader took it

        async with trio.open_nursery() as nursery:
            nursery.start_soon(trickle)
            with trio.fail_after(WAIT):
                assert await read_frames(conn, len(bodies)) == bodies


@BOTH
async def test_more_than_the_bound_in_one_write(wrap: Wrap) -> None:
    """1 MiB written at once, read as Noise messages of every size up to the largest
    Noise allows and as reads larger than the bound."""
    sizes = [65535, 2, 65535, 12, 30000, 65535, 1]
    bodies = frames(sizes)
    wire = b"".join(encode_msg_with_length(b, 2) for b in bodies)
    tail = bytes(i % 256 for i in range(1 << 20))
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(peer.send_all, wire + tail)
            with trio.fail_after(WAIT):
                assert await read_frames(conn, len(bodies)) == bodies
                assert await read_exactly(conn, 200_000, retry_count=10_000) == tail[:200_000]
                rest = bytearray()
                while len(rest) < len(tail) - 200_000:
                    rest += await conn.read(3 * READ_AHEAD)
                assert rest == tail[200_000:]
        if isinstance(conn, ReadAheadStream):
            assert conn.held == 0


async def test_a_peer_cannot_make_the_held_bytes_grow_beyond_the_bound() -> None:
    """However much a peer has written, a connection holds less than its bound read and
    not taken: small reads take from it, and it asks the socket for more only when it
    holds nothing."""
    limit = 1024
    wire = bytes(i % 256 for i in range(64 * 1024))
    async with tcp_pair() as (ours, peer):
        conn = ReadAheadStream(TrioTCPStream(ours), limit=limit)
        await peer.send_all(wire)  # in our kernel's buffer now: 64 times the bound
        got = bytearray()
        most = 0
        with trio.fail_after(WAIT):
            while len(got) < len(wire):
                got += await conn.read(2 if len(got) % 3 else 1)
                most = max(most, conn.held)
        assert got == wire
        assert most < limit
        assert conn.socket_reads >= len(wire) // limit


# --- what a read meant before -----------------------------------------------------------


@BOTH
async def test_end_of_stream_and_reads_after_it(wrap: Wrap) -> None:
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        await peer.send_all(b"last words")
        await peer.send_eof()
        with trio.fail_after(WAIT):
            got = bytearray()
            while len(got) < 10:
                got += await conn.read(4)
            assert got == b"last words"
            assert await conn.read(4) == b""
            assert await conn.read(4) == b""  # a read after EOF is EOF again
            assert await conn.read(None) == b""
            assert await conn.read(0) == b""


@BOTH
async def test_a_half_closed_connection_still_carries_what_we_write(wrap: Wrap) -> None:
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        await peer.send_all(b"ab")
        await peer.send_eof()
        with trio.fail_after(WAIT):
            assert await read_exactly(conn, 2) == b"ab"
            assert await conn.read(2) == b""
            await conn.write(b"answer")
            assert await peer.receive_some(100) == b"answer"


@BOTH
async def test_a_reset_is_connection_closed(wrap: Wrap) -> None:
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        reset(peer)
        await peer.aclose()
        with trio.fail_after(WAIT), pytest.raises(ConnectionClosedError, match="reset"):
            await conn.read(2)


@BOTH
async def test_reads_after_a_local_close_are_empty(wrap: Wrap) -> None:
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        await peer.send_all(b"0123456789")
        with trio.fail_after(WAIT):
            assert await conn.read(2) == b"01"  # the rest held, by the read-ahead
            await conn.close()
            assert await conn.read(2) == b""
            assert await conn.read(None) == b""
        if isinstance(conn, ReadAheadStream):
            assert conn.held == 0


@BOTH
async def test_a_read_cancelled_while_it_waits_takes_nothing(wrap: Wrap) -> None:
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        with trio.fail_after(WAIT):
            with trio.CancelScope() as waiting:
                async with trio.open_nursery() as nursery:

                    async def read_then_fail() -> None:
                        await conn.read(2)
                        raise AssertionError("the read returned although nothing was sent")

                    nursery.start_soon(read_then_fail)
                    await trio.testing.wait_all_tasks_blocked()
                    waiting.cancel()
            assert waiting.cancelled_caught
            await peer.send_all(b"\x00\x03abc")
            assert await read_frames(conn, 1) == [b"abc"]


@BOTH
async def test_two_readers_at_once_take_turns_and_lose_nothing(wrap: Wrap) -> None:
    # More than one read ahead takes, so that a reader waits for the lock while the
    # other reads the socket, and then finds bytes held.
    wire = b"".join(i.to_bytes(4, "big") for i in range(READ_AHEAD))
    async with tcp_pair() as (ours, peer):
        conn = wrap(ours)
        pieces: list[bytes] = []

        async def reader() -> None:
            while True:
                piece = await conn.read(60)
                if not piece:
                    return
                pieces.append(piece)
                await trio.lowlevel.checkpoint()  # the other reader's turn

        async def writer() -> None:
            await peer.send_all(wire)
            await peer.send_eof()

        with trio.fail_after(WAIT):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(writer)
                nursery.start_soon(reader)
                nursery.start_soon(reader)
        assert b"".join(pieces) == wire  # each piece in the order it was taken


# --- real hosts -------------------------------------------------------------------------


def raw_stream_of(muxed_conn: Any) -> Any:
    """What a host's connection reads its TCP bytes through."""
    noise = muxed_conn.secured_conn.conn
    return noise.read_writer.read_write_closer.stream


async def echo(stream: Any) -> None:
    data = bytearray()
    while True:
        try:
            chunk = await stream.read()
        except Exception:
            break
        if not chunk:
            break
        data += chunk
    await stream.write(bytes(data))
    await stream.close()


async def round_trip(host: Any, peer: Any, message: bytes) -> bytes:
    stream = await host.new_stream(peer, [ECHO])
    await stream.write(message)
    await stream.close()
    got = bytearray()
    while True:
        try:
            chunk = await stream.read()
        except Exception:
            break
        if not chunk:
            break
        got += chunk
    return bytes(got)


async def test_hosts_read_ahead_both_ways_and_inbound_addresses_still_read() -> None:
    """Both ends of a connection read ahead; the listener still reads the dialler's
    address through it (lndesk.p2p.inbound), and a message larger than the bound (and
    than a yamux window) crosses whole."""
    limited = loopback_config(limits=Limits(limit_loopback=True))
    async with running_host(config=limited) as a, running_host() as b:
        a.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            await b.connect(PeerInfo(a.get_id(), a.get_addrs()))
        (inbound,) = a.get_network().get_connections(b.get_id())
        (outbound,) = b.get_network().get_connections(a.get_id())
        for conn in (inbound, outbound):
            assert isinstance(raw_stream_of(conn.muxed_conn), ReadAheadStream)
        assert remote_ip(inbound.muxed_conn) == "127.0.0.1"
        assert address_of(inbound) == address_key("127.0.0.1")
        message = bytes(i % 253 for i in range(3 * 1024 * 1024 // 2))
        with trio.fail_after(WAIT):
            assert await round_trip(b, a.get_id(), message) == message
        assert raw_stream_of(inbound.muxed_conn).held < READ_AHEAD


PIECE = 32
"""Bytes per write of the cutting proxy. py-libp2p's ``read_exactly`` gives up after
100 partial reads, so a link carrying a few bytes per segment cannot carry a Noise
message of a few hundred bytes (identify's are), with or without the read-ahead."""


@asynccontextmanager
async def cutting_proxy(target_port: int) -> AsyncIterator[int]:
    """A loopback TCP proxy to ``target_port`` that passes everything on in writes of
    :data:`PIECE` bytes, both ways: partial frames everywhere."""

    async def pump(source: trio.SocketStream, sink: trio.SocketStream) -> None:
        try:
            while data := await source.receive_some(PIECE):
                await sink.send_all(data)
            await sink.send_eof()
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return

    async def relay(client: trio.SocketStream) -> None:
        target = await trio.open_tcp_stream("127.0.0.1", target_port)
        async with client, target, trio.open_nursery() as nursery:
            nursery.start_soon(pump, client, target)
            nursery.start_soon(pump, target, client)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(trio.serve_tcp, relay, 0)
        yield listeners[0].socket.getsockname()[1]
        nursery.cancel_scope.cancel()


async def test_hosts_over_a_link_that_cuts_every_frame() -> None:
    async with running_host() as a, running_host() as b:
        a.set_stream_handler(ECHO, echo)
        port = int(a.get_addrs()[0].value_for_protocol("tcp"))
        async with cutting_proxy(port) as proxy_port:
            via = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy_port}")
            with trio.fail_after(60):
                await b.connect(PeerInfo(a.get_id(), [via]))
                message = bytes(range(200))
                assert await round_trip(b, a.get_id(), message) == message


async def test_a_connection_reset_mid_handshake_ends_only_that_connection() -> None:
    async with running_host() as a, running_host() as b:
        port = int(a.get_addrs()[0].value_for_protocol("tcp"))
        raw = await trio.open_tcp_stream("127.0.0.1", port)
        await raw.send_all(b"\x13/multistream/1.0.0\n\x07/noi")  # a frame cut short
        reset(raw)
        await raw.aclose()
        a.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            await b.connect(PeerInfo(a.get_id(), a.get_addrs()))
            assert await round_trip(b, a.get_id(), b"still here") == b"still here"


async def test_a_frame_write_cancelled_before_it_starts_leaves_the_connection_usable() -> None:
    """A yamux frame written by a task already cancelled is neither encrypted nor sent:
    encrypted and then not sent, it would put the Noise nonces of the two ends out of
    step, and the peer could decrypt nothing more of that connection."""
    async with running_host() as a, running_host() as b:
        a.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            await b.connect(PeerInfo(a.get_id(), a.get_addrs()))
        (conn,) = b.get_network().get_connections(a.get_id())
        ping = struct.pack(yamux.YAMUX_HEADER_FORMAT, 0, yamux.TYPE_PING, yamux.FLAG_SYN, 0, 7)
        # Once the hosts' own frames after connecting (identify) are written, the
        # write lock is free: taking it does not check for cancellation then.
        await trio.testing.wait_all_tasks_blocked()
        assert not conn.muxed_conn._write_lock.locked()
        with trio.CancelScope() as scope:
            scope.cancel()
            await conn.muxed_conn._write_frame(ping)
        assert scope.cancelled_caught
        with trio.fail_after(WAIT):
            assert await round_trip(b, a.get_id(), b"after the cancel") == b"after the cancel"
        # over that connection: a host dials again when its connection failed
        assert b.get_network().get_connections(a.get_id()) == [conn]
