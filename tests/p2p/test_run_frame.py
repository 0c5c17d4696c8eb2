"""A batch frame laid out by hand (``encode_run_frame``) against the deterministic CBOR
encoder: the same bytes for every batch, from a store's runs or a batch's items."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lndesk.p2p.batch_frame import read_batch_body
from lndesk.p2p.frame_caps import READER_RECEIVES
from lndesk.p2p.wire import Batch, encode_frame, encode_map_frame, encode_run_frame

KEY = bytes(range(32))
STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=300)
Pairs = list[tuple[bytes, bytes | None]]

SIZES = [0, 1, 23, 24, 255, 256, 300, 512]
PAYLOADS = [0, 1, 23, 24, 255, 256, 700, 65_535, 65_536]


def reference(feed: object, items: Pairs) -> bytes:
    """The frame from the general encoder (canonical CBOR of the message's map)."""
    pairs = [[entry, payload] for entry, payload in items]
    return encode_map_frame({"t": "batch", "feed": feed, "items": pairs})


def as_run(items: Pairs, first: int = 1) -> list[tuple[int, bytes, bytes | None]]:
    return [(first + n, entry, payload) for n, (entry, payload) in enumerate(items)]


@pytest.mark.parametrize("entry_size", SIZES)
@pytest.mark.parametrize("payload_size", [None, *PAYLOADS])
def test_every_head_form_is_laid_out_as_the_encoder_lays_it_out(
    entry_size: int, payload_size: int | None
) -> None:
    payload = None if payload_size is None else b"p" * payload_size
    items: Pairs = [(b"e" * entry_size, payload), (b"f" * entry_size, None)]
    frame = reference(KEY, items)
    assert encode_run_frame(KEY, as_run(items)) == frame
    assert encode_run_frame(KEY, items) == frame
    assert encode_frame(Batch(KEY, tuple(items))) == frame


@pytest.mark.parametrize("count", [0, 1, 23, 24, 255, 256, 2000])
def test_every_item_count_is_laid_out_as_the_encoder_lays_it_out(count: int) -> None:
    items: Pairs = [(bytes([n % 256]) * 300, b"p" * 500) for n in range(count)]
    frame = reference(KEY, items)
    assert encode_run_frame(KEY, as_run(items, 41)) == frame
    assert encode_frame(Batch(KEY, tuple(items))) == frame


items_strategy = st.lists(
    st.tuples(
        st.binary(max_size=600),
        st.one_of(st.none(), st.binary(max_size=400), st.sampled_from([b"q" * 70_000])),
    ),
    max_size=12,
)


@STABLE
@given(items=items_strategy, feed=st.one_of(st.just(KEY), st.binary(max_size=40)))
def test_any_batch_is_laid_out_as_the_encoder_lays_it_out(items: Pairs, feed: bytes) -> None:
    """Entries over 512 bytes, payloads over 65,536 and feeds not of 32 bytes included
    (the encoder writes them; receivers refuse them)."""
    frame = reference(feed, items)
    assert encode_run_frame(feed, as_run(items)) == frame
    assert encode_frame(Batch(feed, tuple(items))) == frame


def test_a_laid_out_frame_is_read_back_as_its_batch() -> None:
    items: Pairs = [(b"e" * 300, b"p" * 500), (b"f" * 40, None), (b"g" * 512, b"")]
    frame = encode_run_frame(KEY, as_run(items))
    assert int.from_bytes(frame[:4], "big") == len(frame) - 4
    assert read_batch_body(frame[4:], READER_RECEIVES) == Batch(KEY, tuple(items))
