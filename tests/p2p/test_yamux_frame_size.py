"""A yamux data frame written by an lndesk host is one Noise transport message
(docs/protocol.md section 19), on real loopback hosts.

py-libp2p 0.8.1 wrote data frames of up to 65,536 bytes, header included; Noise
carries at most 65,519 bytes of plaintext a message, so every full frame was sent as
two messages, the second of 17 bytes, which the reader read, decrypted and joined.
"""

from __future__ import annotations

import struct
from typing import Any

import trio
import trio.testing
from conftest import running_host
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.noise.io import MAX_PLAINTEXT_LENGTH
from libp2p.stream_muxer.yamux import yamux
from test_read_ahead import ECHO, echo, round_trip

from lndesk.p2p.yamux_window import FRAME_LIMIT

WAIT = 30


def record_plaintexts(muxed_conn: Any) -> list[bytes]:
    """The plaintext of every Noise message ``muxed_conn`` writes from now on."""
    noise = muxed_conn.secured_conn.conn
    encrypt = noise.encrypt
    written: list[bytes] = []

    def recording(data: bytes) -> bytes:
        written.append(bytes(data))
        return encrypt(data)

    noise.encrypt = recording
    return written


def test_the_frame_limit_is_a_noise_messages_plaintext() -> None:
    assert FRAME_LIMIT == MAX_PLAINTEXT_LENGTH == 65_519


async def test_every_data_frame_is_one_noise_message() -> None:
    message = bytes(range(256)) * 2_000  # 512,000 bytes: full frames and a short last one
    async with running_host() as server, running_host() as client:
        server.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            await client.connect(PeerInfo(server.get_id(), server.get_addrs()))
        (conn,) = client.get_network().get_connections(server.get_id())
        await trio.testing.wait_all_tasks_blocked()
        written = record_plaintexts(conn.muxed_conn)
        with trio.fail_after(WAIT):
            assert await round_trip(client, server.get_id(), message) == message
    data = 0
    for plaintext in written:
        # Each message is one whole frame: a header, then exactly the body it announces.
        version, kind, _flags, _stream, length = struct.unpack(
            yamux.YAMUX_HEADER_FORMAT, plaintext[: yamux.HEADER_SIZE]
        )
        assert version == 0
        assert kind in (yamux.TYPE_DATA, yamux.TYPE_WINDOW_UPDATE, yamux.TYPE_GO_AWAY)
        if kind == yamux.TYPE_DATA:
            assert len(plaintext) == yamux.HEADER_SIZE + length <= FRAME_LIMIT
            data += length
    assert data >= len(message)  # and the protocol negotiation's frames
