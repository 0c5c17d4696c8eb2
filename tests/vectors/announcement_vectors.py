"""The head announcement vectors of network.json (docs/protocol.md section 21): messages
and their ids, data that is not an announcement and its ids, topic names that stand for
no feed, and announcements that must be rejected.
"""

from __future__ import annotations

from typing import Any

import cbor2
from vector_helpers import (
    SEED_RFC8032,
    T0,
    AddVector,
    Feed,
    assemble,
    fields8,
    flip_bit,
    h,
    oversized_entry,
)

from lndesk import canonical
from lndesk.entry import create_entry
from lndesk.identity import Identity, blake2b_256
from lndesk.p2p.announce import MAX_ANNOUNCEMENT_SIZE, TOPIC_PREFIX, feed_topic


def announcement(author: bytes, entry: bytes, payload: bytes | None) -> bytes:
    doc = {"author": author, "entry": entry}
    if payload is not None:
        doc["payload"] = payload
    return canonical.encode(doc)


def empty_payload_entry() -> tuple[bytes, bytes]:
    """Entry 1 of the RFC 8032 key: an unknown type with an empty payload."""
    entry = create_entry(
        Identity(SEED_RFC8032), seq=1, prev=None, claimed_ms=T0, type="x-ping", payload=b""
    )
    return entry.raw, b""


def announcements_json(ada: Feed, ben: Feed) -> list[dict[str, Any]]:
    empty_entry, empty = empty_payload_entry()
    cases = [
        ("head with its payload", ada.entries[7][0].raw, ada.entries[7][1]),
        ("head without its payload", ada.entries[1][0].raw, None),
        ("head of another feed, with payload", ben.entries[1][0].raw, ben.entries[1][1]),
        ("empty payload, carried", empty_entry, empty),
        ("empty payload, not carried", empty_entry, None),
    ]
    out = []
    for name, raw, payload in cases:
        author = raw[4:36]
        data = announcement(author, raw, payload)
        out.append(
            {
                "name": name,
                "author": h(author),
                "entry": h(raw),
                "payload": None if payload is None else h(payload),
                "topic": feed_topic(author),
                "message": h(data),
                "message_id": h(blake2b_256(raw)),
            }
        )
    return out


def odd_message_ids() -> list[dict[str, Any]]:
    """Message ids of data that is not laid out as an announcement."""
    out = []
    for name, data in [
        ("empty data", b""),
        ("not CBOR", b"\xff"),
        ("a map without entry", canonical.encode({"author": bytes(32)})),
        ("over the size cap", b"\x00" * (MAX_ANNOUNCEMENT_SIZE + 8)),
    ]:
        msg_id = b"\x00" + blake2b_256(data[: MAX_ANNOUNCEMENT_SIZE + 1])
        out.append({"name": name, "data": h(data), "message_id": h(msg_id)})
    return out


def not_topics(ada: Feed) -> list[dict[str, Any]]:
    key = ada.identity.public_key.hex()
    return [
        {"name": "upper-case hex", "topic": TOPIC_PREFIX + key.upper()},
        {"name": "version 2 prefix", "topic": "lndesk/feed/2/" + key},
        {"name": "leading slash", "topic": "/" + TOPIC_PREFIX + key},
        {"name": "31-byte key", "topic": TOPIC_PREFIX + key[:62]},
        {"name": "33-byte key", "topic": TOPIC_PREFIX + key + "00"},
        {"name": "trailing slash", "topic": TOPIC_PREFIX + key + "/"},
        {"name": "not hex", "topic": TOPIC_PREFIX + "zz" + key[2:]},
        {"name": "key text instead of hex", "topic": TOPIC_PREFIX + ada.identity.key_text},
    ]


def announcement_cases(add: AddVector, ada: Feed, ben: Feed) -> None:
    a, b = ada.identity.public_key, ben.identity.public_key
    entry, payload = ada.entries[7][0].raw, ada.entries[7][1]
    topic = feed_topic(a)

    def bad(name: str, error: str, data: bytes, on: str | None = topic) -> None:
        add(name, "announcement", error, input=h(data), topic=on)

    blob = create_entry(
        ada.identity,
        seq=9,
        prev=ada.entries[7][0].id,
        claimed_ms=T0,
        type="x-blob",
        payload=b"a" * MAX_ANNOUNCEMENT_SIZE,
    )
    bad(
        "over 8192 bytes",
        "SizeError",
        announcement(a, blob.raw, b"a" * MAX_ANNOUNCEMENT_SIZE),
    )
    bad("empty", "DecodeError", b"")
    bad(
        "not deterministic CBOR: keys out of order",
        "DecodeError",
        cbor2.dumps({"author": a, "entry": entry}),
    )
    bad("trailing bytes", "DecodeError", announcement(a, entry, None) + b"\x00")
    bad("not a map", "DecodeError", cbor2.dumps([a, entry]))
    bad("no entry", "DecodeError", cbor2.dumps({"author": a}))
    bad("no author", "DecodeError", cbor2.dumps({"entry": entry}))
    bad("extra key", "DecodeError", canonical.encode({"author": a, "entry": entry, "seq": 8}))
    bad(
        "payload is null",
        "DecodeError",
        canonical.encode({"author": a, "entry": entry, "payload": None}),
    )
    bad(
        "payload is text",
        "DecodeError",
        canonical.encode({"author": a, "entry": entry, "payload": "x"}),
    )
    bad("author of 31 bytes", "DecodeError", canonical.encode({"author": a[:31], "entry": entry}))
    bad("entry as text", "DecodeError", canonical.encode({"author": a, "entry": entry.hex()}))
    bad("entry of 513 bytes", "DecodeError", canonical.encode({"author": a, "entry": bytes(513)}))
    bad(
        "entry is not an entry",
        "DecodeError",
        canonical.encode({"author": a, "entry": b"\x89" + bytes(70)}),
    )
    bad("author is not the entry's", "DecodeError", announcement(b, entry, None), on=feed_topic(b))
    bad(
        "sent on another feed's topic",
        "DecodeError",
        announcement(a, entry, None),
        on=feed_topic(b),
    )
    bad(
        "signature does not verify",
        "SignatureError",
        announcement(a, flip_bit(entry, len(entry) - 1), None),
    )
    bad("payload does not match", "PayloadError", announcement(a, entry, payload + b"\x00"))
    big = oversized_entry(ada)
    bad("entry commits to a payload of 65537 bytes", "SizeError", announcement(a, big, None))
    # assemble() with a wrong key: signed by Ben, naming Ada.
    forged = assemble(
        ben.identity, cbor2.dumps(fields8(ada.identity, 9, ada.entries[7][0].id, T0, "post", b""))
    )
    bad("signed by another key than the author", "SignatureError", announcement(a, forged, None))
