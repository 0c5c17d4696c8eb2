"""Per-message caps on stream frames, checked before a body is decoded."""

from __future__ import annotations

from typing import Any

import pytest
from vector_reading import hx, load

from lndesk import canonical
from lndesk.entry import MAX_SEQ
from lndesk.errors import DecodeError, ProtocolError
from lndesk.p2p import wire
from lndesk.p2p.announce import split_announcement
from lndesk.p2p.catchup import MAX_CATCHUP_FRAME, Refs, decode_catchup_body, encode_catchup_frame
from lndesk.p2p.frame_caps import (
    CATCHUP_CAPS,
    READER_RECEIVES,
    SERVER_RECEIVES,
    SYNC_CAPS,
    check_body,
    message_type,
)
from lndesk.p2p.inbox_notice import split_notice
from tests.cbor_reference import head

KEY = bytes(range(32))
MIB = 1024 * 1024


def flood_want(claimed: int, size: int) -> bytes:
    """A ``want`` body whose feeds array claims ``claimed`` items, then ``size`` empty arrays."""
    return b"\xa2\x61t\x64want\x65feeds" + head(4, claimed) + b"\x80" * size


def body(message: wire.Message) -> bytes:
    return wire.encode_frame(message)[4:]


def test_message_type_is_read_from_the_first_bytes() -> None:
    assert message_type(body(wire.Done())) == "done"
    assert message_type(body(wire.Want(((KEY, 1),)))) == "want"
    assert message_type(flood_want(2**31 - 1, 10)) == "want"
    for other in (b"", b"\xa1", canonical.encode(["t", "want"]), canonical.encode({"u": 1}),
                  canonical.encode({"t": 1}), canonical.encode({"t": "x" * 24}),
                  b"\xa1\x61t\x63w\xffx"):  # fmt: skip
        assert message_type(other) is None


def test_the_largest_legal_messages_pass_their_caps() -> None:
    feeds = tuple((bytes([i % 256, i // 256]) + bytes(30), MAX_SEQ) for i in range(5000))
    assert wire.decode_frame_body(body(wire.Want(feeds))) == wire.Want(feeds)
    haves = tuple(wire.FeedHave(key, MAX_SEQ, MAX_SEQ) for key, _ in feeds)
    assert wire.decode_frame_body(body(wire.Have(haves))) == wire.Have(haves)
    refs = tuple((KEY, MAX_SEQ - i, bytes(32)) for i in range(500))
    frame = encode_catchup_frame(Refs(refs))
    assert len(frame) - 4 <= MAX_CATCHUP_FRAME
    assert decode_catchup_body(frame[4:]) == Refs(refs)
    error = wire.Error("bad-request" * 5, "\U0001f600" * 1000)
    assert wire.decode_frame_body(body(error)) == error


def test_a_batch_of_ten_thousand_entries_passes() -> None:
    items = tuple((bytes(60), None) for _ in range(10_000))
    assert wire.decode_frame_body(body(wire.Batch(KEY, items))).items == items


def test_the_two_mebibyte_want_flood_is_refused_by_its_cap() -> None:
    data = flood_want(2**31 - 1, 2 * MIB)
    with pytest.raises(ProtocolError, match=r"sync want frame of .* over the 262144-byte cap"):
        wire.decode_frame_body(data)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (flood_want(2**31 - 1, 200_000), "claims more items than the bytes left"),
        (flood_want(200_000, 200_000), "more than 15045 items"),
    ],
)
def test_a_want_flood_within_the_byte_cap_is_refused_by_the_scan(data: bytes, reason: str) -> None:
    with pytest.raises(ProtocolError, match=f"sync want frame is not valid CBOR: .*{reason}"):
        wire.decode_frame_body(data)


def test_small_messages_have_small_caps() -> None:
    padded_ack = b"\xa2\x61t\x63ack\x66height" + head(4, 300) + b"\x00" * 300
    with pytest.raises(ProtocolError, match="ack frame of 317 bytes is over the 256-byte cap"):
        wire.decode_frame_body(padded_ack)
    many_items_get = b"\xa2\x61t\x63get\x64feed" + head(4, 40) + b"\x00" * 40
    with pytest.raises(ProtocolError, match="more than 32 items"):
        wire.decode_frame_body(many_items_get)


def test_a_receiver_applies_the_smallest_caps_to_what_it_does_not_accept() -> None:
    items = tuple((bytes(60), None) for _ in range(10))
    batch = body(wire.Batch(KEY, items))
    check_body(batch, "sync", READER_RECEIVES)
    with pytest.raises(ProtocolError, match=r"sync frame of .* over the 256-byte cap"):
        check_body(batch, "sync", SERVER_RECEIVES)
    with pytest.raises(ProtocolError, match="over the 256-byte cap"):
        check_body(b"\x59\x01\x00" + bytes(256), "sync", SYNC_CAPS)  # not a map at all


async def test_a_server_refuses_a_long_frame_from_its_length_prefix() -> None:
    """A server accepts no message over 256 KiB, so it never reads such a body."""

    class Prefix:
        def __init__(self) -> None:
            self.sent = [wire.FRAME_HEAD.pack(262_145)]

        async def read(self, _size: int) -> bytes:
            return self.sent.pop(0) if self.sent else b""

    with pytest.raises(ProtocolError, match="262145 bytes is over the 262144 cap"):
        await wire.FrameStream(Prefix(), 2 * MIB, SERVER_RECEIVES).receive()
    assert wire.FrameStream(Prefix(), 2 * MIB, READER_RECEIVES).max_frame == 2 * MIB


def test_catchup_caps() -> None:
    flood = b"\xa2\x61t\x64refs\x64refs" + head(4, 60_000) + b"\x80" * 60_000
    with pytest.raises(ProtocolError, match="inbox catch-up refs frame is not valid CBOR"):
        decode_catchup_body(flood)
    padded_ask = b"\xa1\x61t\x63ask" + b"\x00" * 300
    with pytest.raises(ProtocolError, match="over the 256-byte cap"):
        decode_catchup_body(padded_ask)
    assert max(c.max_bytes for c in CATCHUP_CAPS.values()) == MAX_CATCHUP_FRAME


@pytest.mark.parametrize("split", [split_announcement, split_notice])
def test_gossip_messages_are_scanned_before_decoding(split: Any) -> None:
    flood = head(5, 1) + b"\x61a" + head(4, 4000) + b"\x80" * 4000
    with pytest.raises(DecodeError, match="more than 16 items"):
        split(flood)


def test_every_network_vector_frame_is_within_its_caps() -> None:
    for vector in load("network.json")["frames"]:
        check_body(hx(vector["frame"])[4:], "sync", SYNC_CAPS)
