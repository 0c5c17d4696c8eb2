"""The positive vectors: keys, deterministic CBOR, entries, content, key files, log files
and backups. Each function returns the document of one JSON file."""

from __future__ import annotations

import hashlib
from typing import Any

import cbor2
import nacl.pwhash
import nacl.secret
from vector_helpers import (
    LOG_ID,
    RECEIVED_MS,
    SEED_ADA,
    SEED_BEN,
    SEED_PSEUDONYM,
    SEED_RFC8032,
    SEED_ZERO,
    Feed,
    entry_json,
    fork_of_ben,
    h,
    nested,
    parsed_value,
    to_desc,
)

from lndesk import canonical
from lndesk.content import Post, encode_content, parse_content
from lndesk.content_fields import normalize_tag
from lndesk.identity import Identity
from lndesk.keyfile import encode_key_file
from lndesk.keytext import key_to_link, key_to_text
from lndesk.pseudonyms import reveal_proof
from lndesk.store.logfile import (
    KIND_ENTRY,
    KIND_FORK_PROOF,
    MAGIC,
    Record,
    encode_record,
    purged_record,
)


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
            "Signed entry chains. For every entry: 'content' (a described value) encodes "
            "to 'payload' in deterministic CBOR; "
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
    pseudonym = Identity(SEED_PSEUDONYM)
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
        (
            "post, a question mentioning two people",
            "post",
            {"text": "Who has tried this?", "question": True, "mentions": [key, ref[2]]},
        ),
        ("post, question false and mentions null", "post", {"text": "Hi", "question": False}),
        (
            "reply, mentioning",
            "reply",
            {"text": "Yes", "root": ref, "parent": ref, "mentions": [key]},
        ),
        ("edit", "edit", {"ref": ref, "text": "Hi, corrected", "tags": ["maths"]}),
        (
            "readinglist, first version",
            "readinglist",
            {
                "title": "Start here",
                "items": [{"ref": ref, "note": "the basics"}, {"link": "https://example.org/"}],
            },
        ),
        ("readinglist, an update", "readinglist", {"title": "Start here", "items": [], "of": ref}),
        ("webshare, link only", "webshare", {"link": "https://blog.example/2026/retrieval"}),
        (
            "webshare, every field",
            "webshare",
            {
                "link": "https://blog.example/2026/retrieval",
                "title": "Retrieval practice works",
                "source": "https://blog.example/feed.xml",
                "guid": "tag:blog.example,2026:retrieval",
                "comment": "Worth reading before Monday's class.",
                "tags": ["pedagogy"],
            },
        ),
        ("helpful", "helpful", {"ref": ref, "root": [key, 3, bytes(range(32))]}),
        (
            "reveal",
            "reveal",
            {"key": pseudonym.public_key, "proof": reveal_proof(pseudonym, key)},
        ),
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
                "expected": to_desc(parsed_value(parsed)),
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
            "Payloads that parse as the given content type to 'expected', a described "
            "value: for a known type a map of every field of the parsed content by name, "
            "fields absent from the payload at their defaults (empty text, empty arrays, "
            "empty bytes, false, null), references as [author, seq, id], reading-list items "
            "as maps of ref, link and note; for an unknown type the payload's value. "
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


def logfile_doc(ada: Feed, ben: Feed) -> dict[str, Any]:
    e1, p1, _ = ada.entries[0]
    e2, p2, _ = ada.entries[1]
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
    first = Record(len(header), KIND_ENTRY, RECEIVED_MS, e1.raw, p1)
    prefix, size = purged_record(first)
    purged = prefix + bytes(size - len(prefix))
    damaged = bytearray(whole)
    damaged[last_start + 8 + 3] ^= 0x01  # a byte of the last record's received_ms
    filling = encode_record(KIND_ENTRY, RECEIVED_MS + 3, e2.raw, p2)
    deleted = encode_record(KIND_ENTRY, RECEIVED_MS + 4, e1.raw, None, purged=True)
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
        "purged": {
            "name": "the first record after its payload was purged (section 14.4)",
            "flags": 2,
            "padding": len(p1),
            "record": h(purged),
            "file": h(header + purged + whole[len(header) + size :]),
        },
        "filled": {
            "name": (
                "the file with a fourth record: the second record's entry again, with its "
                "payload, which fills that hole (sections 6, 14.2)"
            ),
            "offset": len(whole),
            "record": h(filling),
            "file": h(whole + filling),
            "payload": h(p2),
        },
        "deleted_on_arrival": {
            "name": (
                "an entry appended already deleted: PURGED set and nothing after the entry "
                "(section 14.4)"
            ),
            "flags": 2,
            "record": h(deleted),
        },
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
