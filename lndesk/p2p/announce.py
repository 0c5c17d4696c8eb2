"""Head announcements: the one message lndesk sends over GossipSub.

A node that learns a new head of a feed (it wrote the entry, or it fetched it by sync)
announces it on that feed's topic, ``lndesk/feed/1/<author key as 64 lowercase hex>``.
The message is the deterministic CBOR encoding (see ``lndesk.canonical``) of a map:

========== ======================= ==================================================
key        CBOR type               meaning
========== ======================= ==================================================
author     byte string, 32 bytes   the feed's public key; equals the entry's author
entry      byte string, <= 512     the head entry, exactly as signed
payload    byte string (optional)  the entry's payload, only when it is small
========== ======================= ==================================================

No other keys are allowed and an absent payload is an absent key (never ``null``). The
whole message is at most ``MAX_ANNOUNCEMENT_SIZE`` bytes, checked before any decoding;
a sender includes the payload only when it is at most ``Limits.gossip_payload`` bytes
(4096 by default), so a typical post needs no round trip after its announcement. The
protocol version is the ``1`` in the topic name: a new message layout gets new topics.

An announcement is accepted only if every check passes: the size cap, canonical CBOR,
exactly these keys and types, the entry decodes, ``author`` is the entry's author and
the topic's, the entry's signature verifies, and a carried payload has the hash and
size the entry commits to. Announcements are hints: they are never stored as they are;
the receiver ingests the entry (and payload) through the same checks as synced data.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lndesk import canonical
from lndesk.entry import KEY_SIZE, MAX_ENTRY_SIZE, Entry, decode_entry
from lndesk.errors import DecodeError, SizeError
from lndesk.identity import blake2b_256
from lndesk.p2p.topics import key_topic, message_map, topic_key

MAX_ANNOUNCEMENT_SIZE = 8192
"""Largest announcement accepted or sent, in bytes (entry, payload and framing)."""

TOPIC_PREFIX = "lndesk/feed/1/"

EMPTY_PAYLOAD_HASH = blake2b_256(b"")

_REQUIRED = frozenset({"author", "entry"})
_ALLOWED = _REQUIRED | {"payload"}


@dataclass(frozen=True, slots=True)
class HeadAnnouncement:
    """A verified announcement: ``entry`` is authentic and ``payload`` (if any) matches it."""

    author: bytes
    entry: Entry
    payload: bytes | None


def head_payload(head: HeadAnnouncement) -> bytes | None:
    """The payload to store with an announced head: the carried one, or, for an entry of
    ``payload_size`` 0 whose hash is that of the empty string, the empty payload (it
    needs no carrying). None when the payload has to come by sync."""
    if head.payload is not None:
        return head.payload
    entry = head.entry
    if entry.payload_size == 0 and entry.payload_hash == EMPTY_PAYLOAD_HASH:
        return b""
    return None


def feed_topic(author: bytes) -> str:
    """The GossipSub topic on which heads of ``author``'s feed are announced."""
    return key_topic(TOPIC_PREFIX, author, "an author key")


def author_of_topic(topic: str) -> bytes | None:
    """The author key a topic name stands for, or None if it is not a feed topic."""
    return topic_key(TOPIC_PREFIX, topic)


def encode_announcement(entry_raw: bytes, payload: bytes | None) -> bytes:
    """Encode (and check) an announcement of ``entry_raw``, carrying ``payload`` if given.

    The caller decides whether the payload is small enough to carry; this raises
    ``SizeError`` if the whole message would exceed ``MAX_ANNOUNCEMENT_SIZE``, and the
    usual ``EntryError`` subclasses if the entry or payload is not valid. The result is
    checked by ``decode_announcement``, so nothing is sent that a peer would reject.
    """
    entry = decode_entry(entry_raw)
    doc: dict[str, bytes] = {"author": entry.author, "entry": entry.raw}
    if payload is not None:
        doc["payload"] = bytes(payload)
    data = canonical.encode(doc)
    if len(data) > MAX_ANNOUNCEMENT_SIZE:
        raise SizeError(
            f"a head announcement of {len(data)} bytes is over the "
            f"{MAX_ANNOUNCEMENT_SIZE}-byte limit",
            "Announce the entry without its payload; peers fetch it by sync.",
        )
    decode_announcement(data)
    return data


def decode_announcement(data: bytes, *, topic: str | None = None) -> HeadAnnouncement:
    """Decode and fully verify an announcement (including the entry's signature).

    With ``topic``, the announcement must also belong on that topic. Raises
    ``DecodeError``, ``SizeError``, ``SignatureError`` or ``PayloadError`` (all
    ``EntryError``) with a message saying what is wrong.
    """
    entry_raw, author, payload = split_announcement(data)
    entry = decode_entry(entry_raw)
    if entry.author != author:
        raise DecodeError("head announcement names another author than its entry")
    if topic is not None and topic != feed_topic(author):
        raise DecodeError("head announcement was sent on another feed's topic")
    if payload is not None:
        entry.check_payload(payload)
    entry.verify_signature()
    return HeadAnnouncement(author, entry, payload)


def split_announcement(data: bytes) -> tuple[bytes, bytes, bytes | None]:
    """The entry bytes, author and payload of an announcement, checking only its layout.

    Cheap (no entry decoding, no signature): used to compute message ids. A received
    announcement is split for its message id and again by its validator; the last few
    results are kept (``_recent_split``), for data no larger than an announcement.
    """
    if type(data) is bytes and len(data) <= MAX_ANNOUNCEMENT_SIZE:
        return _recent_split(data)
    return _split(data)


def _split(data: bytes) -> tuple[bytes, bytes, bytes | None]:
    doc = message_map(data, MAX_ANNOUNCEMENT_SIZE, "head announcement")
    keys = doc.keys()
    if not keys >= _REQUIRED or not keys <= _ALLOWED:
        raise DecodeError(
            "head announcement must have the keys author, entry and optionally payload"
        )
    author, entry_raw = doc["author"], doc["entry"]
    payload = doc.get("payload")
    if type(author) is not bytes or len(author) != KEY_SIZE:
        raise DecodeError("head announcement author must be a 32-byte key")
    if type(entry_raw) is not bytes or len(entry_raw) > MAX_ENTRY_SIZE:
        raise DecodeError(f"head announcement entry must be at most {MAX_ENTRY_SIZE} bytes")
    if "payload" in doc and type(payload) is not bytes:
        raise DecodeError("head announcement payload must be a byte string")
    return entry_raw, author, payload


_recent_split = functools.lru_cache(maxsize=64)(_split)
