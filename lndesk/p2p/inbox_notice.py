"""Inbox notices: an entry addressed to someone, delivered on that person's GossipSub topic.

A reply, a share or a mention is *addressed* to people (``lndesk.content.addressed_keys``,
docs/protocol.md section 10.10) who may not follow its author. When a node publishes
such an entry it also sends an **inbox notice** on each addressed person's inbox topic,
``lndesk/inbox/1/<key as 64 lowercase hex>``. The person's own node and the nodes of
their followers subscribe to it: they relay it, and they keep the entry, so it can be
served to the person later (docs/protocol.md section 28).

The message is the deterministic CBOR encoding of a map:

========== ======================= ==================================================
key        CBOR type               meaning
========== ======================= ==================================================
to         byte string, 32 bytes   the addressed key; the topic's key
entry      byte string, <= 512     the addressed entry, exactly as signed
payload    byte string             the entry's payload (always carried)
========== ======================= ==================================================

The payload is always carried because whether an entry is addressed to ``to`` is read
from its payload: with it, a notice proves itself (signature, payload hash, and a
content that addresses ``to``), so relays can check it before passing it on and a
receiver can store it without a round trip. A notice is at most ``MAX_NOTICE_SIZE``
bytes; an entry whose payload does not fit is not sent live, and the addressed person
gets it by inbox catch-up (``lndesk.p2p.catchup``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lndesk import canonical
from lndesk.content import KNOWN_TYPES, Content, addressed_keys, parse_content
from lndesk.entry import KEY_SIZE, MAX_ENTRY_SIZE, Entry, decode_entry
from lndesk.errors import ContentError, DecodeError, SizeError
from lndesk.identity import blake2b_256
from lndesk.p2p.topics import key_topic, message_map, topic_key

MAX_NOTICE_SIZE = 16384
"""Largest inbox notice accepted or sent, in bytes (entry, payload and framing)."""

INBOX_TOPIC_PREFIX = "lndesk/inbox/1/"
NOTICE_ID_PREFIX = b"\x01"
"""First byte of a notice's message id (entry ids have no prefix, other data ``00``)."""

_KEYS = frozenset({"to", "entry", "payload"})


class UnknownContentType(ContentError):
    """The notice's entry has a content type this version does not know.

    It cannot be checked for being addressed, so it is not relayed; but a later version
    may address people with new types, so its forwarder is not penalised.
    """


@dataclass(frozen=True, slots=True)
class InboxNotice:
    """A verified notice: ``entry`` is authentic, ``payload`` matches it, and its content
    addresses ``to``."""

    to: bytes
    entry: Entry
    payload: bytes
    content: Content


def inbox_topic(key: bytes) -> str:
    """The GossipSub topic on which entries addressed to ``key`` are announced."""
    return key_topic(INBOX_TOPIC_PREFIX, key, "an inbox key")


def key_of_inbox_topic(topic: str) -> bytes | None:
    """The key an inbox topic name stands for, or None if it is not an inbox topic."""
    return topic_key(INBOX_TOPIC_PREFIX, topic)


def notice_id(to: bytes, entry_raw: bytes) -> bytes:
    """The GossipSub message id of a notice: ``01 || BLAKE2b-256(to || entry id)``.

    Unique per (person, entry): the same reply sent to two inboxes, or announced on its
    author's feed topic (whose message id is the entry id), is never taken for a copy.
    """
    return NOTICE_ID_PREFIX + blake2b_256(to + blake2b_256(entry_raw))


def encode_notice(to: bytes, entry_raw: bytes, payload: bytes) -> bytes:
    """Encode (and fully check) a notice of ``entry_raw`` for ``to``'s inbox.

    Raises ``SizeError`` if it would exceed ``MAX_NOTICE_SIZE`` (the entry then reaches
    ``to`` by catch-up), and the ``EntryError`` subclasses of :func:`decode_notice` if
    the entry is not valid or not addressed to ``to``.
    """
    data = canonical.encode({"to": to, "entry": entry_raw, "payload": payload})
    if len(data) > MAX_NOTICE_SIZE:
        raise SizeError(
            f"an inbox notice of {len(data)} bytes is over the {MAX_NOTICE_SIZE}-byte limit",
            "The addressed person gets the entry by inbox catch-up instead.",
        )
    decode_notice(data, topic=inbox_topic(to))
    return data


def decode_notice(data: bytes, *, topic: str | None = None) -> InboxNotice:
    """Decode and fully verify a notice, in the order of docs/protocol.md section 28.2.

    With ``topic``, the notice must also belong on that topic. Raises ``SizeError``,
    ``DecodeError``, ``PayloadError``, ``SignatureError`` or ``ContentError`` (all
    ``EntryError``); :class:`UnknownContentType` (a ``ContentError``) for an entry of a
    type this version does not know.
    """
    to, entry_raw, payload = split_notice(data)
    entry = decode_entry(entry_raw)
    if topic is not None and topic != inbox_topic(to):
        raise DecodeError("inbox notice was sent on another person's inbox topic")
    if entry.author == to:
        raise DecodeError("inbox notice addresses the entry's own author")
    entry.check_payload(payload)
    entry.verify_signature()
    if entry.type not in KNOWN_TYPES:
        raise UnknownContentType(f"inbox notice of an entry of unknown type {entry.type[:40]!r}")
    content = parse_content(entry.type, payload)
    if to not in addressed_keys(content, entry.author):
        raise ContentError("inbox notice of an entry that is not addressed to the topic's key")
    return InboxNotice(to, entry, payload, content)


def split_notice(data: bytes) -> tuple[bytes, bytes, bytes]:
    """``to``, entry bytes and payload of a notice, checking only its layout (cheap)."""
    doc = message_map(data, MAX_NOTICE_SIZE, "inbox notice")
    if doc.keys() != _KEYS:
        raise DecodeError("inbox notice must have exactly the keys to, entry and payload")
    to, entry_raw, payload = doc["to"], doc["entry"], doc["payload"]
    if type(to) is not bytes or len(to) != KEY_SIZE:
        raise DecodeError("inbox notice 'to' must be a 32-byte key")
    if type(entry_raw) is not bytes or len(entry_raw) > MAX_ENTRY_SIZE:
        raise DecodeError(f"inbox notice entry must be at most {MAX_ENTRY_SIZE} bytes")
    if type(payload) is not bytes:
        raise DecodeError("inbox notice payload must be a byte string")
    return to, entry_raw, payload
