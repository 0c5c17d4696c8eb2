"""The batch layout reader against the general frame decoder: it takes only what the
decoder takes, reads it the same, and leaves every other body to the decoder."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk.cbor_scan import ScanLimits
from lndesk.errors import EntryError, LndeskError
from lndesk.p2p.batch_frame import decode_body, read_batch_body
from lndesk.p2p.frame_caps import READER_RECEIVES, SYNC_CAPS, Caps
from lndesk.p2p.wire import Batch, Done, decode_frame_body, encode_frame
from tests.cbor_reference import head

KEY = bytes(range(32))
STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=400)
Items = list[tuple[bytes, bytes | None]]


def body_of(items: Items, feed: bytes = KEY) -> bytes:
    return encode_frame(Batch(feed, tuple(items)))[4:]


def agree(body: bytes, caps: Caps = READER_RECEIVES) -> Batch | None:
    """The layout reader's answer, checked against the decoder's: the same batch, or
    None; always None when the decoder refuses the body."""
    fast = read_batch_body(body, caps)
    try:
        slow = decode_frame_body(body, caps)
    except (LndeskError, EntryError):
        assert fast is None
        return None
    assert fast is None or fast == slow
    return fast


def raw_body(items: list[bytes], feed: bytes = KEY, count: int | None = None) -> bytes:
    """A batch body built by hand from encoded items (so heads may be of any form)."""
    n = len(items) if count is None else count
    return (
        b"\xa3\x61t\x65batch\x64feed"
        + head(2, len(feed))
        + feed
        + b"\x65items"
        + head(4, n)
        + b"".join(items)
    )


def item(entry: bytes, payload: bytes | None, width: int | None = None) -> bytes:
    encoded = head(2, len(entry), width) + entry
    encoded += b"\xf6" if payload is None else head(2, len(payload), width) + payload
    return b"\x82" + encoded


SIZES = [0, 1, 23, 24, 255, 256, 300, 512]
PAYLOADS = [None, b"", b"x" * 23, b"x" * 24, b"x" * 255, b"x" * 256, b"x" * 700, b"x" * 65536]


@pytest.mark.parametrize("entry_size", SIZES)
@pytest.mark.parametrize("payload", PAYLOADS, ids=lambda p: "none" if p is None else str(len(p)))
def test_batches_of_every_head_form_are_read_as_the_decoder_reads_them(
    entry_size: int, payload: bytes | None
) -> None:
    items: Items = [(b"e" * entry_size, payload), (b"f" * entry_size, None)]
    assert agree(body_of(items)) == Batch(KEY, tuple(items))


def test_what_the_batch_itself_forbids_is_left_to_the_decoder() -> None:
    assert agree(body_of([(b"e" * 513, None)])) is None  # an entry over 512 bytes
    assert agree(body_of([(b"e", b"x" * 65537)])) is None  # a payload over 65536
    assert agree(raw_body([], count=0)) is None  # an empty batch
    assert agree(raw_body([item(b"e", None)], feed=KEY[:31])) is None


def shortest_width(length: int) -> int:
    return 0 if length < 24 else 1 if length < 256 else 2 if length < 65536 else 4


FORCED = [
    (width, entry_size, payload_size)
    for width in (1, 2, 4)
    for entry_size, payload_size in [(5, 5), (30, 5), (300, 30), (300, 300)]
    if width >= max(shortest_width(entry_size), shortest_width(payload_size))
]


@pytest.mark.parametrize(("width", "entry_size", "payload_size"), FORCED)
def test_heads_not_in_shortest_form_are_left_to_the_decoder(
    width: int, entry_size: int, payload_size: int
) -> None:
    body = raw_body([item(b"e" * entry_size, b"p" * payload_size, width)])
    shortest = width == shortest_width(entry_size) == shortest_width(payload_size)
    assert (agree(body) is not None) == shortest


@pytest.mark.parametrize("payload", [None, b"p" * 300], ids=["no payload", "payload"])
def test_an_entry_head_alone_not_in_shortest_form_is_left_to_the_decoder(
    payload: bytes | None,
) -> None:
    tail = b"\xf6" if payload is None else head(2, len(payload)) + payload
    for entry, width in [(b"e" * 30, 2), (b"e" * 5, 1), (b"e" * 300, 4)]:
        assert agree(raw_body([b"\x82" + head(2, len(entry), width) + entry + tail])) is None
        assert agree(raw_body([b"\x82" + head(2, len(entry)) + entry + tail])) is not None


def test_an_array_head_not_in_shortest_form_is_left_to_the_decoder() -> None:
    body = raw_body([item(b"e", None)])
    assert agree(body) is not None
    assert agree(body.replace(b"items\x81", b"items\x98\x01")) is None


def test_a_body_with_bytes_after_its_items_is_left_to_the_decoder() -> None:
    body = body_of([(b"e" * 300, b"p" * 300)])
    for extra in (b"\x00", b"\xf6", body[-10:]):
        assert agree(body + extra) is None
    assert agree(body[:-1]) is None


def test_other_keys_orders_and_messages_are_left_to_the_decoder() -> None:
    body = body_of([(b"e" * 300, None)])
    assert agree(body.replace(b"\xa3\x61t", b"\xa4\x61t", 1) + b"\x61x\xf6") is None
    assert agree(body.replace(b"\x65batch", b"\x65batcH", 1)) is None
    assert agree(encode_frame(Done())[4:]) is None
    assert decode_body(encode_frame(Done())[4:], READER_RECEIVES) == Done()


def test_the_caps_bound_the_items_and_strings_taken() -> None:
    items: Items = [(b"e" * 300, b"p" * 300)] * 3
    body = body_of(items)
    exact = ScanLimits(max_bytes=len(body), max_items=7 + 3 * 3, max_string=300)
    assert agree(body, {"batch": exact}) == Batch(KEY, tuple(items))
    for caps in (
        ScanLimits(max_bytes=len(body), max_items=7 + 3 * 3 - 1, max_string=300),
        ScanLimits(max_bytes=len(body), max_items=7 + 3 * 3, max_string=299),
        ScanLimits(max_bytes=len(body) - 1, max_items=7 + 3 * 3, max_string=300),
    ):
        assert agree(body, {"batch": caps}) is None
    assert read_batch_body(body, {"done": SYNC_CAPS["done"]}) is None  # no batch here


items_strategy = st.lists(
    st.tuples(st.binary(max_size=520), st.one_of(st.none(), st.binary(max_size=600))),
    min_size=1,
    max_size=6,
)


@STABLE
@given(items=items_strategy)
def test_any_batch_is_read_as_the_decoder_reads_it(items: Items) -> None:
    body = body_of(items)
    fast = agree(body)
    if all(len(entry) <= 512 for entry, _ in items):
        assert fast == Batch(KEY, tuple(items))


@STABLE
@given(items=items_strategy, data=st.data())
def test_a_changed_byte_is_taken_only_if_the_decoder_takes_it(
    items: Items, data: st.DataObject
) -> None:
    body = bytearray(body_of(items))
    at = data.draw(st.integers(0, len(body) - 1))
    body[at] = data.draw(st.integers(0, 255))
    agree(bytes(body))


@STABLE
@given(items=items_strategy, data=st.data())
def test_a_cut_or_lengthened_body_is_taken_only_if_the_decoder_takes_it(
    items: Items, data: st.DataObject
) -> None:
    body = body_of(items)
    cut = data.draw(st.integers(0, len(body)))
    agree(body[:cut] + data.draw(st.binary(max_size=8)))
