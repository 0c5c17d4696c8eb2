"""The CBOR pre-scan: every limit, agreement with the decoder, and that it builds nothing."""

from __future__ import annotations

import tracemalloc
from typing import Any

import cbor2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lndesk import canonical
from lndesk.cbor_scan import ScanLimits, scan
from lndesk.errors import DecodeError
from tests.cbor_reference import head

WIDE = ScanLimits(max_bytes=1 << 24, max_items=1 << 24, max_string=1 << 24)


def limits(**changes: int) -> ScanLimits:
    values = {"max_bytes": 1 << 24, "max_items": 1 << 24, "max_string": 1 << 24}
    values.update(changes)
    return ScanLimits(**values)


def count_items(value: Any) -> int:
    if isinstance(value, list):
        return 1 + sum(count_items(item) for item in value)
    if isinstance(value, dict):
        return 1 + sum(1 + count_items(item) for item in value.values())
    return 1


def nested(depth: int) -> bytes:
    """``depth`` arrays, each holding the next; the innermost is empty."""
    return b"\x81" * (depth - 1) + b"\x80"


def flood(claimed: int, size: int) -> bytes:
    """An array claiming ``claimed`` items followed by ``size`` bytes of empty arrays."""
    return head(4, claimed) + b"\x80" * size


def test_counts_the_items_of_a_value() -> None:
    value = {"t": "want", "feeds": [[b"k" * 32, 3], [b"j" * 32, 0]], "n": None, "b": True}
    data = canonical.encode(value)
    assert scan(data, WIDE) == count_items(value) == 15


@pytest.mark.parametrize(
    "data",
    [b"\x00", b"\x17", b"\x18\x18", b"\x20", b"\x40", b"\x60", b"\x80", b"\xa0", b"\xf4",
     b"\xf5", b"\xf6", b"\x1b" + (2**64 - 1).to_bytes(8, "big")],
)  # fmt: skip
def test_accepts_each_allowed_item(data: bytes) -> None:
    assert scan(data, WIDE) == 1


def test_size_limit() -> None:
    data = canonical.encode([1, 2, 3])
    assert scan(data, limits(max_bytes=len(data))) == 4
    with pytest.raises(DecodeError, match="byte limit"):
        scan(data, limits(max_bytes=len(data) - 1))


def test_item_limit() -> None:
    data = canonical.encode([[], [], []])
    assert scan(data, limits(max_items=4)) == 4
    with pytest.raises(DecodeError, match="more than 3 items"):
        scan(data, limits(max_items=3))


def test_item_limit_counts_map_keys_and_values() -> None:
    data = canonical.encode({"a": 1, "b": 2})
    assert scan(data, limits(max_items=5)) == 5
    with pytest.raises(DecodeError, match="items"):
        scan(data, limits(max_items=4))


def test_depth_limit_matches_the_decoder() -> None:
    assert scan(nested(16), limits(max_depth=16)) == 16
    canonical.decode(nested(16))
    with pytest.raises(DecodeError, match="deeper than 16"):
        scan(nested(17), limits(max_depth=16))
    with pytest.raises(DecodeError):
        canonical.decode(nested(17))
    with pytest.raises(DecodeError, match="deeper than 2"):
        scan(canonical.encode({"a": [[]]}), limits(max_depth=2))


@pytest.mark.parametrize("major", [2, 3])
def test_string_limit(major: int) -> None:
    data = head(major, 10) + b"a" * 10
    assert scan(data, limits(max_string=10)) == 1
    with pytest.raises(DecodeError, match="string of 10 bytes"):
        scan(data, limits(max_string=9))


@pytest.mark.parametrize(
    "data",
    [
        head(2, 5) + b"abcd",  # a string longer than what follows
        head(3, 2**32) + b"x",
        head(4, 3) + b"\x00\x00",  # an array claiming more items than bytes left
        head(4, 2**31 - 1) + b"\x80" * 1000,
        head(5, 2) + b"\x61a\x00\x61b",  # a map claiming two pairs, one and a half there
        b"\x18",  # a header cut short
        b"\x1a\x00\x01",
        b"",
    ],
)
def test_declared_lengths_must_fit_in_the_bytes_left(data: bytes) -> None:
    with pytest.raises(DecodeError):
        scan(data, WIDE)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"\x18\x17", "shortest"),
        (b"\x19\x00\xff", "shortest"),
        (b"\x1a\x00\x00\xff\xff", "shortest"),
        (b"\x1b\x00\x00\x00\x00\xff\xff\xff\xff", "shortest"),
        (b"\x58\x01a", "shortest"),
        (b"\x9f\xff", "indefinite"),
        (b"\x5f\xff", "indefinite"),
        (b"\x1c", "reserved"),
        (b"\xc0\x00", "tags"),
        (b"\xd8\x20\x00", "tags"),
        (b"\xf7", "simple"),  # undefined
        (b"\xf0", "simple"),
        (b"\xf8\x20", "simple"),
        (b"\xf9\x00\x00", "floats"),
        (b"\xfb" + bytes(8), "floats"),
        (b"\x00\x00", "trailing"),
        (b"\x80\x80", "trailing"),
    ],
)
def test_refuses_what_deterministic_cbor_never_holds(data: bytes, reason: str) -> None:
    with pytest.raises(DecodeError, match=reason):
        scan(data, WIDE)


def test_a_two_mebibyte_flood_is_refused_without_building_anything() -> None:
    want = b"\xa2\x61t\x64want\x65feeds"
    false_claim = want + flood(2**31 - 1, 2 * 1024 * 1024)
    true_claim = want + flood(2 * 1024 * 1024, 2 * 1024 * 1024)
    tracemalloc.start()
    try:
        with pytest.raises(DecodeError, match="more items than the bytes left"):
            scan(false_claim, limits(max_items=15045))
        with pytest.raises(DecodeError, match="more than 15045 items"):
            scan(true_claim, limits(max_items=15045))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024


def test_a_flood_that_claims_only_what_is_there_is_still_capped() -> None:
    size = 100_000
    data = flood(size, size)
    assert scan(data, WIDE) == size + 1
    with pytest.raises(DecodeError, match="items"):
        scan(data, limits(max_items=size))


# --- agreement with the decoder, and hostile bytes ----------------------------------

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=40)
    | st.text(max_size=20)
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=30,
)


def fuzz(max_examples: int) -> Any:
    return settings(
        derandomize=True,
        database=None,
        deadline=None,
        max_examples=max_examples,
        suppress_health_check=[HealthCheck.too_slow],
    )


@fuzz(400)
@given(values)
def test_every_deterministic_value_passes_with_its_item_count(value: Any) -> None:
    data = canonical.encode(value)
    assert scan(data, WIDE) == count_items(value)


@fuzz(1500)
@given(st.binary(max_size=200), st.integers(1, 64), st.integers(0, 64), st.integers(1, 16))
def test_hostile_bytes_raise_only_decode_error(
    data: bytes, max_items: int, max_string: int, max_depth: int
) -> None:
    bounds = ScanLimits(
        max_bytes=200, max_items=max_items, max_string=max_string, max_depth=max_depth
    )
    try:
        items = scan(data, bounds)
    except DecodeError:
        return
    assert 1 <= items <= max_items


@fuzz(800)
@given(values, st.data())
def test_altered_values_raise_only_decode_error_and_never_pass_what_cbor2_refuses(
    value: Any, draw: st.DataObject
) -> None:
    data = bytearray(cbor2.dumps(value))
    spot = draw.draw(st.integers(0, len(data) - 1))
    data[spot] = draw.draw(st.integers(0, 255))
    cut = draw.draw(st.integers(0, len(data)))
    altered = bytes(data[:cut])
    try:
        scan(altered, WIDE)
    except DecodeError:
        return
    try:
        cbor2.loads(altered)  # well-formed CBOR: cbor2 must read it too
    except cbor2.CBORDecodeError as exc:  # the scan does not check UTF-8; the decoder does
        assert isinstance(exc.__cause__, UnicodeDecodeError), exc
