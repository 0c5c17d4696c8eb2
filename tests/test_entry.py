"""Signed log entries: wire format, signature, payload commitment, chains."""

from __future__ import annotations

import hashlib
from typing import Any

import nacl.signing
import pytest
from cbor_reference import ref_encode

from lndesk import canonical
from lndesk.entry import (
    MAX_ENTRY_SIZE,
    MAX_PAYLOAD_SIZE,
    MAX_SEQ,
    MAX_TIMESTAMP_MS,
    SIGNATURE_CONTEXT,
    Entry,
    authenticate_range,
    create_entry,
    decode_entry,
)
from lndesk.errors import (
    ChainError,
    DecodeError,
    EntryError,
    PayloadError,
    SignatureError,
    SizeError,
)
from lndesk.identity import Identity

ALICE = Identity(hashlib.sha256(b"alice").digest())
BOB = Identity(hashlib.sha256(b"bob").digest())
PAYLOAD = canonical.encode({"text": "hello"})
T0 = 1_700_000_000_000


# --- an independent encoder for the entry array -------------------------------------


def item(value: Any) -> bytes:
    """Shortest-form CBOR of an entry field (int, bytes, str or None)."""
    return ref_encode(value)


def fields_of(
    signer: Identity,
    *,
    seq: int = 1,
    prev: bytes | None = None,
    claimed_ms: int = T0,
    type_: str = "post",
    payload: bytes = PAYLOAD,
    **overrides: Any,
) -> list[Any]:
    fields = [
        1,
        signer.public_key,
        seq,
        prev,
        claimed_ms,
        type_,
        hashlib.blake2b(payload, digest_size=32).digest(),
        len(payload),
    ]
    names = ["version", "author", "seq", "prev", "claimed_ms", "type", "payload_hash", "size"]
    for name, value in overrides.items():
        fields[names.index(name)] = value
    return fields


def build_raw(
    fields: list[Any], signer: Identity | None = None, signature: bytes | None = None
) -> bytes:
    """Encode and sign an entry the way the protocol describes, without lndesk.entry."""
    body = b"".join(item(f) for f in fields)
    unsigned = bytes([0x80 | len(fields)]) + body
    if signature is None:
        assert signer is not None
        signature = signer.sign(SIGNATURE_CONTEXT + unsigned)
    return bytes([0x80 | (len(fields) + 1)]) + body + item(signature)


def make_chain(signer: Identity, count: int, start_ms: int = T0) -> list[Entry]:
    entries: list[Entry] = []
    for seq in range(1, count + 1):
        payload = canonical.encode({"text": f"entry {seq}"})
        entries.append(
            create_entry(
                signer,
                seq=seq,
                prev=entries[-1].id if entries else None,
                claimed_ms=start_ms + seq,
                type="post",
                payload=payload,
            )
        )
    return entries


def blake(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


# --- create and decode ----------------------------------------------------------------


def test_create_decode_round_trip() -> None:
    entry = create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="post", payload=PAYLOAD)
    assert entry.author == ALICE.public_key
    assert (entry.seq, entry.prev, entry.claimed_ms, entry.type) == (1, None, T0, "post")
    assert entry.payload_hash == blake(PAYLOAD)
    assert entry.payload_size == len(PAYLOAD)
    assert entry.id == blake(entry.raw)
    assert decode_entry(entry.raw) == entry
    assert decode_entry(bytearray(entry.raw)) == entry


def test_create_matches_the_documented_wire_format() -> None:
    prev = blake(b"previous")
    entry = create_entry(ALICE, seq=7, prev=prev, claimed_ms=T0, type="reply", payload=PAYLOAD)
    expected = build_raw(fields_of(ALICE, seq=7, prev=prev, type_="reply"), ALICE)
    assert entry.raw == expected  # Ed25519 is deterministic
    assert entry.raw[0] == 0x89
    assert entry.raw[-66:-64] == b"\x58\x40"
    assert entry.signature == entry.raw[-64:]


def test_decode_entry_built_independently() -> None:
    prev = blake(b"p")
    raw = build_raw(fields_of(BOB, seq=2, prev=prev, claimed_ms=0, type_="x-custom.v2"), BOB)
    entry = decode_entry(raw)
    assert (entry.author, entry.seq, entry.prev, entry.claimed_ms, entry.type) == (
        BOB.public_key,
        2,
        prev,
        0,
        "x-custom.v2",
    )
    entry.verify_signature()


def test_signed_message() -> None:
    prev = blake(b"previous")
    entry = create_entry(ALICE, seq=2, prev=prev, claimed_ms=T0, type="post", payload=PAYLOAD)
    fields = fields_of(ALICE, seq=2, prev=prev)
    expected = SIGNATURE_CONTEXT + b"\x88" + b"".join(item(f) for f in fields)
    assert entry.signed_message() == expected
    nacl.signing.VerifyKey(ALICE.public_key).verify(expected, entry.signature)


def test_verify_signature_accepts_own_entry() -> None:
    for entry in make_chain(ALICE, 3):
        entry.verify_signature()


def test_entry_signed_by_someone_else_is_rejected() -> None:
    raw = build_raw(fields_of(ALICE), BOB)  # names Alice, signed by Bob
    entry = decode_entry(raw)
    with pytest.raises(SignatureError, match="invalid signature") as info:
        entry.verify_signature()
    assert info.value.hint


def test_an_entry_is_verified_once() -> None:
    entry = make_chain(ALICE, 1)[0]
    assert not entry.verified  # decoding (or signing) is no verification
    entry.verify_signature()
    assert entry.verified
    assert not decode_entry(entry.raw).verified  # the fact belongs to the object
    assert decode_entry(entry.raw) == entry  # and takes no part in equality


def test_a_forged_entry_stays_unverified() -> None:
    forged = decode_entry(build_raw(fields_of(ALICE), BOB))
    for _ in range(2):  # the second check fails as the first did
        with pytest.raises(SignatureError):
            forged.verify_signature()
    assert not forged.verified


def test_signature_without_context_is_rejected() -> None:
    fields = fields_of(ALICE)
    unsigned = b"\x88" + b"".join(item(f) for f in fields)
    raw = build_raw(fields, signature=ALICE.sign(unsigned))
    with pytest.raises(SignatureError):
        decode_entry(raw).verify_signature()


def test_every_field_change_breaks_the_signature() -> None:
    original = fields_of(ALICE, seq=2, prev=blake(b"x"))
    signature = decode_entry(build_raw(original, ALICE)).signature
    changes = {
        "author": BOB.public_key,
        "seq": 3,
        "prev": blake(b"y"),
        "claimed_ms": T0 + 1,
        "type": "reply",
        "payload_hash": blake(b"other"),
        "size": len(PAYLOAD) + 1,
    }
    names = ["version", "author", "seq", "prev", "claimed_ms", "type", "payload_hash", "size"]
    for name, value in changes.items():
        altered = list(original)
        altered[names.index(name)] = value
        entry = decode_entry(build_raw(altered, signature=signature))
        with pytest.raises(SignatureError):
            entry.verify_signature()


def test_check_payload() -> None:
    entry = create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="post", payload=PAYLOAD)
    entry.check_payload(PAYLOAD)
    same_size = bytearray(PAYLOAD)
    same_size[-1] ^= 1
    with pytest.raises(PayloadError, match="does not match") as info:
        entry.check_payload(bytes(same_size))
    assert info.value.hint
    with pytest.raises(PayloadError):
        entry.check_payload(PAYLOAD + b"\x00")
    with pytest.raises(PayloadError):
        entry.check_payload(b"")


def test_empty_payload_is_allowed() -> None:
    entry = create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="post", payload=b"")
    assert entry.payload_size == 0
    entry.check_payload(b"")


# --- limits ----------------------------------------------------------------------------


def test_payload_size_limit_on_create() -> None:
    at_limit = b"\x00" * MAX_PAYLOAD_SIZE
    entry = create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="blob", payload=at_limit)
    assert entry.payload_size == MAX_PAYLOAD_SIZE
    with pytest.raises(SizeError) as info:
        create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="blob", payload=at_limit + b"x")
    assert info.value.hint


def test_payload_size_field_limit_on_decode() -> None:
    raw = build_raw(fields_of(ALICE, size=MAX_PAYLOAD_SIZE), ALICE)
    assert decode_entry(raw).payload_size == MAX_PAYLOAD_SIZE
    with pytest.raises(SizeError):
        decode_entry(build_raw(fields_of(ALICE, size=MAX_PAYLOAD_SIZE + 1), ALICE))


def test_entry_size_limit() -> None:
    too_big = b"\x89" + b"\x00" * MAX_ENTRY_SIZE
    with pytest.raises(SizeError):
        decode_entry(too_big)
    # The largest entry the fields allow is well under the limit.
    largest = build_raw(
        fields_of(
            ALICE,
            seq=MAX_SEQ,
            prev=bytes(32),
            claimed_ms=MAX_TIMESTAMP_MS,
            type_="a" * 32,
            size=MAX_PAYLOAD_SIZE,
        ),
        ALICE,
    )
    assert len(largest) <= MAX_ENTRY_SIZE
    decode_entry(largest).verify_signature()


def test_sequence_number_limits() -> None:
    prev = bytes(32)
    assert decode_entry(build_raw(fields_of(ALICE, seq=MAX_SEQ, prev=prev), ALICE)).seq == MAX_SEQ
    for seq in (0, -1, MAX_SEQ + 1):
        with pytest.raises(DecodeError):
            decode_entry(build_raw(fields_of(ALICE, seq=seq, prev=prev), ALICE))
        with pytest.raises(DecodeError):
            create_entry(ALICE, seq=seq, prev=prev, claimed_ms=T0, type="post", payload=PAYLOAD)


def test_timestamp_limits() -> None:
    for ms in (0, MAX_TIMESTAMP_MS):
        assert decode_entry(build_raw(fields_of(ALICE, claimed_ms=ms), ALICE)).claimed_ms == ms
    for ms in (-1, MAX_TIMESTAMP_MS + 1):
        with pytest.raises(DecodeError):
            decode_entry(build_raw(fields_of(ALICE, claimed_ms=ms), ALICE))
        with pytest.raises(DecodeError):
            create_entry(ALICE, seq=1, prev=None, claimed_ms=ms, type="post", payload=PAYLOAD)


@pytest.mark.parametrize("type_", ["a", "post", "x-custom.v2_a", "a" * 32, "z0", "q-"])
def test_valid_content_types(type_: str) -> None:
    assert decode_entry(build_raw(fields_of(ALICE, type_=type_), ALICE)).type == type_


@pytest.mark.parametrize(
    "type_", ["", "a" * 33, "Post", "1post", "-post", "po st", "post\n", "pöst", ".a", "a/b"]
)
def test_invalid_content_types(type_: str) -> None:
    with pytest.raises(DecodeError):
        decode_entry(build_raw(fields_of(ALICE, type_=type_), ALICE))
    with pytest.raises(DecodeError):
        create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type=type_, payload=PAYLOAD)


@pytest.mark.parametrize(
    "overrides",
    [
        {"version": 0},
        {"version": 2},
        {"author": bytes(31)},
        {"author": bytes(33)},
        {"author": "not bytes"},
        {"author": None},
        {"seq": 1, "prev": bytes(32)},
        {"seq": 2, "prev": None},
        {"seq": 2, "prev": bytes(31)},
        {"seq": 2, "prev": "x" * 32},
        {"payload_hash": bytes(31)},
        {"payload_hash": None},
        {"claimed_ms": "1"},
        {"seq": "1"},
        {"type": 1},
        {"size": -1},
        {"size": "1"},
    ],
    ids=repr,
)
def test_malformed_fields(overrides: dict[str, Any]) -> None:
    seq = overrides.pop("seq", 1)
    prev = overrides.pop("prev", None)
    raw = build_raw(fields_of(ALICE, seq=seq, prev=prev, **overrides), ALICE)
    with pytest.raises(EntryError):
        decode_entry(raw)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda raw: raw + b"\x00", id="trailing-byte"),
        pytest.param(lambda raw: raw[:-1], id="truncated"),
        pytest.param(lambda raw: b"", id="empty"),
        pytest.param(lambda raw: b"\x88" + raw[1:], id="eight-elements-header"),
        pytest.param(lambda raw: b"\x8a" + raw[1:] + b"\x00", id="ten-elements"),
        pytest.param(lambda raw: b"\x9f" + raw[1:] + b"\xff", id="indefinite-array"),
        pytest.param(lambda raw: b"\x99\x00\x09" + raw[1:], id="non-shortest-array-length"),
        pytest.param(lambda raw: raw[:1] + b"\x18\x01" + raw[2:], id="non-shortest-version"),
        pytest.param(lambda raw: raw[:-66] + b"\x59\x00\x40" + raw[-64:], id="non-shortest-sig"),
        pytest.param(lambda raw: raw[:-66] + b"\x58\x3f" + raw[-64:-1], id="short-signature"),
        pytest.param(lambda raw: raw[:-66] + b"\x58\x41" + raw[-64:] + b"\x00", id="long-sig"),
        pytest.param(lambda raw: raw[:-66] + b"\x78\x40" + b"a" * 64, id="text-signature"),
        pytest.param(lambda raw: raw[:1] + b"\xc1\x01" + raw[2:], id="tagged-version"),
        pytest.param(lambda raw: b"\xa1\x61a" + raw, id="map"),
    ],
)
def test_malformed_encodings(mangle: Any) -> None:
    raw = create_entry(ALICE, seq=1, prev=None, claimed_ms=T0, type="post", payload=PAYLOAD).raw
    with pytest.raises(DecodeError):
        decode_entry(mangle(raw))


def test_entry_with_eight_fields_is_rejected() -> None:
    fields = fields_of(ALICE)
    raw = b"\x88" + b"".join(item(f) for f in fields[:7]) + item(bytes(64))
    with pytest.raises(DecodeError):
        decode_entry(raw)


# --- authenticate_range -------------------------------------------------------------------


def test_authenticate_good_chain() -> None:
    chain = make_chain(ALICE, 5)
    authenticate_range(chain)
    authenticate_range(chain[2:])
    authenticate_range(chain[-1:])
    authenticate_range([])


def test_broken_link_is_rejected() -> None:
    chain = make_chain(ALICE, 3)
    stranger = create_entry(
        ALICE, seq=2, prev=blake(b"elsewhere"), claimed_ms=T0, type="post", payload=PAYLOAD
    )
    with pytest.raises(ChainError, match="does not link") as info:
        authenticate_range([chain[0], stranger, chain[2]])
    assert info.value.hint


def test_gap_is_rejected() -> None:
    chain = make_chain(ALICE, 3)
    with pytest.raises(ChainError):
        authenticate_range([chain[0], chain[2]])


def test_wrong_order_is_rejected() -> None:
    chain = make_chain(ALICE, 3)
    with pytest.raises(ChainError):
        authenticate_range([chain[1], chain[0]])
    with pytest.raises(ChainError):
        authenticate_range([chain[0], chain[0]])


def test_seq_mismatch_with_correct_prev_is_rejected() -> None:
    chain = make_chain(ALICE, 2)
    skipped = create_entry(ALICE, seq=3, prev=chain[0].id, claimed_ms=T0, type="post", payload=b"")
    with pytest.raises(ChainError):
        authenticate_range([chain[0], skipped])


def test_mixed_authors_are_rejected() -> None:
    alice = make_chain(ALICE, 1)[0]
    # Bob's entry 2 links to Alice's entry 1: a valid link and a valid signature.
    bob = create_entry(BOB, seq=2, prev=alice.id, claimed_ms=T0, type="post", payload=PAYLOAD)
    bob.verify_signature()
    with pytest.raises(ChainError, match="mixes authors"):
        authenticate_range([alice, bob])


def test_bad_last_signature_is_rejected() -> None:
    chain = make_chain(ALICE, 3)
    last = chain[-1]
    forged = decode_entry(last.raw[:-64] + bytes(64))
    assert forged.id != last.id
    with pytest.raises(SignatureError):
        authenticate_range([*chain[:-1], forged])
    # An entry that names Alice but is signed by Bob, at the end of Alice's chain.
    fields = fields_of(ALICE, seq=4, prev=last.id)
    impostor = decode_entry(build_raw(fields, BOB))
    with pytest.raises(SignatureError):
        authenticate_range([*chain, impostor])


def test_trusted_last_skips_only_the_signature() -> None:
    chain = make_chain(ALICE, 3)
    forged_last = decode_entry(chain[-1].raw[:-64] + bytes(64))
    authenticate_range([*chain[:-1], forged_last], trusted_last=True)
    with pytest.raises(ChainError):
        authenticate_range([chain[0], chain[2]], trusted_last=True)
    bob = create_entry(BOB, seq=2, prev=chain[0].id, claimed_ms=T0, type="post", payload=b"")
    with pytest.raises(ChainError):
        authenticate_range([chain[0], bob], trusted_last=True)


def test_chain_through_a_forged_middle_entry_fails() -> None:
    chain = make_chain(ALICE, 3)
    # Replace entry 2 with another entry 2 of Alice's; entry 3 still names the original.
    other = create_entry(
        ALICE, seq=2, prev=chain[0].id, claimed_ms=T0 + 99, type="post", payload=b""
    )
    assert other.id != chain[1].id
    with pytest.raises(ChainError):
        authenticate_range([chain[0], other, chain[2]])
