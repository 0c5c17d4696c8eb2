"""Helpers for the store tests: fixed identities and signed chains of entries.

Test modules import this as ``store_helpers``; the crash test's child program
(``crash_writer.py``) imports it the same way, from its own directory.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import lndesk
from lndesk import canonical
from lndesk.content import KNOWN_TYPES, POST, Post, encode_content, parse_content
from lndesk.entry import Entry, create_entry, decode_entry
from lndesk.identity import Identity
from lndesk.store.logfile import LogFile, ScanEnd
from lndesk.store.store import Store, StoredEntry

BASE_MS = 1_700_000_000_000
"""A fixed past instant (November 2023); chains are dated from it, one second per seq."""
STEP_MS = 1000

Link = tuple[Entry, bytes | None]
"""A signed entry and the payload it commits to (None when left out)."""


def child_env() -> dict[str, str]:
    """The environment for a child Python process that must import this same lndesk."""
    source_root = str(Path(lndesk.__file__).resolve().parent.parent)
    inherited = os.environ.get("PYTHONPATH")
    paths = [source_root, inherited] if inherited else [source_root]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def make_identity(number: int) -> Identity:
    """A deterministic identity: the same ``number`` always gives the same key pair."""
    return Identity(bytes([number]) * 32)


def post_payload(text: str) -> bytes:
    return encode_content(Post(text))


def make_entry(
    identity: Identity,
    seq: int,
    prev: bytes | None,
    *,
    type: str = POST,
    payload: bytes | None = None,
    text: str | None = None,
    claimed_ms: int | None = None,
) -> tuple[Entry, bytes]:
    """Sign one entry. Without ``payload``, posts (and unknown types) get a text payload."""
    if payload is None:
        body = text if text is not None else f"entry {seq}"
        if type == POST:
            payload = post_payload(body)
        elif type in KNOWN_TYPES:
            raise ValueError(f"give the payload of a {type} entry explicitly")
        else:
            payload = canonical.encode({"text": body})
    entry = create_entry(
        identity,
        seq=seq,
        prev=prev,
        claimed_ms=BASE_MS + seq * STEP_MS if claimed_ms is None else claimed_ms,
        type=type,
        payload=payload,
    )
    return entry, payload


def make_chain(
    identity: Identity,
    n: int,
    start_seq: int = 1,
    prev: bytes | None = None,
    type: str = POST,
    *,
    text: str = "entry",
    claimed_ms: int | None = None,
) -> list[tuple[Entry, bytes]]:
    """``n`` entries of ``identity``'s log from ``start_seq``, each linked to the one before.

    ``prev`` is the id of entry ``start_seq - 1`` (None only when starting at 1). Entry
    ``seq`` is a post saying ``f"{text} {seq}"``, dated ``BASE_MS + seq * STEP_MS``
    unless ``claimed_ms`` gives one date for all.
    """
    if start_seq > 1 and prev is None:
        raise ValueError("a chain that does not start at 1 needs the previous entry's id")
    chain = []
    for seq in range(start_seq, start_seq + n):
        entry, payload = make_entry(
            identity, seq, prev, type=type, text=f"{text} {seq}", claimed_ms=claimed_ms
        )
        chain.append((entry, payload))
        prev = entry.id
    return chain


def wire(chain: Iterable[Link]) -> list[tuple[bytes, bytes | None]]:
    """The (entry bytes, payload) items ``Store.ingest`` takes."""
    return [(entry.raw, payload) for entry, payload in chain]


def without_payloads(chain: Iterable[Link]) -> list[tuple[bytes, bytes | None]]:
    return [(entry.raw, None) for entry, _ in chain]


def with_bad_signature(entry: Entry) -> Entry:
    """The same entry with one bit of its signature flipped (still well-formed)."""
    raw = entry.raw[:-1] + bytes([entry.raw[-1] ^ 0x01])
    return decode_entry(raw)


def post_text(payload: bytes | None) -> str:
    content = parse_content(POST, payload or b"")
    assert isinstance(content, Post)
    return content.text


def check_feed(store: Store, key: bytes) -> list[Entry]:
    """Walk a feed's stored entries and assert they form one authentic chain from 1.

    Every entry must follow the one before it (seq + 1, ``prev`` = its id), every
    stored payload must match its entry, and the last entry's signature must verify,
    which through the hash chain vouches for all of them. Returns the entries.
    """
    entries: list[Entry] = []
    prev: bytes | None = None
    for raw, payload in store.feed_items(key):
        entry = decode_entry(raw)
        assert entry.author == key
        assert entry.seq == len(entries) + 1, f"expected seq {len(entries) + 1}, got {entry.seq}"
        assert entry.prev == prev, f"entry {entry.seq} does not link to entry {entry.seq - 1}"
        if payload is not None:
            entry.check_payload(payload)
        entries.append(entry)
        prev = entry.id
    if entries:
        entries[-1].verify_signature()
    state = store.feed_state(key)
    assert state.height == len(entries)
    assert state.max_seq == len(entries)
    assert state.head_id == (entries[-1].id if entries else None)
    return entries


def seqs(items: Sequence[StoredEntry]) -> list[int]:
    """The sequence numbers of stored entries (as timeline and feed_entries give them)."""
    return [item.entry.seq for item in items]


def record_offsets(path: Path) -> list[int]:
    """The offsets of the records of the log at ``path``, in order."""
    log = LogFile(path, read_only=True)
    try:
        return [item.offset for item in log.scan() if not isinstance(item, ScanEnd)]
    finally:
        log.close()


def flip(path: Path, offset: int) -> None:
    """Damage the byte at ``offset`` of ``path`` (one bit flipped, in place)."""
    with path.open("r+b") as file:
        file.seek(offset)
        byte = file.read(1)
        file.seek(offset)
        file.write(bytes([byte[0] ^ 0x40]))
