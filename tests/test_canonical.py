"""Deterministic CBOR, checked against the reference encoder in cbor_reference.py."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from cbor_reference import head, ref_encode, ref_map
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lndesk import canonical
from lndesk.errors import DecodeError, LndeskError

# The empty map key has its own test below.
KEYS = st.text(min_size=1, max_size=8)
STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=300)
U64 = 2**64 - 1


def depth(value: Any) -> int:
    if type(value) is list:
        return 1 + max((depth(item) for item in value), default=0)
    if type(value) is dict:
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


def same(a: Any, b: Any) -> bool:
    """Equality that also compares types (True is not 1) and map key order."""
    if type(a) is not type(b):
        return False
    if type(a) is list:
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if type(a) is dict:
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def nest(levels: int, inner: Any) -> Any:
    for _ in range(levels):
        inner = [inner]
    return inner


scalars = (
    st.integers(min_value=-(2**64), max_value=U64)
    | st.binary(max_size=40)
    | st.text(max_size=20)
    | st.booleans()
    | st.none()
)
values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(KEYS, children, max_size=5),
    max_leaves=25,
)


# --- what is allowed ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        (0, b"\x00"),
        (23, b"\x17"),
        (24, b"\x18\x18"),
        (-1, b"\x20"),
        (U64, b"\x1b" + b"\xff" * 8),
        (-(2**64), b"\x3b" + b"\xff" * 8),
        (b"", b"\x40"),
        (b"\x01\x02", b"\x42\x01\x02"),
        ("", b"\x60"),
        ("\u00fc", b"\x62\xc3\xbc"),
        ([], b"\x80"),
        ({}, b"\xa0"),
        (True, b"\xf5"),
        (False, b"\xf4"),
        (None, b"\xf6"),
        ({"b": 1, "aa": 2}, b"\xa2\x61b\x01\x62aa\x02"),
        ([1, [2, {"x": None}]], b"\x82\x01\x82\x02\xa1\x61x\xf6"),
    ],
)
def test_allowed_values_and_their_only_encoding(value: Any, encoded: bytes) -> None:
    assert canonical.encode(value) == encoded
    assert same(canonical.decode(encoded), value)


@STABLE
@given(values)
def test_encode_matches_reference_and_round_trips(value: Any) -> None:
    assume(depth(value) <= canonical.MAX_DEPTH)
    encoded = canonical.encode(value)
    assert encoded == ref_encode(value)
    decoded = canonical.decode(encoded)
    assert canonical.encode(decoded) == encoded
    assert same(decoded, canonical.decode(ref_encode(value)))


# --- key order -----------------------------------------------------------------------


@STABLE
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=12, unique=True))
def test_key_order_is_bytewise_order_of_encoded_keys(keys: list[str]) -> None:
    doc = {key: index for index, key in enumerate(keys)}
    decoded = canonical.decode(canonical.encode(doc))
    by_encoding = sorted(keys, key=ref_encode)
    assert list(decoded) == by_encoding
    # For text keys this is also "shorter first, then bytewise" (RFC 7049 canonical).
    assert by_encoding == sorted(keys, key=lambda k: (len(k.encode()), k.encode()))
    assert same(decoded, {key: doc[key] for key in by_encoding})


@STABLE
@given(st.lists(st.text(min_size=1, max_size=6), min_size=2, max_size=6, unique=True), st.randoms())
def test_map_with_keys_out_of_order_is_rejected(keys: list[str], random: Any) -> None:
    ordered = sorted(keys, key=ref_encode)
    shuffled = ordered[:]
    random.shuffle(shuffled)
    assume(shuffled != ordered)
    with pytest.raises(DecodeError):
        canonical.decode(ref_map([(key, 0) for key in shuffled]))
    assert list(canonical.decode(ref_map([(key, 0) for key in ordered]))) == ordered


@pytest.mark.parametrize("value", [{"": 1}, {"": 1, "a": 2}, [{"": None}]], ids=repr)
def test_empty_text_key_round_trips(value: Any) -> None:
    encoded = canonical.encode(value)
    assert encoded == ref_encode(value)
    assert same(canonical.decode(encoded), value)


# --- what is rejected ---------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"\xf9\x3c\x00", id="float16"),
        pytest.param(b"\xfa\x3f\x80\x00\x00", id="float32"),
        pytest.param(b"\xfb" + struct.pack(">d", 1.5), id="float64"),
        pytest.param(b"\xf7", id="undefined"),
        pytest.param(b"\xf0", id="simple-16"),
        pytest.param(b"\xf8\x20", id="simple-32"),
        pytest.param(b"\xc0\x60", id="tag-0"),
        pytest.param(b"\xc1\x00", id="tag-1"),
        pytest.param(b"\xc2\x41\x01", id="bignum-small"),
        pytest.param(b"\xc2\x49\x01" + bytes(8), id="bignum-2^64"),
        pytest.param(b"\xc3\x49\x01" + bytes(8), id="negative-bignum"),
        pytest.param(b"\xd8\x20\x60", id="tag-32"),
        pytest.param(b"\xd9\xd9\xf7\x00", id="self-describe-tag"),
        pytest.param(b"\xd8\x1c\x81\xd8\x1d\x00", id="shared-reference"),
        pytest.param(b"\xa1\x01\x02", id="int-key"),
        pytest.param(b"\xa1\x41a\x02", id="bytes-key"),
        pytest.param(b"\xa1\xf6\x02", id="null-key"),
        pytest.param(b"\xa1\x80\x02", id="array-key"),
        pytest.param(b"\x9f\xff", id="indefinite-array"),
        pytest.param(b"\xbf\xff", id="indefinite-map"),
        pytest.param(b"\x5f\x41a\xff", id="indefinite-bytes"),
        pytest.param(b"\x7f\x61a\xff", id="indefinite-text"),
        pytest.param(b"\x18\x05", id="non-shortest-uint8"),
        pytest.param(b"\x19\x00\x05", id="non-shortest-uint16"),
        pytest.param(b"\x38\x00", id="non-shortest-negative"),
        pytest.param(b"\x58\x01a", id="non-shortest-bytes-length"),
        pytest.param(b"\x98\x00", id="non-shortest-array-length"),
        pytest.param(b"\xa2\x61a\x01\x61a\x02", id="duplicate-key"),
        pytest.param(b"\xa2\x61b\x01\x61a\x02", id="unsorted-keys"),
        pytest.param(b"\xa2\x61b\x01\x62aa\x02"[:1] + b"\x62aa\x02\x61b\x01", id="longer-first"),
        pytest.param(b"\x01\x00", id="trailing-byte"),
        pytest.param(b"\x80\x80", id="two-values"),
        pytest.param(b"", id="empty"),
        pytest.param(b"\x82\x01", id="truncated-array"),
        pytest.param(b"\x43ab", id="truncated-bytes"),
        pytest.param(b"\x62\xff\xfe", id="invalid-utf8"),
        pytest.param(b"\x63\xed\xa0\x80", id="utf8-surrogate"),
        pytest.param(b"\xff", id="lone-break"),
        pytest.param(b"\x1c", id="reserved-additional-info"),
        pytest.param(b"\x5b" + b"\xff" * 8, id="huge-bytes-length"),
        pytest.param(b"\x9b" + b"\x7f" + b"\xff" * 7, id="huge-array-length"),
    ],
)
def test_rejected_encodings(data: bytes) -> None:
    with pytest.raises(DecodeError):
        canonical.decode(data)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(1.0, id="float"),
        pytest.param(float("nan"), id="nan"),
        pytest.param((1, 2), id="tuple"),
        pytest.param({1, 2}, id="set"),
        pytest.param(bytearray(b"x"), id="bytearray"),
        pytest.param(memoryview(b"x"), id="memoryview"),
        pytest.param({1: "a"}, id="int-key"),
        pytest.param({b"a": 1}, id="bytes-key"),
        pytest.param({"a": {(): 1}}, id="nested-tuple-key"),
        pytest.param("\ud800", id="surrogate"),
        pytest.param(2**64, id="too-big"),
        pytest.param(-(2**64) - 1, id="too-small"),
        pytest.param([2**70], id="too-big-nested"),
        pytest.param(object(), id="object"),
    ],
)
def test_encode_refuses_values_outside_the_rule(value: Any) -> None:
    with pytest.raises(DecodeError):
        canonical.encode(value)


def test_integer_bounds() -> None:
    assert canonical.decode(canonical.encode(U64)) == U64
    assert canonical.decode(canonical.encode(-(2**64))) == -(2**64)
    with pytest.raises(DecodeError, match="64-bit"):
        canonical.encode(U64 + 1)
    with pytest.raises(DecodeError, match="64-bit"):
        canonical.encode(-(2**64) - 1)


@STABLE
@given(st.integers(min_value=0, max_value=2**32 - 1), st.sampled_from([1, 2, 4, 8]))
def test_only_the_shortest_integer_form_is_accepted(number: int, width: int) -> None:
    shortest = canonical.encode(number)
    assume(number < 2 ** (8 * width))
    forced = head(0, number, width)
    if forced == shortest:
        assert canonical.decode(forced) == number
    else:
        with pytest.raises(DecodeError):
            canonical.decode(forced)


@pytest.mark.parametrize("inner", [0, "leaf", [], {}], ids=["int", "text", "list", "map"])
def test_nesting_limit(inner: Any) -> None:
    limit = canonical.MAX_DEPTH
    containers = limit - depth(inner)  # wrap so that exactly `limit` containers nest
    deepest_allowed = nest(containers, inner)
    assert depth(deepest_allowed) == limit
    assert same(canonical.decode(canonical.encode(deepest_allowed)), deepest_allowed)

    too_deep = nest(containers + 1, inner)
    with pytest.raises(DecodeError, match="deeper"):
        canonical.encode(too_deep)
    with pytest.raises(DecodeError):
        canonical.decode(ref_encode(too_deep))


def test_nesting_limit_counts_maps_too() -> None:
    value: Any = 1
    for level in range(canonical.MAX_DEPTH + 1):
        value = {"k": value} if level % 2 else [value]
    with pytest.raises(DecodeError):
        canonical.decode(ref_encode(value))


def test_very_deep_input_is_a_decode_error_not_a_crash() -> None:
    with pytest.raises(DecodeError):
        canonical.decode(b"\x81" * 100_000 + b"\x00")


def test_decode_error_is_an_lndesk_error() -> None:
    with pytest.raises(LndeskError):
        canonical.decode(b"\xf9\x3c\x00")


# --- no re-encoding: what stands in for it -------------------------------------------

_TEXT = "abcdefghij" * 3
_TWICE = ref_encode([_TEXT, _TEXT])
"""65 bytes: the deterministic encoding of a list holding one 30-byte text twice."""


@pytest.mark.parametrize(
    "data",
    [
        # A string reference (tags 256 and 25) is shorter than the string it stands for;
        # longer heads pad it to exactly the deterministic encoding's length.
        pytest.param(
            b"\xda\x00\x00\x01\x00"
            + head(4, 2, 8)
            + head(3, 30, 8)
            + _TEXT.encode()
            + b"\xd9\x00\x19"
            + head(0, 0, 8),
            id="string-reference-padded-by-heads",
        ),
        # The same with bytes after the item as padding.
        pytest.param(
            b"\xd9\x01\x00\x82" + ref_encode(_TEXT) + b"\xd8\x19\x00",
            id="string-reference-padded-by-trailing-bytes",
        ),
        # A shared value (tags 28 and 29) referred to again.
        pytest.param(
            b"\x82\xd8\x1c" + ref_encode(_TEXT) + b"\xd8\x1d\x00",
            id="shared-value-padded-by-trailing-bytes",
        ),
    ],
)
def test_references_shorter_than_their_value_are_refused(data: bytes) -> None:
    """Decoding compares lengths rather than re-encoding: an encoding made shorter by a
    reference tag and padded back to the right length must still be refused."""
    padded = data + bytes(len(_TWICE) - len(data))
    assert len(padded) == len(_TWICE)
    with pytest.raises(DecodeError, match="tags are not allowed"):
        canonical.decode(padded)


def test_every_tag_number_is_refused() -> None:
    """Whichever tags the installed cbor2 decodes itself, lndesk refuses them all."""
    for number in [*range(0x10000), 55799, 2**32 - 1, 2**32, 2**64 - 1]:
        data = head(6, number) + b"\x00"
        with pytest.raises(DecodeError, match="tags are not allowed"):
            canonical.decode(data)


@pytest.mark.parametrize(
    "value",
    [
        0,
        23,
        24,
        255,
        256,
        65535,
        65536,
        2**32 - 1,
        2**32,
        U64,
        -24,
        -25,
        -(2**64),
        "x" * 23,
        "x" * 24,
        "\u00fc" * 12,
        "\U0001f600" * 70,
        b"y" * 255,
        b"y" * 256,
        ["z" * 23, "z" * 24, [None, True, False]],
        {"a": {"b": b""}, "k" * 30: ["v"]},
    ],
    ids=repr,
)
def test_lengths_at_every_head_boundary_are_counted_exactly(value: Any) -> None:
    assert same(canonical.decode(ref_encode(value)), value)
