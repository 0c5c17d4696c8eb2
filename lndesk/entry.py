"""Signed log entries: encoding, decoding, signing and authentication.

An entry is the deterministic CBOR encoding of a 9-element array (docs/protocol.md,
section "Entry")::

    [version, author, seq, prev, claimed_ms, type, payload_hash, payload_size, signature]

The signature covers ``SIGNATURE_CONTEXT`` followed by the encoding of the first eight
elements as an 8-element array. The payload travels beside the entry; the entry commits
to its BLAKE2b-256 hash and size, so a payload can be dropped while the chain of entries
still verifies. An entry's id is the BLAKE2b-256 hash of its exact bytes, and ``prev``
is the id of the author's previous entry.

Received entries keep their exact bytes (``Entry.raw``); nothing is ever re-serialised.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import cbor2

from lndesk.errors import ChainError, DecodeError, PayloadError, SignatureError, SizeError
from lndesk.identity import Identity, blake2b_256, verify_signature
from lndesk.keytext import short_key

FORMAT_VERSION = 1
SIGNATURE_CONTEXT = b"lndesk/entry/v1\x00"
MAX_ENTRY_SIZE = 512
MAX_PAYLOAD_SIZE = 65_536
MAX_TIMESTAMP_MS = 2**53 - 1
MAX_SEQ = 2**53 - 1
HASH_SIZE = 32
KEY_SIZE = 32
SIGNATURE_SIZE = 64
TYPE_PATTERN = re.compile(r"[a-z][a-z0-9._-]{0,31}")
# The signature is the last element: a 64-byte byte string, encoded as 0x58 0x40 + 64 bytes.
_SIGNATURE_TAIL = 2 + SIGNATURE_SIZE
_SIGNATURE_HEADER = b"\x58\x40"
_UINT_SIZES = {0x18: 1, 0x19: 2, 0x1A: 4, 0x1B: 8}
_UINT_MINIMUM = {1: 24, 2: 1 << 8, 4: 1 << 16, 8: 1 << 32}


@dataclass(slots=True)
class Entry:
    """A decoded entry. ``raw`` is authoritative; the other fields are read from it.

    Treat it as immutable. (It is not ``frozen`` because a frozen dataclass costs about
    a microsecond more per entry, a twentieth of the whole ingest budget.) The one field
    that changes is ``verified``: false when decoded, true once :meth:`verify_signature`
    has succeeded on this object, so an entry checked on arrival (a gossiped head) is
    not checked again when it is stored. Nothing else sets it. ``matched`` does the
    same for the payload checked with it.
    """

    raw: bytes
    id: bytes
    author: bytes
    seq: int
    prev: bytes | None
    claimed_ms: int
    type: str
    payload_hash: bytes
    payload_size: int
    signature: bytes
    verified: bool = field(default=False, compare=False, repr=False)
    matched: bytes | None = field(default=None, compare=False, repr=False)
    """The payload :meth:`check_payload` last found to match this entry (an immutable
    ``bytes`` object): that very object is not hashed again when the entry is stored."""

    def signed_message(self) -> bytes:
        """The exact bytes the author signed."""
        return SIGNATURE_CONTEXT + b"\x88" + self.raw[1:-_SIGNATURE_TAIL]

    def verify_signature(self) -> None:
        """Raise SignatureError unless the author signed this entry; an entry verified
        once (this object) is not verified again."""
        if self.verified:
            return
        try:
            verify_signature(self.author, self.signed_message(), self.signature)
        except SignatureError as exc:
            raise SignatureError(
                f"entry {self.seq} of {_short(self.author)} has an invalid signature",
                "It was not written by the author it names; it was not stored.",
            ) from exc
        self.verified = True

    def check_payload(self, payload: bytes) -> None:
        """Raise PayloadError unless ``payload`` is the one this entry commits to."""
        if len(payload) != self.payload_size or blake2b_256(payload) != self.payload_hash:
            raise PayloadError(
                f"the content of entry {self.seq} of {_short(self.author)} does not match "
                "the hash its entry commits to",
                "It was altered on the way or by the peer; it was not stored.",
            )
        if type(payload) is bytes:  # not a bytearray: it could change once checked
            self.matched = payload


def create_entry(
    identity: Identity,
    *,
    seq: int,
    prev: bytes | None,
    claimed_ms: int,
    type: str,
    payload: bytes,
) -> Entry:
    """Sign a new entry of ``identity``'s log. ``payload`` must already be canonical CBOR."""
    if len(payload) > MAX_PAYLOAD_SIZE:
        raise SizeError(
            f"this is {len(payload):,} bytes, the limit is {MAX_PAYLOAD_SIZE:,}",
            "Shorten the text or shrink the attached data.",
        )
    fields = [
        FORMAT_VERSION,
        identity.public_key,
        seq,
        prev,
        claimed_ms,
        type,
        blake2b_256(payload),
        len(payload),
    ]
    _check_fields(fields)
    unsigned = cbor2.dumps(fields)
    signature = identity.sign(SIGNATURE_CONTEXT + unsigned)
    raw = b"\x89" + unsigned[1:] + _SIGNATURE_HEADER + signature
    return decode_entry(raw)


def decode_entry(raw: bytes) -> Entry:
    """Decode and structurally validate an entry. Does not check the signature.

    The entry's layout is fixed, so it is read field by field rather than by a general
    CBOR decoder: every head must be in its shortest form and every field of its one
    allowed CBOR type, which makes the encoding deterministic by construction (the
    tests check this parser against cbor2 decoding plus re-encoding).
    """
    if type(raw) is not bytes:
        raw = bytes(raw)
    if len(raw) > MAX_ENTRY_SIZE:
        raise SizeError(f"an entry of {len(raw)} bytes is over the {MAX_ENTRY_SIZE}-byte limit")
    if len(raw) < _SIGNATURE_TAIL + 1 or raw[0] != 0x89:
        raise DecodeError("not an lndesk entry (expected a 9-element CBOR array)")
    try:
        entry, end = _read_entry(raw)
    except IndexError:
        raise DecodeError("entry ends too early") from None
    if end != len(raw):
        raise DecodeError("entry has bytes after its signature")
    return entry


def _read_entry(raw: bytes) -> tuple[Entry, int]:
    """Read the nine fields of an entry array; return the entry and where the array ends."""
    if raw[1] != FORMAT_VERSION:
        raise DecodeError(f"unsupported entry format version (first field 0x{raw[1]:02x})")
    author, pos = _read_bytes(raw, 2, KEY_SIZE, "author")
    seq, pos = _read_uint(raw, pos, "seq")
    prev: bytes | None
    if raw[pos] == 0xF6:
        prev, pos = None, pos + 1
    else:
        prev, pos = _read_bytes(raw, pos, HASH_SIZE, "prev")
    claimed_ms, pos = _read_uint(raw, pos, "timestamp")
    type_, pos = _read_type(raw, pos)
    payload_hash, pos = _read_bytes(raw, pos, HASH_SIZE, "content hash")
    payload_size, pos = _read_uint(raw, pos, "content size")
    signature, pos = _read_bytes(raw, pos, SIGNATURE_SIZE, "signature")
    # The reads above fixed every field's type; what is left are the ranges and rules.
    if not 1 <= seq <= MAX_SEQ:
        raise DecodeError("entry sequence number must be an integer from 1")
    if (seq == 1) != (prev is None):
        raise DecodeError("entry prev must be null for entry 1 and a 32-byte hash otherwise")
    if claimed_ms > MAX_TIMESTAMP_MS:
        raise DecodeError("entry timestamp must be milliseconds since 1970 within 2^53")
    if type_ not in _VALID_TYPES and not _valid_type(type_):
        raise DecodeError("entry content type must be 1-32 characters of a-z 0-9 . _ -")
    if payload_size > MAX_PAYLOAD_SIZE:
        raise SizeError(f"entry content size must be 0 to {MAX_PAYLOAD_SIZE} bytes")
    entry = Entry(
        raw,
        hashlib.blake2b(raw, digest_size=HASH_SIZE).digest(),
        author,
        seq,
        prev,
        claimed_ms,
        type_,
        payload_hash,
        payload_size,
        signature,
    )
    return entry, pos


def _read_uint(raw: bytes, pos: int, name: str) -> tuple[int, int]:
    """A CBOR unsigned integer in shortest form (major type 0)."""
    initial = raw[pos]
    if initial < 24:
        return initial, pos + 1
    size = _UINT_SIZES.get(initial)
    if size is None:
        raise DecodeError(f"entry {name} must be an unsigned integer")
    end = pos + 1 + size
    if end > len(raw):
        raise IndexError
    value = int.from_bytes(raw[pos + 1 : end], "big")
    if value < _UINT_MINIMUM[size]:
        raise DecodeError(f"entry {name} is not in shortest form")
    return value, end


def _read_bytes(raw: bytes, pos: int, size: int, name: str) -> tuple[bytes, int]:
    """A byte string of exactly ``size`` (32 or 64) bytes, with its one-byte length."""
    if raw[pos] != 0x58 or raw[pos + 1] != size:
        raise DecodeError(f"entry {name} must be a {size}-byte byte string")
    end = pos + 2 + size
    if end > len(raw):
        raise IndexError
    return raw[pos + 2 : end], end


def _read_type(raw: bytes, pos: int) -> tuple[str, int]:
    """The content type: a text string of 1 to 32 bytes, length in shortest form."""
    initial = raw[pos]
    if 0x61 <= initial <= 0x77:
        length, pos = initial - 0x60, pos + 1
    elif initial == 0x78 and 24 <= raw[pos + 1] <= 32:
        length, pos = raw[pos + 1], pos + 2
    else:
        raise DecodeError("entry content type must be 1-32 characters of a-z 0-9 . _ -")
    end = pos + length
    if end > len(raw):
        raise IndexError
    try:
        return raw[pos:end].decode("ascii"), end
    except UnicodeDecodeError:
        raise DecodeError("entry content type must be 1-32 characters of a-z 0-9 . _ -") from None


def authenticate_range(entries: Sequence[Entry], *, trusted_last: bool = False) -> None:
    """Prove a contiguous run of one author's entries authentic with one signature check.

    Each entry's ``prev`` must be the id of the entry before it, so the last entry's
    signature (which covers its ``prev``) vouches, through the hash chain, for every
    entry before it. ``trusted_last`` skips that signature when the caller has already
    tied the last entry to a stored, authenticated entry by hash.
    """
    if not entries:
        return
    author = entries[0].author
    for before, after in itertools.pairwise(entries):
        if after.author != author:
            raise ChainError("a range of entries mixes authors")
        if after.seq != before.seq + 1 or after.prev != before.id:
            raise ChainError(
                f"entry {after.seq} of {_short(author)} does not link to entry {before.seq}",
                "The peer sent a broken chain; nothing of this range was stored.",
            )
    if not trusted_last:
        entries[-1].verify_signature()


def _check_fields(fields: list[object]) -> None:
    version, author, seq, prev, claimed_ms, type_, payload_hash, payload_size = fields
    if version != FORMAT_VERSION or type(version) is not int:
        raise DecodeError(f"unsupported entry format version {version!r}")
    if type(author) is not bytes or len(author) != KEY_SIZE:
        raise DecodeError("entry author must be a 32-byte public key")
    if type(seq) is not int or not 1 <= seq <= MAX_SEQ:
        raise DecodeError("entry sequence number must be an integer from 1")
    if seq == 1:
        if prev is not None:
            raise DecodeError("the first entry of a log must have prev = null")
    elif type(prev) is not bytes or len(prev) != HASH_SIZE:
        raise DecodeError("entry prev must be a 32-byte hash (null only for entry 1)")
    if type(claimed_ms) is not int or not 0 <= claimed_ms <= MAX_TIMESTAMP_MS:
        raise DecodeError("entry timestamp must be milliseconds since 1970 within 2^53")
    if type(type_) is not str or (type_ not in _VALID_TYPES and not _valid_type(type_)):
        raise DecodeError("entry content type must be 1-32 characters of a-z 0-9 . _ -")
    if type(payload_hash) is not bytes or len(payload_hash) != HASH_SIZE:
        raise DecodeError("entry content hash must be 32 bytes")
    if type(payload_size) is not int or payload_size < 0:
        raise DecodeError("entry content size must be a non-negative integer")
    if payload_size > MAX_PAYLOAD_SIZE:
        raise SizeError(f"entry content size must be 0 to {MAX_PAYLOAD_SIZE} bytes")


_VALID_TYPES: set[str] = set()


def _valid_type(type_: str) -> bool:
    """Check a content type string, remembering (a bounded number of) good ones."""
    if not TYPE_PATTERN.fullmatch(type_):
        return False
    if len(_VALID_TYPES) < 256:
        _VALID_TYPES.add(type_)
    return True


def _short(author: bytes) -> str:
    return short_key(author)
