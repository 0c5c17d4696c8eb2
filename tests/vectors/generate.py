"""Write the known-answer test vectors of docs/protocol.md.

Run from the project root::

    python tests/vectors/generate.py

Everything is derived from fixed seeds, fixed timestamps and fixed nonces (Ed25519
signatures are deterministic), so running this again writes byte-identical files.
Every byte string in the JSON files is lowercase hex.

CBOR values that are not lndesk structures are described in a small tagged JSON form,
so that a value can be rebuilt exactly in any language:

* ``{"int": "-25"}`` an integer (decimal text, so 64-bit values survive JSON parsers);
* ``{"bytes": "00ff"}`` a byte string; ``{"text": "..."}`` a text string;
* ``{"array": [...]}`` an array of described values;
* ``{"map": [["key", value], ...]}`` a map with text keys, pairs in the order given
  (deliberately not always the canonical order: encoding must sort them);
* ``{"bool": true}``, ``{"null": null}``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import cbor2
import nacl.pwhash
import nacl.secret

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lndesk import canonical  # noqa: E402
from lndesk.content import (  # noqa: E402
    Content,
    Follow,
    Post,
    Profile,
    Ref,
    Reply,
    Share,
    Tombstone,
    Unfollow,
    Unknown,
    encode_content,
    normalize_tag,
    parse_content,
)
from lndesk.entry import SIGNATURE_CONTEXT, Entry, create_entry  # noqa: E402
from lndesk.errors import BackupWordsError  # noqa: E402
from lndesk.identity import Identity, blake2b_256  # noqa: E402
from lndesk.keyfile import encode_key_file  # noqa: E402
from lndesk.keytext import key_to_link, key_to_text  # noqa: E402
from lndesk.store.logfile import (  # noqa: E402
    KIND_ENTRY,
    KIND_FORK_PROOF,
    MAGIC,
    encode_record,
)

OUT = Path(__file__).resolve().parent

SEED_ADA = bytes(range(32))
SEED_BEN = b"\x42" * 32
SEED_ZERO = bytes(32)
SEED_RFC8032 = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in milliseconds
MINUTE = 60_000
RECEIVED_MS = T0 + 3_600_000
LOG_ID = bytes(range(0xA0, 0xB0))

# The order of the Ed25519 group (RFC 8032 section 5.1): S must be below it.
ED25519_L = 2**252 + 27742317777372353535851770264664883706


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


def ref_json(ref: Ref) -> dict[str, Any]:
    return {"author": h(ref.author), "seq": ref.seq, "id": h(ref.id)}


def ref_of(entry: Entry) -> Ref:
    return Ref(entry.author, entry.seq, entry.id)


def content_json(content: Content) -> dict[str, Any]:
    match content:
        case Post(text, tags, links):
            return {"type": "post", "text": text, "tags": list(tags), "links": list(links)}
        case Reply(text, root, parent, tags, links):
            return {
                "type": "reply",
                "text": text,
                "root": ref_json(root),
                "parent": ref_json(parent),
                "tags": list(tags),
                "links": list(links),
            }
        case Follow(feed) | Unfollow(feed):
            return {"type": content.type, "feed": h(feed)}
        case Profile(name, bio, avatar):
            return {"type": "profile", "name": name, "bio": bio, "avatar": h(avatar)}
        case Share(ref, comment):
            return {"type": "share", "ref": ref_json(ref), "comment": comment}
        case Tombstone(ref):
            return {"type": "tombstone", "ref": ref_json(ref)}
        case Unknown(type_, value):
            return {"type": type_, "value": to_desc(value)}
    raise TypeError(content)


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


def write(name: str, doc: dict[str, Any]) -> None:
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    (OUT / name).write_text(text, encoding="utf-8", newline="\n")


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
        "content": content_json(content),
        "payload": h(payload),
        "payload_hash": h(entry.payload_hash),
        "payload_size": entry.payload_size,
        "signed_message": h(signed),
        "signature": h(entry.signature),
        "entry": h(entry.raw),
        "id": h(entry.id),
    }


# --- files -----------------------------------------------------------------------


def keys_doc() -> dict[str, Any]:
    vectors = []
    for name, seed, display in [
        ("bytes 0..31", SEED_ADA, "Ada Lovelace"),
        ("32 bytes of 0x42", SEED_BEN, "Zoë Ben"),
        ("32 zero bytes (BIP-39 reference vector)", SEED_ZERO, None),
        ("RFC 8032 section 7.1 test 1 secret key", SEED_RFC8032, None),
    ]:
        identity = Identity(seed)
        text = key_to_text(identity.public_key)
        vectors.append(
            {
                "name": name,
                "seed": h(seed),
                "public_key": h(identity.public_key),
                "checksum": h(
                    hashlib.blake2b(
                        identity.public_key, digest_size=4, person=b"lndesk-key"
                    ).digest()
                ),
                "key_text": text,
                "share_link_name": display,
                "share_link": key_to_link(identity.public_key, display),
                "backup_words": identity.backup_words(),
            }
        )
    ada_text = vectors[0]["key_text"]
    accepted = [
        {"input": ada_text.upper(), "public_key": vectors[0]["public_key"], "name": None},
        {"input": f"  {ada_text}\n", "public_key": vectors[0]["public_key"], "name": None},
        {
            "input": f"lndesk://feed/{ada_text}/",
            "public_key": vectors[0]["public_key"],
            "name": None,
        },
        {
            "input": vectors[1]["share_link"],
            "public_key": vectors[1]["public_key"],
            "name": "Zoë Ben",
        },
        {
            "input": vectors[0]["share_link"],
            "public_key": vectors[0]["public_key"],
            "name": "Ada Lovelace",
        },
    ]
    return {
        "suite": "keys",
        "description": (
            "Seed -> Ed25519 public key, key text (lnd1 + base32 of key and 4-byte "
            "checksum), share link and 24 BIP-39 backup words. 'accepted' lists other "
            "forms that parse to the same key (parse_key_or_link)."
        ),
        "vectors": vectors,
        "accepted": accepted,
    }


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


def cbor_doc() -> dict[str, Any]:
    values: list[tuple[str, Any]] = [
        ("uint 0", 0),
        ("uint 23, the largest one-byte integer", 23),
        ("uint 24 needs a one-byte argument", 24),
        ("uint 255", 255),
        ("uint 256", 256),
        ("uint 65535", 65535),
        ("uint 65536", 65536),
        ("uint 2^32-1", 2**32 - 1),
        ("uint 2^32", 2**32),
        ("uint 2^53-1, the largest seq and timestamp", 2**53 - 1),
        ("uint 2^64-1, the largest integer", 2**64 - 1),
        ("nint -1", -1),
        ("nint -24", -24),
        ("nint -25", -25),
        ("nint -2^64, the smallest integer", -(2**64)),
        ("false", False),
        ("true", True),
        ("null", None),
        ("empty byte string", b""),
        ("byte string", bytes.fromhex("01020304")),
        ("32-byte string", bytes(range(32))),
        ("empty text", ""),
        ("text", "IETF"),
        ("text with a 2-byte UTF-8 character", "ü"),
        ("text with a 3-byte UTF-8 character", "水"),
        ("text of 24 bytes", "abcdefghijklmnopqrstuvwx"),
        ("empty array", []),
        ("nested array", [1, [2, 3], [4, 5]]),
        ("array of 25 items", list(range(1, 26))),
        ("empty map", {}),
        ("map keys sorted: shorter first", {"bb": 1, "a": 2, "ccc": 3}),
        ("map keys sorted: same length, bytewise", {"b": 1, "a": 2, "B": 3}),
        ("map with the empty key, which sorts first", {"a": 1, "": 2}),
        (
            "map keys sorted by UTF-8 byte length, not character count",
            {"é": 1, "z": 2, "aa": 3},
        ),
        (
            "map keys: 24-byte key after 23-byte key",
            {"abcdefghijklmnopqrstuvwx": 1, "abcdefghijklmnopqrstuvw": 2},
        ),
        ("map nested in array", [{"text": "hi", "tags": ["a"]}]),
        (
            "plain key file layout",
            {"format": "lndesk-key", "version": 1, "public": b"\x01" * 32, "seed": b"\x02" * 32},
        ),
        ("deepest nesting: 16 arrays around an integer", nested(16, 0)),
        ("deepest nesting: 16 arrays, the innermost empty", nested(15, [])),
    ]
    vectors = []
    for name, value in values:
        encoded = canonical.encode(value)
        assert cbor2.loads(encoded) == value
        vectors.append({"name": name, "value": to_desc(value), "hex": h(encoded)})
    return {
        "suite": "cbor",
        "description": (
            "Deterministic CBOR: the described value encodes to exactly 'hex', and 'hex' "
            "decodes to the described value. Map pairs are listed in input order; the "
            "encoding sorts keys by their encoded bytes."
        ),
        "vectors": vectors,
    }


def entries_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    feeds = []
    for name, feed, seed in [("Ada", ada, SEED_ADA), ("Ben", ben, SEED_BEN)]:
        feeds.append(
            {
                "name": name,
                "seed": h(seed),
                "author": h(feed.identity.public_key),
                "entries": [entry_json(e, p, c, seed) for e, p, c in feed.entries],
            }
        )
    # A fork: Ben signs a second, different entry 2. Both verify; the ids differ.
    ben_fork = fork_of_ben(ben)
    fork_payload = encode_content(Post("A different second entry."))
    ada_raw = [h(e.raw) for e, _, _ in ada.entries]
    return {
        "suite": "entries",
        "description": (
            "Signed entry chains. For every entry: 'content' encodes to 'payload'; "
            "'payload_hash' is BLAKE2b-256 of it; the author's key signs 'signed_message' "
            "(context || 0x88 || entry[1:-66]) giving 'signature'; 'entry' is the 9-element "
            "array; 'id' is BLAKE2b-256 of 'entry'; 'prev' is the previous entry's id. "
            "'ranges' are contiguous runs that authenticate with the last entry's signature "
            "alone (payloads absent). 'forks' are two validly signed entries at one seq."
        ),
        "feeds": feeds,
        "ranges": [
            {"name": "all of Ada's entries", "entries": ada_raw},
            {"name": "Ada's entries 3 to 6", "entries": ada_raw[2:6]},
            {"name": "a single entry", "entries": ada_raw[:1]},
            {"name": "Ben's entries", "entries": [h(e.raw) for e, _, _ in ben.entries]},
        ],
        "forks": [
            {
                "name": "Ben signed two different entries 2",
                "author": h(ben.identity.public_key),
                "seq": 2,
                "first": h(ben.entries[1][0].raw),
                "second": h(ben_fork.raw),
                "second_payload": h(fork_payload),
            }
        ],
    }


def content_doc() -> dict[str, Any]:
    key = Identity(SEED_BEN).public_key
    ref = [key, 1, bytes(range(0x80, 0xA0))]
    parse_cases: list[tuple[str, str, Any]] = [
        ("post, minimal", "post", {"text": "Hi"}),
        (
            "post, unknown keys are ignored",
            "post",
            {"text": "Hi", "lang": "en", "x-mood": ["calm"]},
        ),
        ("post, empty tag and link lists", "post", {"text": "Hi", "tags": [], "links": []}),
        ("post, optional lists null", "post", {"text": "Hi", "tags": None, "links": None}),
        (
            "post, lndesk link",
            "post",
            {"text": "Follow Ben", "links": ["lndesk://feed/" + key_to_text(key)]},
        ),
        (
            "post, tags need not be in normal form",
            "post",
            {"text": "Hi", "tags": ["Maths", "e\u0301cole", "\u01c4emal", "STRASSE"]},
        ),
        (
            "post, tags with '#' inside, format and unassigned characters",
            "post",
            {"text": "Hi", "tags": ["c#", "a#b#", "zero\u200bwidth", "\u180e", "\U000e0fff"]},
        ),
        ("post, tag of 64 characters", "post", {"text": "Hi", "tags": ["\u00df" * 64]}),
        (
            "post, links are not parsed as URIs",
            "post",
            {
                "text": "Hi",
                "links": [
                    "http://[::1/",
                    "https://[::1]/x",
                    "https://a\uff03b/",
                    "lndesk://x",
                    "https://?q",
                    "http://caf\u00e9.example/\u65e5\u672c",
                ],
            },
        ),
        (
            "post, link of 2048 characters",
            "post",
            {"text": "Hi", "links": ["https://example.org/" + "a" * 2028]},
        ),
        ("profile, name only", "profile", {"name": "Ben"}),
        ("profile, optional fields null", "profile", {"name": "Ben", "bio": None, "avatar": None}),
        ("profile, with avatar", "profile", {"name": "Ben", "avatar": b"\x89PNG\r\n\x1a\n"}),
        ("share without comment", "share", {"ref": ref}),
        ("tombstone", "tombstone", {"ref": ref}),
        ("follow", "follow", {"feed": key}),
        ("unknown type, map payload", "x-event", {"when": 1767225600000}),
        ("unknown type, non-map payload", "x.list", [1, "two", b"\x03"]),
    ]
    vectors = []
    for name, type_, value in parse_cases:
        payload = canonical.encode(value)
        parsed = parse_content(type_, payload)
        vectors.append(
            {
                "name": name,
                "content_type": type_,
                "payload": h(payload),
                "expected": content_json(parsed),
            }
        )
    tags = []
    for raw in [
        "#Pedagogy ",
        "Maths",
        "##STEM",
        "Straße",
        "\u01c4emal",  # LATIN CAPITAL LETTER DZ WITH CARON
        "\uff26\uff35\uff2c\uff2c",  # fullwidth FULL: case folding keeps the width
        "e\u0301cole",  # decomposed: NFC composes it
        "\u01f0",  # case folding decomposes it, NFC composes it again
    ]:
        tags.append({"input": raw, "normalized": normalize_tag(raw)})
    return {
        "suite": "content",
        "description": (
            "Payloads that parse as the given content type to 'expected' (fields absent from "
            "the payload take their defaults: empty text, empty lists, empty bytes). "
            "Tags need not be in normal form and links are not parsed as URIs. 'tags' "
            "shows the tag normal form writers produce (normalize_tag): strip white space, "
            "strip leading '#', then lowercase (ASCII) or NFC(casefold(t)) to a fixpoint."
        ),
        "vectors": vectors,
        "tags": tags,
    }


def keyfile_doc() -> dict[str, Any]:
    ada = Identity(SEED_ADA)
    ben = Identity(SEED_BEN)
    plain = encode_key_file(ada)
    passphrase = "correct horse battery staple"
    salt = bytes(range(0x10, 0x20))
    nonce = bytes(range(0x30, 0x48))
    opslimit, memlimit = 2, 65536
    key = nacl.pwhash.argon2id.kdf(
        32, passphrase.encode(), salt, opslimit=opslimit, memlimit=memlimit
    )
    sealed = bytes(nacl.secret.SecretBox(key).encrypt(ben.seed, nonce))
    sealed_file = canonical.encode(
        {
            "format": "lndesk-key",
            "version": 1,
            "public": ben.public_key,
            "kdf": "argon2id13",
            "salt": salt,
            "opslimit": opslimit,
            "memlimit": memlimit,
            "sealed": sealed,
        }
    )
    return {
        "suite": "keyfile",
        "description": (
            "Key files. The plain one holds the seed; the sealed one holds "
            "SecretBox(argon2id(passphrase, salt)).encrypt(seed, nonce) = nonce || tag || "
            "ciphertext. Real key files use a random salt and nonce and "
            "opslimit 3 / memlimit 268435456; these vectors use small limits."
        ),
        "plain": {"seed": h(ada.seed), "public_key": h(ada.public_key), "file": h(plain)},
        "sealed": {
            "seed": h(ben.seed),
            "public_key": h(ben.public_key),
            "passphrase": passphrase,
            "salt": h(salt),
            "opslimit": opslimit,
            "memlimit": memlimit,
            "derived_key": h(key),
            "nonce": h(nonce),
            "sealed": h(sealed),
            "file": h(sealed_file),
        },
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


def logfile_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    e1, p1, _ = ada.entries[0]
    e2, _, _ = ada.entries[1]
    fork = fork_of_ben(ben)
    records = [
        ("entry with its payload", KIND_ENTRY, RECEIVED_MS, e1.raw, p1),
        ("entry whose payload is absent", KIND_ENTRY, RECEIVED_MS + 1, e2.raw, None),
        ("fork proof", KIND_FORK_PROOF, RECEIVED_MS + 2, fork.raw, None),
    ]
    header = MAGIC + LOG_ID
    out = []
    offset = len(header)
    whole = header
    for name, kind, received, entry, payload in records:
        record = encode_record(kind, received, entry, payload)
        out.append(
            {
                "name": name,
                "offset": offset,
                "kind": kind,
                "flags": 0 if payload is None else 1,
                "received_ms": received,
                "entry": h(entry),
                "payload": None if payload is None else h(payload),
                "record": h(record),
            }
        )
        offset += len(record)
        whole += record
    last_start = out[-1]["offset"]
    damaged = bytearray(whole)
    damaged[last_start + 8 + 3] ^= 0x01  # a byte of the last record's received_ms
    return {
        "suite": "logfile",
        "description": (
            "The local log file: 24-byte header (magic, 16-byte log id) then records "
            "'u32 length, u32 CRC-32, body'. 'torn' are files whose scan must stop at "
            "'valid_end' for the stated reason."
        ),
        "log_id": h(LOG_ID),
        "header": h(header),
        "records": out,
        "file": h(whole),
        "torn": [
            {
                "name": "last record cut short",
                "file": h(whole[:-5]),
                "valid_end": last_start,
                "problem": "incomplete record",
            },
            {
                "name": "last record header cut short",
                "file": h(whole[: last_start + 6]),
                "valid_end": last_start,
                "problem": "incomplete record header",
            },
            {
                "name": "last record checksum mismatch",
                "file": h(bytes(damaged)),
                "valid_end": last_start,
                "problem": "record checksum mismatch",
            },
        ],
    }


def backup_doc(ada: Feed) -> dict[str, Any]:
    key_file = encode_key_file(ada.identity)
    items: list[list[bytes | None]] = []
    for entry, payload, _ in ada.entries:
        # The payload of the entry deleted by the tombstone is left out: payloads may be absent.
        items.append([entry.raw, None if entry.seq == 4 else payload])
    doc = {
        "format": "lndesk-backup",
        "version": 1,
        "key": key_file,
        "feed": ada.identity.public_key,
        "entries": items,
    }
    data = canonical.encode(doc)
    return {
        "suite": "backup",
        "description": (
            "A backup file (what `lndesk export` writes): a deterministic CBOR map with the "
            "key file, the feed's public key and every entry with its payload (or null), in "
            "sequence order."
        ),
        "key_file": h(key_file),
        "feed": h(ada.identity.public_key),
        "entries": [[h(e), None if p is None else h(p)] for e, p in items],
        "file": h(data),
    }


# --- negative vectors ------------------------------------------------------------


def negative_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    vectors: list[dict[str, Any]] = []

    def add(name: str, decoder: str, error: str, **fields: Any) -> None:
        vectors.append({"name": name, "decoder": decoder, "error": error, **fields})

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

    # Entries.
    ada_id = ada.identity
    e1, p1, _ = ada.entries[0]
    e2, p2, _ = ada.entries[1]
    e3, _, _ = ada.entries[2]
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

    # Ranges.
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

    # Content types.
    key = ben.identity.public_key
    ref = [key, 1, bytes(range(0x80, 0xA0))]

    def content(name: str, type_: str, value: Any) -> None:
        add(name, "content", "ContentError", content_type=type_, input=h(canonical.encode(value)))

    content("post: payload is not a map", "post", ["Hi"])
    content("post: text missing", "post", {"tags": ["maths"]})
    content("post: text empty", "post", {"text": ""})
    content("post: text only white space", "post", {"text": " \n\t"})
    content(
        "post: text only controls and Unicode white space",
        "post",
        {"text": "\u3000\x1b\u2028\xa0"},
    )
    content("post: text is bytes", "post", {"text": b"Hi"})
    content("post: tag starting with '#'", "post", {"text": "Hi", "tags": ["#maths"]})
    content("post: empty tag", "post", {"text": "Hi", "tags": [""]})
    content("post: tag with a space", "post", {"text": "Hi", "tags": ["two words"]})
    content("post: tag with a tab", "post", {"text": "Hi", "tags": ["two\twords"]})
    content("post: tag with U+3000", "post", {"text": "Hi", "tags": ["two\u3000words"]})
    content("post: tag with U+0085", "post", {"text": "Hi", "tags": ["maths\u0085"]})
    content("post: tag with U+00A0", "post", {"text": "Hi", "tags": ["no\u00a0break"]})
    content("post: tag with U+0001", "post", {"text": "Hi", "tags": ["a\u0001"]})
    content("post: tag with U+007F", "post", {"text": "Hi", "tags": ["a\u007f"]})
    content("post: tag of 65 characters", "post", {"text": "Hi", "tags": ["t" * 65]})
    content("post: 17 tags", "post", {"text": "Hi", "tags": [f"t{i}" for i in range(17)]})
    content("post: tags not a list", "post", {"text": "Hi", "tags": "maths"})
    content("post: link with scheme ftp", "post", {"text": "Hi", "links": ["ftp://example.org/"]})
    content("post: link with '/' right after '//'", "post", {"text": "Hi", "links": ["https:///x"]})
    content("post: link with nothing after '//'", "post", {"text": "Hi", "links": ["https://"]})
    content("post: link with uppercase scheme", "post", {"text": "Hi", "links": ["HTTP://x"]})
    content("post: link with a space", "post", {"text": "Hi", "links": ["https://a.org/a b"]})
    content("post: link with U+007F", "post", {"text": "Hi", "links": ["https://a.org/\u007f"]})
    content("post: link with a newline", "post", {"text": "Hi", "links": ["https://a.org/\n"]})
    content("post: link not a URL", "post", {"text": "Hi", "links": ["example.org"]})
    content(
        "post: link of 2049 characters",
        "post",
        {"text": "Hi", "links": ["https://example.org/" + "a" * 2029]},
    )
    content(
        "post: 17 links",
        "post",
        {"text": "Hi", "links": [f"https://example.org/{i}" for i in range(17)]},
    )
    content("reply: parent missing", "reply", {"text": "Hi", "root": ref})
    content("reply: root of two elements", "reply", {"text": "Hi", "root": ref[:2], "parent": ref})
    content(
        "reply: ref with seq 0",
        "reply",
        {"text": "Hi", "root": ref, "parent": [key, 0, ref[2]]},
    )
    content(
        "reply: ref id of 31 bytes",
        "reply",
        {"text": "Hi", "root": ref, "parent": [key, 1, ref[2][:31]]},
    )
    content("follow: feed of 31 bytes", "follow", {"feed": key[:31]})
    content("follow: feed as key text", "follow", {"feed": key_to_text(key)})
    content("unfollow: feed missing", "unfollow", {})
    content("profile: name missing", "profile", {"bio": "Teacher"})
    content("profile: name only white space", "profile", {"name": "  "})
    content("profile: name of 65 characters", "profile", {"name": "n" * 65})
    content("profile: bio of 1001 characters", "profile", {"name": "Ben", "bio": "b" * 1001})
    content("profile: avatar of 32769 bytes", "profile", {"name": "Ben", "avatar": bytes(32769)})
    content("profile: avatar as text", "profile", {"name": "Ben", "avatar": "ben.png"})
    content("share: ref missing", "share", {"comment": "Look"})
    content("share: comment is a number", "share", {"ref": ref, "comment": 5})
    content("tombstone: ref is a map", "tombstone", {"ref": {"seq": 1}})
    add(
        "post: payload not in deterministic CBOR (keys out of order)",
        "content",
        "ContentError",
        content_type="post",
        input="a2647465787462486964746167738165" + h(b"maths"),
    )
    add(
        "unknown type: payload not in deterministic CBOR",
        "content",
        "ContentError",
        content_type="x-poll",
        input="1817",
    )
    add("post: empty payload", "content", "ContentError", content_type="post", input="")

    # Key text and share links.
    text = key_to_text(ada_id.public_key)
    changed = text[:10] + ("b" if text[10] != "b" else "c") + text[11:]
    add("key text with one character changed", "key-text", "KeyFormatError", input=changed)
    add("key text truncated by one character", "key-text", "KeyFormatError", input=text[:-1])
    add("key text with one character too many", "key-text", "KeyFormatError", input=text + "a")
    add("key text with prefix lnd2", "key-text", "KeyFormatError", input="lnd2" + text[4:])
    add("key text without prefix", "key-text", "KeyFormatError", input=text[4:] + "aaaa")
    add(
        "key text with a character outside base32 ('1')",
        "key-text",
        "KeyFormatError",
        input=text[:-2] + "1" + text[-1],
    )
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    last = alphabet.index(text[-1])
    assert last & 0b11 == 0  # the last two bits of the last character are padding
    add(
        "key text with non-zero padding bits in the last character",
        "key-text",
        "KeyFormatError",
        input=text[:-1] + alphabet[last | 1],
    )
    add("key text empty", "key-text", "KeyFormatError", input="")
    add(
        "share link of something other than a feed",
        "share-link",
        "KeyFormatError",
        input="lndesk://post/" + text,
    )
    add(
        "share link with a mistyped key",
        "share-link",
        "KeyFormatError",
        input="lndesk://feed/" + changed + "?name=Ada",
    )

    # Backup words.
    words = ada_id.backup_words().split()
    swapped = None
    for i in range(len(words) - 1):
        if words[i] == words[i + 1]:
            continue
        candidate = [*words]
        candidate[i], candidate[i + 1] = candidate[i + 1], candidate[i]
        try:
            Identity.from_backup_words(" ".join(candidate))
        except BackupWordsError:
            swapped = candidate
            break
    assert swapped is not None
    add(
        "backup words with two neighbouring words swapped",
        "backup-words",
        "BackupWordsError",
        input=" ".join(swapped),
    )
    add("backup words: 23 words", "backup-words", "BackupWordsError", input=" ".join(words[:-1]))
    add(
        "backup words: 25 words",
        "backup-words",
        "BackupWordsError",
        input=" ".join([*words, words[0]]),
    )
    add(
        "backup words: a word not in the list",
        "backup-words",
        "BackupWordsError",
        input=" ".join(["lndesk", *words[1:]]),
    )
    add(
        "backup words: 12 words (a valid BIP-39 phrase, but not a 32-byte seed)",
        "backup-words",
        "BackupWordsError",
        input=" ".join(["abandon"] * 11 + ["about"]),
    )

    # Key files.
    plain = canonical.decode(encode_key_file(ada_id))
    sealed_doc = canonical.decode(bytes.fromhex(keyfile_doc()["sealed"]["file"]))

    def keyfile(name: str, error: str, doc: Any, passphrase: str | None = None) -> None:
        data = doc if type(doc) is bytes else canonical.encode(doc)
        add(name, "key-file", error, input=h(data), passphrase=passphrase)

    keyfile("key file: not CBOR", "KeyFileError", b"seed")
    keyfile("key file: wrong format name", "KeyFileError", {**plain, "format": "lndesk-keys"})
    keyfile("key file: version 2", "KeyFileError", {**plain, "version": 2})
    keyfile(
        "key file: seed missing", "KeyFileError", {k: v for k, v in plain.items() if k != "seed"}
    )
    keyfile("key file: seed of 31 bytes", "KeyFileError", {**plain, "seed": plain["seed"][:31]})
    keyfile(
        "key file: public key does not match the seed",
        "KeyFileError",
        {**plain, "public": key},
    )
    keyfile(
        "key file: unknown key derivation",
        "KeyFileError",
        {**sealed_doc, "kdf": "scrypt"},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: salt of 15 bytes",
        "KeyFileError",
        {**sealed_doc, "salt": sealed_doc["salt"][:15]},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: opslimit 0",
        "KeyFileError",
        {**sealed_doc, "opslimit": 0},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: opslimit 17",
        "KeyFileError",
        {**sealed_doc, "opslimit": 17},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: memlimit 8191",
        "KeyFileError",
        {**sealed_doc, "memlimit": 8191},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: memlimit 2^30 + 1",
        "KeyFileError",
        {**sealed_doc, "memlimit": 2**30 + 1},
        "correct horse battery staple",
    )
    keyfile(
        "sealed key file: sealed seed of 71 bytes",
        "KeyFileError",
        {**sealed_doc, "sealed": sealed_doc["sealed"][:71]},
        "correct horse battery staple",
    )
    keyfile("sealed key file: no passphrase given", "PassphraseError", sealed_doc)
    keyfile("sealed key file: wrong passphrase", "PassphraseError", sealed_doc, "Correct horse")

    counts: dict[str, int] = {}
    for vector in vectors:
        counts[vector["decoder"]] = counts.get(vector["decoder"], 0) + 1
    return {
        "suite": "negative",
        "description": (
            "Inputs every implementation must reject, each with exactly one fault, with the "
            "decoder it goes to and the error class it must raise. Decoders: 'cbor' decode "
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


def main() -> None:
    ada, ben = build_feeds()
    docs = {
        "keys.json": keys_doc(),
        "cbor.json": cbor_doc(),
        "entries.json": entries_doc(ada, ben),
        "content.json": content_doc(),
        "keyfile.json": keyfile_doc(),
        "logfile.json": logfile_doc(ada, ben),
        "backup.json": backup_doc(ada),
        "negative.json": negative_doc(ada, ben),
    }
    for name, doc in docs.items():
        write(name, doc)


if __name__ == "__main__":
    main()
