"""The known-answer vectors of docs/protocol.md, checked byte for byte.

Every JSON file in tests/vectors is loaded. Positive vectors are rebuilt from their
described inputs and compared with the stored bytes, decoded and compared with the
stored fields, and their signatures verified. Every negative vector must raise exactly
the named error class, not a parent or a sibling. A small independent CBOR encoder below
checks the deterministic-encoding rule itself, not just the library that implements it.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import struct
import zlib
from pathlib import Path
from typing import Any

import nacl.pwhash
import nacl.secret
import nacl.signing
import pytest
from cbor_reference import ref_encode
from mnemonic import Mnemonic
from vector_decoders import DECODERS, rejection
from vector_reading import (
    VECTOR_DIR,
    b,
    check_file_typed,
    content_from,
    from_desc,
    hx,
    input_of,
    load,
    params,
    same,
    same_content,
    sorted_maps,
)

from lndesk import backup, canonical, errors
from lndesk.content import encode_content, parse_content
from lndesk.content_fields import is_valid_tag, normalize_tag
from lndesk.entry import (
    SIGNATURE_CONTEXT,
    Entry,
    authenticate_range,
    create_entry,
    decode_entry,
)
from lndesk.identity import Identity
from lndesk.keyfile import decode_key_file, encode_key_file, is_sealed
from lndesk.keytext import key_from_text, key_to_link, key_to_text, parse_key_or_link
from lndesk.store.ingest import plan_batch
from lndesk.store.logfile import (
    HEADER_SIZE,
    KIND_ENTRY,
    MAGIC,
    LogFile,
    Record,
    ScanEnd,
    encode_record,
    purged_record,
)
from lndesk.store.store import Store

SUITES = {"keys", "cbor", "entries", "content", "keyfile", "logfile", "backup", "negative"}
SUITES.add("network")  # checked by tests/test_network_vectors.py
SUITES.add("ingest")  # checked by tests/test_ingest_vectors.py


def blake2b_256(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=32).digest()


# --- the files as a whole --------------------------------------------------------


def test_every_vector_file_belongs_to_a_checked_suite() -> None:
    files = sorted(VECTOR_DIR.glob("*.json"))
    suites = [load(path.name)["suite"] for path in files]
    assert sorted(suites) == sorted(SUITES)


def test_generator_rewrites_identical_files(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("vector_generator", VECTOR_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.OUT = tmp_path
    module.main()
    written = sorted(path.name for path in tmp_path.glob("*.json"))
    assert written == sorted(path.name for path in VECTOR_DIR.glob("*.json"))
    for name in written:
        assert (tmp_path / name).read_bytes() == (VECTOR_DIR / name).read_bytes(), name


# --- keys --------------------------------------------------------------------------

KEYS = load("keys.json")


@pytest.mark.parametrize("vector", params(KEYS["vectors"]))
def test_key_vector(vector: dict[str, Any]) -> None:
    seed, public_key = hx(vector["seed"]), hx(vector["public_key"])
    identity = Identity(seed)
    assert identity.public_key == public_key
    assert bytes(nacl.signing.SigningKey(seed).verify_key) == public_key

    checksum = hashlib.blake2b(public_key, digest_size=4, person=b"lndesk-key").digest()
    assert checksum == hx(vector["checksum"])
    text = vector["key_text"]
    assert text.startswith("lnd1")
    assert len(text) == 62
    assert base64.b32decode(text[4:].upper() + "======") == public_key + checksum
    assert key_to_text(public_key) == text
    assert identity.key_text == text
    assert key_from_text(text) == public_key

    name = vector["share_link_name"]
    assert key_to_link(public_key, name) == vector["share_link"]
    assert identity.share_link(name) == vector["share_link"]
    assert parse_key_or_link(vector["share_link"]) == (public_key, name)

    words = vector["backup_words"]
    assert len(words.split()) == 24
    assert identity.backup_words() == words
    assert bytes(Mnemonic("english").to_entropy(words)) == seed
    assert Identity.from_backup_words(words).seed == seed


@pytest.mark.parametrize("vector", KEYS["accepted"], ids=lambda v: repr(v["input"]))
def test_key_accepted_forms(vector: dict[str, Any]) -> None:
    assert parse_key_or_link(vector["input"]) == (hx(vector["public_key"]), vector["name"])


@pytest.mark.parametrize("name", sorted(p.name for p in VECTOR_DIR.glob("*.json")))
def test_vector_file_is_typed(name: str) -> None:
    """Every value has the type section 18.1 gives it: described values well formed,
    byte strings in lowercase hex, text only under the keys that hold text."""
    check_file_typed(name, load(name))


# --- deterministic CBOR ------------------------------------------------------------

CBOR = load("cbor.json")


@pytest.mark.parametrize("vector", params(CBOR["vectors"]))
def test_cbor_vector(vector: dict[str, Any]) -> None:
    value = from_desc(vector["value"])
    expected = hx(vector["hex"])
    assert canonical.encode(value) == expected
    assert ref_encode(value) == expected
    decoded = canonical.decode(expected)
    assert same(decoded, canonical.decode(canonical.encode(decoded)))
    assert same(sorted_maps(value), decoded)


# --- entries -----------------------------------------------------------------------

ENTRIES = load("entries.json")


def _check_entry(identity: Identity, vector: dict[str, Any], prev: bytes | None) -> Entry:
    payload = hx(vector["payload"])
    # The described content is exactly the payload's value; lndesk parses it and writes
    # it back unchanged.
    value = from_desc(vector["content"])
    assert canonical.encode(value) == payload
    assert ref_encode(value) == payload
    content = parse_content(vector["type"], payload)
    assert content.type == vector["type"]
    assert encode_content(content) == payload
    assert blake2b_256(payload) == hx(vector["payload_hash"])
    assert len(payload) == vector["payload_size"]

    assert b(vector["prev"]) == prev
    raw = hx(vector["entry"])
    created = create_entry(
        identity,
        seq=vector["seq"],
        prev=prev,
        claimed_ms=vector["claimed_ms"],
        type=vector["type"],
        payload=payload,
    )
    assert created.raw == raw

    entry = decode_entry(raw)
    assert entry.author == identity.public_key
    assert entry.seq == vector["seq"]
    assert entry.prev == prev
    assert entry.claimed_ms == vector["claimed_ms"]
    assert entry.type == vector["type"]
    assert entry.payload_hash == hx(vector["payload_hash"])
    assert entry.payload_size == vector["payload_size"]
    assert entry.signature == hx(vector["signature"])

    unsigned = [
        1,
        identity.public_key,
        entry.seq,
        prev,
        entry.claimed_ms,
        entry.type,
        entry.payload_hash,
        entry.payload_size,
    ]
    signed = hx(vector["signed_message"])
    assert signed == SIGNATURE_CONTEXT + ref_encode(unsigned)
    assert signed == SIGNATURE_CONTEXT + b"\x88" + raw[1:-66]
    assert entry.signed_message() == signed
    assert raw == ref_encode([*unsigned, entry.signature])
    assert identity.sign(signed) == entry.signature
    nacl.signing.VerifyKey(identity.public_key).verify(signed, entry.signature)
    entry.verify_signature()
    entry.check_payload(payload)

    assert entry.id == blake2b_256(raw) == hx(vector["id"])
    return entry


@pytest.mark.parametrize("feed", ENTRIES["feeds"], ids=lambda f: f["name"])
def test_entry_chain(feed: dict[str, Any]) -> None:
    identity = Identity(hx(feed["seed"]))
    assert identity.public_key == hx(feed["author"])
    assert len(feed["entries"]) >= 2
    prev = None
    for seq, vector in enumerate(feed["entries"], start=1):
        assert vector["seq"] == seq
        prev = _check_entry(identity, vector, prev).id


def test_entry_chain_covers_every_known_content_type() -> None:
    types = {v["type"] for feed in ENTRIES["feeds"] for v in feed["entries"]}
    known = {"post", "reply", "follow", "unfollow", "profile", "share", "tombstone"}
    assert known <= types
    assert types - known, "an entry of an unknown content type"


@pytest.mark.parametrize("vector", ENTRIES["ranges"], ids=lambda v: v["name"])
def test_range_authenticates_with_one_signature(vector: dict[str, Any]) -> None:
    entries = [decode_entry(hx(raw)) for raw in vector["entries"]]
    authenticate_range(entries)
    authenticate_range(entries, trusted_last=True)


@pytest.mark.parametrize("vector", ENTRIES["forks"], ids=lambda v: v["name"])
def test_fork_is_two_valid_entries_at_one_seq(vector: dict[str, Any]) -> None:
    first, second = decode_entry(hx(vector["first"])), decode_entry(hx(vector["second"]))
    for entry in (first, second):
        assert entry.author == hx(vector["author"])
        assert entry.seq == vector["seq"]
        entry.verify_signature()
    second.check_payload(hx(vector["second_payload"]))
    assert first.id != second.id
    assert first.prev == second.prev
    # The store keeps the newcomer as proof instead of rejecting or replacing it.
    stored = {first.seq - 1: (first.prev, 0), first.seq: (first.id, 1)}
    plan = plan_batch([second], [None], stored, lambda _seq: None)
    assert plan.fork_proof == second
    assert plan.new == []


# --- content -----------------------------------------------------------------------

CONTENT = load("content.json")


@pytest.mark.parametrize("vector", params(CONTENT["vectors"]))
def test_content_parses(vector: dict[str, Any]) -> None:
    parsed = parse_content(vector["content_type"], hx(vector["payload"]))
    assert same_content(parsed, content_from(vector["content_type"], vector["expected"]))


@pytest.mark.parametrize("vector", CONTENT["tags"], ids=lambda v: v["input"])
def test_tag_normal_form(vector: dict[str, Any]) -> None:
    normalized = vector["normalized"]
    assert normalize_tag(vector["input"]) == normalized
    assert normalize_tag(normalized) == normalized
    assert is_valid_tag(normalized)


# --- key files ---------------------------------------------------------------------

KEYFILE = load("keyfile.json")


def test_plain_key_file() -> None:
    vector = KEYFILE["plain"]
    seed, data = hx(vector["seed"]), hx(vector["file"])
    assert encode_key_file(Identity(seed)) == data
    assert (
        ref_encode(
            {"format": "lndesk-key", "version": 1, "public": hx(vector["public_key"]), "seed": seed}
        )
        == data
    )
    assert not is_sealed(data)
    identity = decode_key_file(data)
    assert identity.seed == seed
    assert identity.public_key == hx(vector["public_key"])


def test_sealed_key_file() -> None:
    vector = KEYFILE["sealed"]
    seed, salt, nonce = hx(vector["seed"]), hx(vector["salt"]), hx(vector["nonce"])
    key = nacl.pwhash.argon2id.kdf(
        32,
        vector["passphrase"].encode("utf-8"),
        salt,
        opslimit=vector["opslimit"],
        memlimit=vector["memlimit"],
    )
    assert key == hx(vector["derived_key"])
    sealed = bytes(nacl.secret.SecretBox(key).encrypt(seed, nonce))
    assert sealed == hx(vector["sealed"])
    assert sealed[:24] == nonce
    assert len(sealed) == 24 + 16 + 32
    doc = {
        "format": "lndesk-key",
        "version": 1,
        "public": hx(vector["public_key"]),
        "kdf": "argon2id13",
        "salt": salt,
        "opslimit": vector["opslimit"],
        "memlimit": vector["memlimit"],
        "sealed": sealed,
    }
    data = hx(vector["file"])
    assert canonical.encode(doc) == data == ref_encode(doc)
    assert is_sealed(data)
    identity = decode_key_file(data, vector["passphrase"])
    assert identity.seed == seed
    assert identity.public_key == hx(vector["public_key"])


# --- the local log file --------------------------------------------------------------

LOGFILE = load("logfile.json")


def _parse_record(data: bytes) -> tuple[int, int, int, bytes, bytes | None]:
    length, crc = struct.unpack_from(">II", data)
    body = data[8:]
    assert len(body) == length
    assert zlib.crc32(body) == crc
    kind, flags, received_ms, entry_len = struct.unpack_from(">BBQH", body)
    entry = body[12 : 12 + entry_len]
    payload = body[12 + entry_len :] if flags & 1 else None
    return kind, flags, received_ms, entry, payload


def _scan(path: Path) -> tuple[LogFile, list[Record], ScanEnd]:
    log_file = LogFile(path)
    items = list(log_file.scan())
    end = items.pop()
    assert isinstance(end, ScanEnd)
    assert all(isinstance(item, Record) for item in items)
    return log_file, items, end  # type: ignore[return-value]


def test_log_records() -> None:
    header = hx(LOGFILE["header"])
    assert header == MAGIC + hx(LOGFILE["log_id"])
    assert len(header) == HEADER_SIZE == 24
    for vector in LOGFILE["records"]:
        payload = b(vector["payload"])
        record = hx(vector["record"])
        assert encode_record(
            vector["kind"], vector["received_ms"], hx(vector["entry"]), payload
        ) == (record)
        assert _parse_record(record) == (
            vector["kind"],
            vector["flags"],
            vector["received_ms"],
            hx(vector["entry"]),
            payload,
        )
    assert hx(LOGFILE["file"]) == header + b"".join(hx(v["record"]) for v in LOGFILE["records"])


def test_log_file_scan(tmp_path: Path) -> None:
    path = tmp_path / "entries.log"
    data = hx(LOGFILE["file"])
    path.write_bytes(data)
    log_file, records, end = _scan(path)
    try:
        assert log_file.log_id == hx(LOGFILE["log_id"])
        assert end.valid_end == end.file_size == len(data)
        assert end.problem is None
        assert len(records) == len(LOGFILE["records"])
        for record, vector in zip(records, LOGFILE["records"], strict=True):
            assert record.offset == vector["offset"]
            assert record.kind == vector["kind"]
            assert record.received_ms == vector["received_ms"]
            assert record.entry == hx(vector["entry"])
            assert record.payload == b(vector["payload"])
            assert record.size == len(hx(vector["record"]))
            assert log_file.read(record.offset) == record
    finally:
        log_file.close()


def test_purged_record(tmp_path: Path) -> None:
    vector = LOGFILE["purged"]
    original = LOGFILE["records"][0]
    record = hx(vector["record"])
    assert len(record) == len(hx(original["record"]))  # a purge moves no other record
    assert record[8] == original["kind"] and record[9] == vector["flags"] == 2
    assert record[-vector["padding"] :] == bytes(vector["padding"])
    path = tmp_path / "entries.log"
    path.write_bytes(hx(vector["file"]))
    log_file, records, end = _scan(path)
    try:
        assert end.problem is None and len(records) == len(LOGFILE["records"])
        first = records[0]
        assert first.entry == hx(original["entry"]) and first.payload is None
        assert first.purged and first.padding == vector["padding"]
        assert purged_record(first)[0] == record[: -vector["padding"]]
    finally:
        log_file.close()


def test_a_later_record_fills_a_hole(tmp_path: Path) -> None:
    """Section 14.2: the fourth record holds the second record's entry with its payload;
    indexing the file in order gives that entry its payload, and nothing is missing."""
    vector = LOGFILE["filled"]
    second = LOGFILE["records"][1]
    record = hx(vector["record"])
    assert _parse_record(record)[3:] == (hx(second["entry"]), hx(vector["payload"]))
    (tmp_path / "entries.log").write_bytes(hx(vector["file"]))
    entry = decode_entry(hx(second["entry"]))
    with Store(tmp_path) as store:
        assert store.payload_holes(entry.author, 1, 10, 10) == []
        held = dict(store.feed_items(entry.author))
        assert held[entry.raw] == hx(vector["payload"])
    (tmp_path / "entries.log").write_bytes(hx(LOGFILE["file"]))
    (tmp_path / "index.sqlite3").unlink()
    with Store(tmp_path) as store:
        assert store.payload_holes(entry.author, 1, 10, 10) == [entry.seq]


def test_an_entry_appended_already_deleted() -> None:
    vector = LOGFILE["deleted_on_arrival"]
    first = LOGFILE["records"][0]
    record = hx(vector["record"])
    kind, flags, _received, entry, payload = _parse_record(record)
    assert (kind, flags, entry, payload) == (KIND_ENTRY, vector["flags"], hx(first["entry"]), None)
    assert len(record) == 8 + 12 + len(entry)  # no zeros: there never was a payload


@pytest.mark.parametrize("vector", LOGFILE["torn"], ids=lambda v: v["name"])
def test_log_file_torn_tail(tmp_path: Path, vector: dict[str, Any]) -> None:
    path = tmp_path / "entries.log"
    data = hx(vector["file"])
    path.write_bytes(data)
    log_file, records, end = _scan(path)
    try:
        assert end.valid_end == vector["valid_end"]
        assert end.file_size == len(data)
        assert end.torn
        assert end.problem == vector["problem"]
        assert records[-1].offset + records[-1].size == vector["valid_end"]
    finally:
        log_file.close()


# --- the backup file ---------------------------------------------------------------

BACKUP = load("backup.json")


def test_backup_file() -> None:
    key_file, feed = hx(BACKUP["key_file"]), hx(BACKUP["feed"])
    items = [[hx(entry), b(payload)] for entry, payload in BACKUP["entries"]]
    doc = {"format": "lndesk-backup", "version": 1, "key": key_file, "feed": feed, "entries": items}
    data = hx(BACKUP["file"])
    assert canonical.encode(doc) == data == ref_encode(doc)

    decoded = canonical.decode(data)
    assert list(decoded) == ["key", "feed", "format", "entries", "version"]
    assert same(decoded, sorted_maps(doc))
    assert decode_key_file(decoded["key"]).public_key == feed

    entries = [decode_entry(raw) for raw, _ in decoded["entries"]]
    assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1))
    assert all(entry.author == feed for entry in entries)
    authenticate_range(entries)
    assert any(payload is None for _, payload in decoded["entries"])
    for entry, (_, payload) in zip(entries, decoded["entries"], strict=True):
        if payload is not None:
            entry.check_payload(payload)
            parse_content(entry.type, payload)


def test_backup_file_module() -> None:
    key_file, feed = hx(BACKUP["key_file"]), hx(BACKUP["feed"])
    items = [(hx(entry), b(payload)) for entry, payload in BACKUP["entries"]]
    data = hx(BACKUP["file"])
    assert backup.encode_backup(key_file, feed, items) == data
    decoded = backup.decode_backup(data)
    assert decoded.key_file == key_file
    assert decoded.feed == feed
    assert list(decoded.entries) == items


# --- negative vectors ----------------------------------------------------------------

NEGATIVE = load("negative.json")
NETWORK_DECODERS = {
    "frame",
    "batch",
    "announcement",
    "notice",
    "inbox-frame",
    "profile-frame",
    "forks-frame",
    "fork-proof",
    "thread-frame",
    "visit-frame",
}


def test_negative_vectors_cover_every_decoder() -> None:
    assert {v["decoder"] for v in NEGATIVE["vectors"]} == set(DECODERS) - NETWORK_DECODERS
    names = [v["name"] for v in NEGATIVE["vectors"]]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("vector", params(NEGATIVE["vectors"]))
async def test_negative_vector(vector: dict[str, Any]) -> None:
    """Rejected with the class the vector names, for the reason it gives: the input is
    otherwise valid, so no other rule can reject it first."""
    expected = getattr(errors, vector["error"])
    assert issubclass(expected, errors.LndeskError)
    if "input" in vector:
        text = vector["decoder"] in ("key-text", "share-link", "backup-words")
        assert type(input_of(vector)) is (str if text else bytes)
    raised = await rejection(vector)
    assert type(raised) is expected, raised
    assert str(raised) == vector["reason"]
