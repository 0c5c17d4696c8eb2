"""The fixed-layout entry parser against a general CBOR decoder plus re-encoding.

``decode_entry`` reads the nine fields by hand for speed. These tests hold it to the
straightforward definition: cbor2 decodes the bytes, re-encoding gives them back
exactly, and every field has its type and range. Both must accept and reject the
same inputs, and agree on the fields.
"""

from __future__ import annotations

import re
from typing import Any

import cbor2
from cbor_reference import head, ref_encode
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from lndesk.entry import (
    MAX_ENTRY_SIZE,
    MAX_PAYLOAD_SIZE,
    MAX_SEQ,
    MAX_TIMESTAMP_MS,
    create_entry,
    decode_entry,
)
from lndesk.errors import EntryError
from lndesk.identity import Identity

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=1500)
AUTHOR = Identity(bytes(range(32)))
TYPE = re.compile(r"[a-z][a-z0-9._-]{0,31}")


def reference_fields(raw: bytes) -> list[Any] | None:
    """The entry's fields by the definition, or None if it is not a valid entry."""
    if len(raw) > MAX_ENTRY_SIZE:
        return None
    try:
        fields = cbor2.loads(raw, allow_indefinite=False)
    except Exception:
        return None
    if type(fields) is not list or len(fields) != 9 or cbor2.dumps(fields) != raw:
        return None
    version, author, seq, prev, claimed, type_, digest, size, signature = fields

    def is_bytes(value: Any, length: int) -> bool:
        return type(value) is bytes and len(value) == length

    def is_int(value: Any, low: int, high: int) -> bool:
        return type(value) is int and low <= value <= high

    valid = (
        type(version) is int
        and version == 1
        and is_bytes(author, 32)
        and is_int(seq, 1, MAX_SEQ)
        and (prev is None if seq == 1 else is_bytes(prev, 32))
        and is_int(claimed, 0, MAX_TIMESTAMP_MS)
        and type(type_) is str
        and TYPE.fullmatch(type_) is not None
        and is_bytes(digest, 32)
        and is_int(size, 0, MAX_PAYLOAD_SIZE)
        and is_bytes(signature, 64)
    )
    return fields if valid else None


def parsed_fields(raw: bytes) -> list[Any] | None:
    try:
        entry = decode_entry(raw)
    except EntryError:
        return None
    return [
        1,
        entry.author,
        entry.seq,
        entry.prev,
        entry.claimed_ms,
        entry.type,
        entry.payload_hash,
        entry.payload_size,
        entry.signature,
    ]


def agree(raw: bytes) -> None:
    assert parsed_fields(raw) == reference_fields(raw), raw.hex()


def valid_entry(seq: int, claimed: int, type_: str, size: int) -> bytes:
    prev = None if seq == 1 else bytes(32)
    payload = bytes(size)
    return create_entry(
        AUTHOR, seq=seq, prev=prev, claimed_ms=claimed, type=type_, payload=payload
    ).raw


ENTRIES = st.builds(
    valid_entry,
    seq=st.one_of(st.integers(1, 30), st.integers(1, MAX_SEQ)),
    claimed=st.one_of(st.integers(0, 30), st.integers(0, MAX_TIMESTAMP_MS)),
    type_=st.from_regex(TYPE, fullmatch=True),
    size=st.integers(0, 300),
)


@STABLE
@given(ENTRIES)
def test_valid_entries_parse_the_same(raw: bytes) -> None:
    assert reference_fields(raw) is not None
    agree(raw)


@STABLE
@given(ENTRIES, st.data())
def test_mutated_entries_are_judged_the_same(raw: bytes, data: st.DataObject) -> None:
    mutated = bytearray(raw)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(mutated)))
        action = data.draw(st.sampled_from(["set", "insert", "delete"]))
        value = data.draw(st.integers(0, 255))
        if action == "set" and at < len(mutated):
            mutated[at] = value
        elif action == "insert":
            mutated.insert(at, value)
        elif mutated and at < len(mutated):
            del mutated[at]
    agree(bytes(mutated))


FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**64), 2**64 - 1),
    st.binary(max_size=70),
    st.text(max_size=40),
    st.floats(allow_nan=False),
)


def encode_wide(value: Any, width: int) -> bytes:
    """``value`` with its head forced to ``width`` argument bytes (not shortest, often)."""
    if type(value) is int and value >= 0:
        return head(0, value, width)
    if type(value) is bytes:
        return head(2, len(value), width) + value
    if type(value) is str:
        raw = value.encode()
        return head(3, len(raw), width) + raw
    return cbor2.dumps(value)


@STABLE
@given(ENTRIES, st.data())
def test_one_field_changed_is_judged_the_same(raw: bytes, data: st.DataObject) -> None:
    fields = cbor2.loads(raw)
    encoded = [cbor2.dumps(value) for value in fields]
    index = data.draw(st.integers(0, 8))
    change = data.draw(st.sampled_from(["widen", "replace", "drop", "append"]))
    if change == "widen":
        width = data.draw(st.sampled_from([1, 2, 4, 8]))
        assume(type(fields[index]) is not int or fields[index] < 1 << (8 * width))
        encoded[index] = encode_wide(fields[index], width)
    elif change == "replace":
        encoded[index] = cbor2.dumps(data.draw(FIELD_VALUES))
    elif change == "drop":
        del encoded[index]
    else:
        encoded.insert(index, cbor2.dumps(data.draw(FIELD_VALUES)))
    agree(head(4, len(encoded)) + b"".join(encoded))


def test_reference_encoder_and_parser_agree_on_a_plain_entry() -> None:
    raw = valid_entry(3, 5, "post", 4)
    fields = reference_fields(raw)
    assert fields is not None
    assert ref_encode(fields) == raw
    agree(raw)
