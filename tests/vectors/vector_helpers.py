"""Shared helpers of the vector generator: fixed inputs, the tagged JSON description of
CBOR values, entry assembly and the two example feeds.

The tagged JSON form (see generate.py) describes a CBOR value so that it can be rebuilt
exactly in any language; to_desc writes it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from typing import Any

import cbor2

from lndesk import canonical
from lndesk.content import (
    Content,
    Follow,
    ListItem,
    Post,
    Profile,
    Reply,
    Share,
    Tombstone,
    Unfollow,
    Unknown,
    encode_content,
)
from lndesk.entry import SIGNATURE_CONTEXT, Entry, create_entry
from lndesk.entry_refs import Ref
from lndesk.identity import Identity, blake2b_256

SEED_ADA = bytes(range(32))
SEED_BEN = b"\x42" * 32
SEED_PSEUDONYM = b"\x50" * 32
"""A pseudonym's seed (the reveal vector: Ben reveals it)."""
SEED_ZERO = bytes(32)
SEED_RFC8032 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
MINUTE = 60_000
RECEIVED_MS = T0 + 3_600_000
LOG_ID = bytes(range(0xA0, 0xB0))

# The order of the Ed25519 group (RFC 8032 section 5.1): S must be below it.
ED25519_L = 2**252 + 27742317777372353535851937790883648493


# One negative vector: add(name, decoder, error, **fields).
AddVector = Callable[..., None]


# --- helpers -------------------------------------------------------------------


def h(data: bytes) -> str:
    return data.hex()


def to_desc(value: Any) -> Any:
    """A Python CBOR value as the tagged JSON description (maps keep insertion order)."""
    if value is None:
        return {"null": None}
    if value is True or value is False:
        return {"bool": value}
    if type(value) is int:
        return {"int": str(value)}
    if type(value) is bytes:
        return {"bytes": value.hex()}
    if type(value) is str:
        return {"text": value}
    if type(value) is list:
        return {"array": [to_desc(item) for item in value]}
    if type(value) is dict:
        return {"map": [[key, to_desc(item)] for key, item in value.items()]}
    raise TypeError(type(value))


def ref_of(entry: Entry) -> Ref:
    return Ref(entry.author, entry.seq, entry.id)


def ref_value(ref: Ref) -> list[Any]:
    """A reference as it is encoded: [author, seq, id]."""
    return [ref.author, ref.seq, ref.id]


def _plain(value: Any) -> Any:
    if isinstance(value, Ref):
        return ref_value(value)
    if isinstance(value, ListItem):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if type(value) is tuple:
        return [_plain(item) for item in value]
    return value


def parsed_value(content: Content) -> Any:
    """What a payload parses to, as a plain CBOR value: for a known type a map of every
    field by name (defaults included, references as [author, seq, id], reading-list items
    as maps of ref, link and note, absent ones null); for an unknown type its value."""
    if isinstance(content, Unknown):
        return content.value
    return {
        f.name: _plain(getattr(content, f.name))
        for f in dataclasses.fields(content)
        if f.name != "type"
    }


def typed_input(decoder: str, fields: dict[str, Any]) -> dict[str, Any]:
    """A negative vector's fields with ``input`` in the tagged form: text for the decoders
    of what people type, a byte string (given here in hex) for every other decoder."""
    if "input" not in fields:
        return fields
    value = fields["input"]
    kind = "text" if decoder in TEXT_DECODERS else "bytes"
    return {**fields, "input": {kind: value}}


# Decoders whose input is text, not bytes.
TEXT_DECODERS = frozenset({"key-text", "share-link", "backup-words"})


def assemble(identity: Identity, unsigned: bytes, signature: bytes | None = None) -> bytes:
    """An entry from the encoding of its first eight fields (an 8-element array).

    Signs exactly what a verifier would check, so that a vector made with this fails
    only for the fault it is meant to show.
    """
    assert unsigned[0] == 0x88
    if signature is None:
        signature = identity.sign(SIGNATURE_CONTEXT + unsigned)
    return b"\x89" + unsigned[1:] + b"\x58\x40" + signature


def fields8(
    identity: Identity,
    seq: int,
    prev: bytes | None,
    claimed_ms: int,
    type_: str,
    payload: bytes,
    version: int = 1,
) -> list[Any]:
    return [
        version,
        identity.public_key,
        seq,
        prev,
        claimed_ms,
        type_,
        blake2b_256(payload),
        len(payload),
    ]


def signed_entry(identity: Identity, fields: list[Any]) -> bytes:
    return assemble(identity, cbor2.dumps(fields))


def flip_bit(data: bytes, index: int, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[index] ^= 1 << bit
    return bytes(out)


def nested(depth: int, inner: Any) -> Any:
    value = inner
    for _ in range(depth):
        value = [value]
    return value


def nested_maps(depth: int) -> Any:
    value: Any = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value


# --- the feeds -------------------------------------------------------------------


class Feed:
    def __init__(self, seed: bytes) -> None:
        self.identity = Identity(seed)
        self.entries: list[tuple[Entry, bytes, Content]] = []

    def add(self, content: Content, claimed_ms: int) -> Entry:
        payload = encode_content(content)
        entry = create_entry(
            self.identity,
            seq=len(self.entries) + 1,
            prev=self.entries[-1][0].id if self.entries else None,
            claimed_ms=claimed_ms,
            type=content.type,
            payload=payload,
        )
        self.entries.append((entry, payload, content))
        return entry


def build_feeds() -> tuple[Feed, Feed]:
    ada = Feed(SEED_ADA)
    ben = Feed(SEED_BEN)
    ada.add(Profile("Ada", "Teaches maths at a village school."), T0)
    lesson = ada.add(
        Post(
            "Fractions with paper strips: a lesson plan for ages 8 to 10.",
            ("maths", "pedagogy"),
            ("https://example.org/strips",),
        ),
        T0 + 1 * MINUTE,
    )
    hello = ben.add(Post("Hello from Ben. I teach physics."), T0 + 2 * MINUTE)
    ben.add(
        Reply("Tried it today, the class loved it.", ref_of(lesson), ref_of(lesson), ("maths",)),
        T0 + 3 * MINUTE,
    )
    ada.add(Follow(ben.identity.public_key), T0 + 4 * MINUTE)
    note = ada.add(
        Reply("The worksheet is in the next post.", ref_of(lesson), ref_of(lesson)),
        T0 + 5 * MINUTE,
    )
    ada.add(Share(ref_of(hello), "Ben writes about physics labs."), T0 + 6 * MINUTE)
    ada.add(Tombstone(ref_of(note)), T0 + 7 * MINUTE)
    ada.add(Unfollow(ben.identity.public_key), T0 + 8 * MINUTE)
    ada.add(
        Unknown("x-poll", {"question": "Best time for a call?", "options": ["9:00", "17:00"]}),
        T0 + 9 * MINUTE,
    )
    return ada, ben


def entry_json(entry: Entry, payload: bytes, content: Content, seed: bytes) -> dict[str, Any]:
    signed = SIGNATURE_CONTEXT + b"\x88" + entry.raw[1:-66]
    assert signed == entry.signed_message()
    assert Identity(seed).sign(signed) == entry.signature
    assert blake2b_256(entry.raw) == entry.id
    assert hashlib.blake2b(payload, digest_size=32).digest() == entry.payload_hash
    return {
        "seq": entry.seq,
        "prev": None if entry.prev is None else h(entry.prev),
        "claimed_ms": entry.claimed_ms,
        "type": entry.type,
        "content": to_desc(canonical.decode(payload)),
        "payload": h(payload),
        "payload_hash": h(entry.payload_hash),
        "payload_size": entry.payload_size,
        "signed_message": h(signed),
        "signature": h(entry.signature),
        "entry": h(entry.raw),
        "id": h(entry.id),
    }


def fork_of_ben(ben: Feed) -> Entry:
    """Ben's second, conflicting entry 2: with his first entry 2 it is a fork."""
    return create_entry(
        ben.identity,
        seq=2,
        prev=ben.entries[0][0].id,
        claimed_ms=T0 + 10 * MINUTE,
        type="post",
        payload=encode_content(Post("A different second entry.")),
    )


def oversized_entry(ada: Feed) -> bytes:
    """Ada's entry 1, validly signed, committing to a payload of 65537 bytes."""
    fields = fields8(ada.identity, 1, None, T0, "x-blob", b"")
    return signed_entry(ada.identity, [*fields[:7], 65537])
