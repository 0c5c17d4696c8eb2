"""The negative vectors: inputs every implementation must reject. This module holds the
document and the decoding faults (deterministic CBOR, entries and their payloads, runs of
entries); negative_inputs holds the rest."""

from __future__ import annotations

from typing import Any

import cbor2
from negative_inputs import backup_words_cases, content_cases, key_file_cases, key_text_cases
from vector_helpers import (
    ED25519_L,
    T0,
    AddVector,
    Feed,
    assemble,
    fields8,
    flip_bit,
    h,
    nested,
    nested_maps,
    signed_entry,
    typed_input,
)

from lndesk.entry import SIGNATURE_CONTEXT, create_entry
from lndesk.identity import blake2b_256


def negative_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, decoder: str, error: str, **fields: Any) -> None:
        fields = typed_input(decoder, fields)
        vectors.append({"name": name, "decoder": decoder, "error": error, **fields})

    cbor_cases(add)
    entry_cases(add, ada, ben)
    range_cases(add, ada, ben)
    content_cases(add, ben.identity.public_key)
    key_text_cases(add, ada.identity)
    backup_words_cases(add, ada.identity)
    key_file_cases(add, ada.identity, ben.identity.public_key)

    counts: dict[str, int] = {}
    for vector in vectors:
        counts[vector["decoder"]] = counts.get(vector["decoder"], 0) + 1
    return {
        "suite": "negative",
        "description": (
            "Inputs every implementation must reject, each with exactly one fault, with the "
            "decoder it goes to, the error class it must raise and 'reason', the message "
            "lndesk rejects it with (informative). Decoders: 'cbor' decode "
            "deterministic CBOR; 'entry' decode an entry, then verify its signature; "
            "'entry-payload' the same, then check 'payload' against it; 'range' decode "
            "'entries', then authenticate them as one run (links, then the last signature); "
            "'content' parse a payload as 'content_type'; 'key-text' parse a public key; "
            "'share-link' parse a key or share link; 'backup-words' restore a seed from "
            "words; 'key-file' open a key file with 'passphrase' (null: none given)."
        ),
        "counts": counts,
        "vectors": vectors,
    }


def cbor_cases(add: AddVector) -> None:
    def cbor(name: str, hex_input: str) -> None:
        add(name, "cbor", "DecodeError", input=hex_input)

    # Deterministic CBOR.
    cbor("empty input", "")
    cbor("truncated: text of 2 bytes with 1", "6261")
    cbor("non-shortest integer: 23 in two bytes", "1817")
    cbor("non-shortest integer: 0 in three bytes", "190000")
    cbor("non-shortest negative integer: -1 in two bytes", "3800")
    cbor("non-shortest text length", "780161")
    cbor("non-shortest array length", "9800")
    cbor("indefinite-length array", "9f01ff")
    cbor("indefinite-length byte string", "5f4101ff")
    cbor("indefinite-length map", "bf616101ff")
    cbor("half-precision float 1.0", "f93c00")
    cbor("double-precision float 1.0", "fb3ff0000000000000")
    cbor("tag 1 (epoch time)", "c100")
    cbor("tag 2 (bignum 1)", "c24101")
    cbor("tag 2 (bignum 2^64, out of range)", "c249010000000000000000")
    cbor("tag 55799 (self-described CBOR)", "d9d9f701")
    cbor("undefined", "f7")
    cbor("simple value 16", "f0")
    cbor("duplicate map key", "a2616101616102")
    cbor("wrong key order: bytewise", "a2616201616102")
    cbor("wrong key order: longer key first", "a2626161016162 02".replace(" ", ""))
    cbor("integer map key", "a10102")
    cbor("byte-string map key", "a1416101")
    cbor("invalid UTF-8 in text", "61ff")
    cbor("trailing bytes", "0100")
    cbor("trailing bytes after a map", "a0a0")
    cbor("nesting too deep: 17 arrays around an integer", h(cbor2.dumps(nested(17, 0))))
    cbor("nesting too deep: 17 arrays, the innermost empty", h(cbor2.dumps(nested(16, []))))
    cbor("nesting too deep: 17 maps", h(cbor2.dumps(nested_maps(17))))


def entry_cases(add: AddVector, ada: Feed, ben: Feed) -> None:
    """Entries that fail to decode or verify, and entries whose payload does not match."""
    ada_id = ada.identity
    e1, p1, _ = ada.entries[0]
    e2, p2, _ = ada.entries[1]
    good2 = fields8(ada_id, 2, e1.id, e2.claimed_ms, "post", p2)

    def entry(name: str, raw: bytes, error: str = "DecodeError") -> None:
        add(name, "entry", error, input=h(raw))

    unsigned = cbor2.dumps(good2)
    entry("wrong array length: 8 elements (no signature)", unsigned)
    entry(
        "wrong array length: 10 elements",
        b"\x8a" + e2.raw[1:] + b"\x00",
    )
    entry("trailing bytes after the entry", e2.raw + b"\x00")
    entry(
        "indefinite-length entry array",
        b"\x9f" + e2.raw[1:] + b"\xff",
    )
    entry("wrong version: 2", signed_entry(ada_id, [2, *good2[1:]]))
    entry("wrong version: 0", signed_entry(ada_id, [0, *good2[1:]]))
    entry("author of 31 bytes", signed_entry(ada_id, [1, ada_id.public_key[:31], *good2[2:]]))
    entry("seq 0", signed_entry(ada_id, fields8(ada_id, 0, None, T0, "post", p2)))
    entry("seq 2^53", signed_entry(ada_id, fields8(ada_id, 2**53, e1.id, T0, "post", p2)))
    entry(
        "negative seq",
        signed_entry(ada_id, fields8(ada_id, -1, None, T0, "post", p2)),
    )
    entry(
        "prev present on seq 1",
        signed_entry(ada_id, fields8(ada_id, 1, bytes(32), T0, "profile", p1)),
    )
    entry(
        "prev missing (null) on seq 2",
        signed_entry(ada_id, fields8(ada_id, 2, None, e2.claimed_ms, "post", p2)),
    )
    entry(
        "prev of 31 bytes",
        signed_entry(ada_id, fields8(ada_id, 2, e1.id[:31], e2.claimed_ms, "post", p2)),
    )
    entry(
        "timestamp 2^53",
        signed_entry(ada_id, fields8(ada_id, 2, e1.id, 2**53, "post", p2)),
    )
    entry(
        "negative timestamp",
        signed_entry(ada_id, fields8(ada_id, 2, e1.id, -1, "post", p2)),
    )
    float_time = cbor2.dumps([*good2[:4], 1.5, *good2[5:]])
    entry("float timestamp", assemble(ada_id, float_time))
    for label, bad_type in [
        ("uppercase", "Post"),
        ("empty", ""),
        ("starts with a digit", "1post"),
        ("contains a space", "my post"),
        ("33 characters", "p" * 33),
        ("non-ASCII letter", "pöst"),
    ]:
        entry(
            f"bad type string: {label}",
            signed_entry(ada_id, fields8(ada_id, 2, e1.id, e2.claimed_ms, bad_type, p2)),
        )
    entry(
        "payload hash of 31 bytes",
        signed_entry(ada_id, [*good2[:6], good2[6][:31], good2[7]]),
    )
    entry(
        "payload size 65537",
        signed_entry(ada_id, [*good2[:7], 65537]),
        "SizeError",
    )
    # Non-shortest seq: replace the one-byte 0x02 by 0x18 0x02 and sign those bytes.
    marker = b"\x58\x20" + ada_id.public_key + b"\x02"
    assert unsigned.count(marker) == 1
    long_seq = unsigned.replace(marker, marker[:-1] + b"\x18\x02")
    entry("non-shortest integer: seq 2 in two bytes", assemble(ada_id, long_seq))
    tagged_time = unsigned.replace(
        b"\x1b" + e2.claimed_ms.to_bytes(8, "big"),
        b"\xc1\x1b" + e2.claimed_ms.to_bytes(8, "big"),
    )
    assert tagged_time != unsigned
    entry("tag on the timestamp", assemble(ada_id, tagged_time))
    short_sig = b"\x89" + unsigned[1:] + b"\x58\x3f" + e2.signature[:63]
    entry("signature of 63 bytes", short_sig)
    entry("oversize entry: 513 bytes", e2.raw + bytes(513 - len(e2.raw)), "SizeError")
    entry(
        "bad signature: one bit flipped in the signature",
        flip_bit(e2.raw, len(e2.raw) - 1),
        "SignatureError",
    )
    entry(
        "bad signature: one bit flipped in the timestamp",
        flip_bit(e2.raw, e2.raw.index(e2.claimed_ms.to_bytes(8, "big")) + 7),
        "SignatureError",
    )
    entry(
        "bad signature: signed without the context prefix",
        assemble(ada_id, unsigned, ada_id.sign(unsigned)),
        "SignatureError",
    )
    entry(
        "bad signature: signed by another key",
        assemble(ada_id, unsigned, ben.identity.sign(SIGNATURE_CONTEXT + unsigned)),
        "SignatureError",
    )
    s = int.from_bytes(e2.signature[32:], "little")
    malleated = e2.signature[:32] + (s + ED25519_L).to_bytes(32, "little")
    entry(
        "bad signature: S + L (non-canonical S, a malleated copy of a valid signature)",
        assemble(ada_id, unsigned, malleated),
        "SignatureError",
    )
    # The identity point as author key with R = identity, S = 0 satisfies the unchecked
    # verification equation for every message; verifiers must reject small-order keys.
    identity_point = b"\x01" + bytes(31)
    weak = [1, identity_point, 1, None, T0, "post", blake2b_256(p2), len(p2)]
    entry(
        "bad signature: small-order author key with a trivial signature",
        assemble(ada_id, cbor2.dumps(weak), identity_point + bytes(32)),
        "SignatureError",
    )

    # Entry and payload.
    add(
        "payload hash mismatch: one bit flipped in the payload",
        "entry-payload",
        "PayloadError",
        input=h(e2.raw),
        payload=h(flip_bit(p2, len(p2) - 1)),
    )
    add(
        "payload size mismatch: one byte appended",
        "entry-payload",
        "PayloadError",
        input=h(e2.raw),
        payload=h(p2 + b"\x00"),
    )
    add(
        "payload of another entry",
        "entry-payload",
        "PayloadError",
        input=h(e2.raw),
        payload=h(p1),
    )


def range_cases(add: AddVector, ada: Feed, ben: Feed) -> None:
    """Runs of entries that do not authenticate as one run."""
    ada_id = ada.identity
    e1, _, _ = ada.entries[0]
    e2, p2, _ = ada.entries[1]
    e3, _, _ = ada.entries[2]
    broken3 = create_entry(
        ada_id, seq=3, prev=e1.id, claimed_ms=e3.claimed_ms, type="post", payload=p2
    )
    add(
        "broken chain link: entry 3 names entry 1 as prev",
        "range",
        "ChainError",
        entries=[h(e1.raw), h(e2.raw), h(broken3.raw)],
    )
    add("gap in the run: entries 1 and 3", "range", "ChainError", entries=[h(e1.raw), h(e3.raw)])
    add(
        "entries out of order",
        "range",
        "ChainError",
        entries=[h(e2.raw), h(e1.raw)],
    )
    add(
        "mixed authors",
        "range",
        "ChainError",
        entries=[h(ben.entries[0][0].raw), h(e2.raw)],
    )
    tampered2 = flip_bit(e2.raw, len(e2.raw) - 1)
    add(
        "tampered middle entry breaks the link to the next one",
        "range",
        "ChainError",
        entries=[h(e1.raw), h(tampered2), h(e3.raw)],
    )
    add(
        "valid links but the last entry's signature is bad",
        "range",
        "SignatureError",
        entries=[h(e1.raw), h(e2.raw), h(flip_bit(e3.raw, len(e3.raw) - 1))],
    )
