"""Checking a batch by the one layout nearly every batch has, without the general decoders.

Nearly every entry a reader receives has the same shape: a 9-element array whose author
is the batch's, whose type is a known one of at most 23 characters, linking to the entry
before it, with its payload beside it; and nearly every payload is a post's map of
``tags``, ``text``, ``links``, ``mentions`` and ``question``. Decoding each entry field
by field (:func:`lndesk.entry.decode_entry`), decoding each payload with the general
CBOR decoder and checking that its encoding is the deterministic one
(:func:`lndesk.canonical.decode`), then reading the post's fields out of the decoded
map, costs twice what reading the bytes in place does.

:func:`read_batch` reads a batch in place and takes only what it can prove the general
path takes: every head in its shortest form, every field of its one CBOR type and within
its range, keys in their deterministic order, strings valid UTF-8, and the rules of the
content type (:mod:`lndesk.content_fields`' own checks). It answers None for any batch it does
not take; :func:`lndesk.batch.check_batch` then checks it the general way, which raises
the same error for the same batch whichever path saw it first. What it answers is equal
to what the general path answers; tests/test_batch_layout.py holds the two to that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from lndesk.content import (
    KNOWN_TYPES,
    POST,
    Post,
    named_refs,
    post_of_checked,
)
from lndesk.content_fields import (
    MAX_LINKS,
    MAX_MENTIONS,
    MAX_TAGS,
    is_blank_text,
    is_valid_link,
    is_valid_tag,
)
from lndesk.entry import (
    KEY_SIZE,
    MAX_PAYLOAD_SIZE,
    MAX_SEQ,
    MAX_TIMESTAMP_MS,
    Entry,
)
from lndesk.entry_refs import Ref
from lndesk.payloads import Parsed, parse_payload

Item = tuple[bytes, bytes | None]

_START = b"\x89\x01\x58\x20"
"""An entry's array of nine, format version 1, and the head of its 32-byte author."""
_AUTHOR_END = len(_START) + KEY_SIZE
_SIGNATURE_TAIL = 66
"""The signature's head (``0x58 0x40``) and its 64 bytes, the last of an entry."""
_WIDTH = {0x18: 1, 0x19: 2, 0x1A: 4, 0x1B: 8}
_MINIMUM = {0x18: 24, 0x19: 1 << 8, 0x1A: 1 << 16, 0x1B: 1 << 32}
_TYPE_HEADS = {
    bytes([0x60 + len(name)]) + name.encode("ascii"): name for name in KNOWN_TYPES if len(name) < 24
}
"""The encoding of each known type whose name is of at most 23 bytes (a head and the
name), and the name. The general decoder takes them all (they follow
``TYPE_PATTERN``); an entry of any other type is left to it."""


def read_batch(
    author: bytes, items: Sequence[Item]
) -> tuple[list[Entry], dict[bytes, Parsed]] | None:
    """The entries of ``items`` and their payloads parsed (by entry id, for those
    present), as :func:`lndesk.batch.check_batch` makes them, if every entry has the
    common layout, is ``author``'s, links to the one before it and matches its
    payload; else None."""
    read = read_layout(author, items)
    return None if read is None else (read[0], read[1])


def read_layout(
    author: bytes, items: Sequence[Item]
) -> tuple[list[Entry], dict[bytes, Parsed], list[Ref]] | None:
    """:func:`read_batch`, and the entries that the batch's shares and replies name
    (:func:`lndesk.content.named_refs` of each parsed payload, in order), found while
    the payloads are parsed: a post names none, so a batch of posts needs no second
    look for them."""
    entries = read_entries(author, items)
    if entries is None:
        return None
    parsed: dict[bytes, Parsed] = {}
    named: list[Ref] = []
    for entry, (_, payload) in zip(entries, items, strict=True):
        if payload is None:
            continue
        if entry.type == POST:
            post = read_post(payload)
            if post is not None:
                parsed[entry.id] = (post, None)
                continue
        parsed[entry.id] = read = parse_payload(entry, payload)
        named += named_refs(read[0])
    return entries, parsed, named


def read_entries(author: bytes, items: Sequence[Item]) -> list[Entry] | None:
    """The entries of ``items`` decoded as :func:`lndesk.entry.decode_entry` decodes
    them, if each has the common layout, is ``author``'s, links to the one before it
    (its seq one higher and its ``prev`` that entry's id) and matches its payload
    (size and hash), when present; else None.

    The numbers are read in line for the widths entries mostly have (a seq of one or
    two bytes, a time of eight, a payload's size of two), other widths by :func:`_uint`,
    and the type is one dictionary lookup of its head and name: a call per number and a
    decode per type were a sixth of this."""
    entries: list[Entry] = []
    append = entries.append
    blake2b = hashlib.blake2b
    type_of = _TYPE_HEADS.get
    before_id = b""
    before_seq = -1
    try:
        for raw, payload in items:
            # No field of this layout is unbounded, so neither is the entry: none is
            # over MAX_ENTRY_SIZE (at most 221 bytes end where the signature must).
            if (
                type(raw) is not bytes
                or not raw.startswith(_START)
                or raw[len(_START) : _AUTHOR_END] != author
            ):
                return None
            seq = raw[_AUTHOR_END]
            if seq < 24:
                pos = _AUTHOR_END + 1
            elif seq == 0x19:
                seq = (raw[_AUTHOR_END + 1] << 8) | raw[_AUTHOR_END + 2]
                if seq < 0x100:
                    return None
                pos = _AUTHOR_END + 3
            else:
                seq, pos = _uint(raw, _AUTHOR_END)
            prev: bytes | None
            if raw[pos] == 0xF6:
                prev, pos = None, pos + 1
            elif raw[pos] == 0x58 and raw[pos + 1] == 0x20:
                prev, pos = raw[pos + 2 : pos + 34], pos + 34
            else:
                return None
            if raw[pos] == 0x1B:
                claimed_ms = int.from_bytes(raw[pos + 1 : pos + 9], "big")
                if claimed_ms < 1 << 32:
                    return None
                pos += 9
            else:
                claimed_ms, pos = _uint(raw, pos)
            # A type: its head and name are a key only if the head is a text string's
            # of the name's length. Under 0x60 ``end`` may be before ``pos`` or count
            # from the entry's end, but no key starts with such a byte: refused too.
            end = pos + 1 + raw[pos] - 0x60
            type_ = type_of(raw[pos:end])
            if type_ is None or raw[end] != 0x58 or raw[end + 1] != 0x20:
                return None
            payload_hash = raw[end + 2 : end + 34]
            pos = end + 34
            if raw[pos] == 0x19:
                payload_size = (raw[pos + 1] << 8) | raw[pos + 2]
                if payload_size < 0x100:
                    return None
                pos += 3
            else:
                payload_size, pos = _uint(raw, pos)
            if (
                pos + _SIGNATURE_TAIL != len(raw)
                or raw[pos] != 0x58
                or raw[pos + 1] != 0x40
                or not 1 <= seq <= MAX_SEQ
                or (seq == 1) != (prev is None)
                or claimed_ms > MAX_TIMESTAMP_MS
                or payload_size > MAX_PAYLOAD_SIZE
            ):
                return None
            if entries and (seq != before_seq + 1 or prev != before_id):
                return None
            if payload is not None and (
                len(payload) != payload_size
                or blake2b(payload, digest_size=32).digest() != payload_hash
            ):
                return None
            before_id = blake2b(raw, digest_size=32).digest()
            before_seq = seq
            append(
                Entry(
                    raw,
                    before_id,
                    author,
                    seq,
                    prev,
                    claimed_ms,
                    type_,
                    payload_hash,
                    payload_size,
                    raw[pos + 2 :],
                )
            )
    except (LookupError, ValueError):  # too short, or a head not of this layout
        return None
    return entries


def _uint(raw: bytes, pos: int) -> tuple[int, int]:
    """An unsigned integer in shortest form at ``pos``, and where the next field starts
    (ValueError: not an unsigned integer in shortest form)."""
    initial = raw[pos]
    if initial < 24:
        return initial, pos + 1
    width = _WIDTH[initial]  # KeyError: not an unsigned integer
    end = pos + 1 + width
    value = int.from_bytes(raw[pos + 1 : end], "big")
    if value < _MINIMUM[initial]:
        raise ValueError("not in shortest form")
    return value, end


def read_post(payload: bytes) -> Post | None:
    """The post in ``payload`` as :func:`lndesk.content.parse_content` reads it, if it
    is a deterministic map of no other keys than a post's, each of a post's value type,
    within the post's rules; else None."""
    try:
        # A map of one to five pairs; under any other head the loop stops at the sixth
        # key at the latest (no key may come twice), or no text is read.
        count = payload[0] - 0xA0
        pos = 1
        rank = 0
        text: str | None = None
        tags: tuple[str, ...] = ()
        links: tuple[str, ...] = ()
        mentions: tuple[bytes, ...] = ()
        question = False
        for _ in range(count):
            # The keys in their deterministic order: each may follow only those before it.
            if rank < 1 and payload.startswith(b"\x64tags", pos):
                rank, (tags, pos) = 1, _words(payload, pos + 5, MAX_TAGS)
            elif rank < 2 and payload.startswith(b"\x64text", pos):
                rank, (text, pos) = 2, _text(payload, pos + 5)
            elif rank < 3 and payload.startswith(b"\x65links", pos):
                rank, (links, pos) = 3, _words(payload, pos + 6, MAX_LINKS)
            elif rank < 4 and payload.startswith(b"\x68mentions", pos):
                rank, (mentions, pos) = 4, _keys(payload, pos + 9)
            elif rank < 5 and payload.startswith(b"\x68question", pos):
                flag = payload[pos + 9]
                if flag not in (0xF4, 0xF5):
                    return None
                rank, question, pos = 5, flag == 0xF5, pos + 10
            else:
                return None
    except (LookupError, ValueError):
        return None
    # Each test of a list only when the list has items: the tests cost more than an
    # empty post's parts do (most posts have a tag or two and no links or mentions).
    if (
        pos != len(payload)
        or text is None
        or is_blank_text(text)
        or (tags and not all(map(is_valid_tag, tags)))
        or (links and not all(map(is_valid_link, links)))
        or (len(mentions) > 1 and len(set(mentions)) != len(mentions))
    ):
        return None
    return post_of_checked(text, tags, links, mentions, question)


def _text(payload: bytes, pos: int) -> tuple[str, int]:
    """A text string in shortest form at ``pos``, decoded, and where it ends
    (ValueError: not one, or not valid UTF-8)."""
    initial = payload[pos]
    if 0x60 <= initial <= 0x77:
        start, length = pos + 1, initial - 0x60
    elif initial == 0x78:
        start, length = pos + 2, payload[pos + 1]
        if length < 24:
            raise ValueError("not in shortest form")
    elif initial == 0x79:
        start, length = pos + 3, (payload[pos + 1] << 8) | payload[pos + 2]
        if length < 0x100:
            raise ValueError("not in shortest form")
    else:
        raise ValueError("not a text string of this layout")
    # A string cut short by the payload's end leaves the payload's end before the
    # position this returns, which read_post refuses.
    end = start + length
    return payload[start:end].decode("utf-8"), end


def _words(payload: bytes, pos: int, most: int) -> tuple[tuple[str, ...], int]:
    """An array of at most ``most`` (at most 23) text strings at ``pos``."""
    count = payload[pos] - 0x80
    if not 0 <= count <= most:
        raise ValueError("not an array of this layout")
    pos += 1
    words = []
    for _ in range(count):
        initial = payload[pos]
        if 0x60 <= initial <= 0x77:  # a string of at most 23 bytes: most words, in line
            end = pos + 1 + initial - 0x60
            words.append(payload[pos + 1 : end].decode("utf-8"))
            pos = end
        else:
            word, pos = _text(payload, pos)
            words.append(word)
    return tuple(words), pos


def _keys(payload: bytes, pos: int) -> tuple[tuple[bytes, ...], int]:
    """An array of at most ``MAX_MENTIONS`` 32-byte byte strings at ``pos``."""
    count = payload[pos] - 0x80
    if not 0 <= count <= MAX_MENTIONS:
        raise ValueError("not an array of this layout")
    pos += 1
    keys = []
    for _ in range(count):
        if payload[pos] != 0x58 or payload[pos + 1] != KEY_SIZE:
            raise ValueError("not a 32-byte byte string")
        keys.append(payload[pos + 2 : pos + 34])
        pos += 34
    return tuple(keys), pos
