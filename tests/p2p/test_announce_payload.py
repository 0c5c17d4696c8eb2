"""Which payload a node stores with a head announcement (protocol section 21.3): the
carried one, or the empty payload of an entry of payload_size 0; never an entry of
payload_size 0 as if its payload were missing."""

from __future__ import annotations

import cbor2

from lndesk.entry import SIGNATURE_CONTEXT, create_entry, decode_entry
from lndesk.identity import Identity, blake2b_256
from lndesk.p2p.announce import HeadAnnouncement, head_payload

ADA = Identity(bytes(range(32)))
T0 = 1_767_225_600_000


def _head(payload: bytes, carried: bytes | None) -> HeadAnnouncement:
    entry = create_entry(ADA, seq=1, prev=None, claimed_ms=T0, type="x-empty", payload=payload)
    return HeadAnnouncement(ADA.public_key, entry, carried)


def test_a_carried_payload_is_stored() -> None:
    assert head_payload(_head(b"\x01", b"\x01")) == b"\x01"
    assert head_payload(_head(b"", b"")) == b""


def test_an_empty_payload_needs_no_carrying() -> None:
    assert head_payload(_head(b"", None)) == b""


def test_a_payload_not_carried_comes_by_sync() -> None:
    assert head_payload(_head(b"\x01", None)) is None


def test_size_zero_with_another_hash_comes_by_sync() -> None:
    unsigned = [1, ADA.public_key, 1, None, T0, "x-empty", blake2b_256(b"\x01"), 0]
    body = cbor2.dumps(unsigned)
    raw = b"\x89" + body[1:] + b"\x58\x40" + ADA.sign(SIGNATURE_CONTEXT + body)
    entry = decode_entry(raw)
    entry.verify_signature()
    assert entry.payload_size == 0
    assert head_payload(HeadAnnouncement(ADA.public_key, entry, None)) is None
