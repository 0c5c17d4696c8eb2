"""The messages of an anti-entropy visit, ``/lndesk/visit/1`` (docs/protocol.md 20.16).

One stream carries one question and one answer, each one frame (the framing of the sync
protocol, section 20.1):

1. reader → ``visit``: ``heights``, the digest of the height vector it left this server
   with (section 20.15), and ``inbox``, for each inbox key it asked this server about
   before, the ``since`` of that ask and ``seen``, the digest of the references it got
   (:func:`refs_digest`);
2. server → ``visited``: ``heights`` (true: nothing to serve above that vector),
   ``inbox`` (per asked key, null when the references are those the reader saw, else
   the references now), ``forked`` (the feeds of the vector the server holds a fork
   proof of; null when it does not remember the vector, or holds more than
   ``MAX_FORKED``), or ``error``; then the server closes the stream.

Decoding is as strict as sync: anything else is a ProtocolError, and the peer that sent
it is penalised.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lndesk.entry import KEY_SIZE, MAX_TIMESTAMP_MS
from lndesk.entry_refs import Ref
from lndesk.errors import ProtocolError
from lndesk.p2p.catchup import parse_refs
from lndesk.p2p.frame_caps import MAX_FORKED, MAX_VISIT_INBOXES, VISIT_CAPS, max_body
from lndesk.p2p.wire import (
    ERROR_PARSER,
    Error,
    MessageFrames,
    Parsers,
    decode_map_body,
    encode_frame,
    encode_map_frame,
)

PROTOCOL_NAME = "visit"
VISIT_PROTOCOL_ID = "/lndesk/visit/1"
MAX_VISIT_FRAME = max_body(VISIT_CAPS)
"""Largest visit frame body accepted (a ``visited`` with four full inbox answers)."""
DIGEST_SIZE = 32
INBOX_PERSON = b"lndesk-inbox"
"""BLAKE2b personalisation of an inbox answer's digest (zero-padded to 16 bytes)."""


def refs_digest(refs: Iterable[Ref]) -> bytes:
    """BLAKE2b-256 (personalised ``lndesk-inbox``) of the references sorted bytewise,
    each ``author || seq (u64 big-endian) || id``: the same set has the same digest
    whatever order it was listed in."""
    records = sorted(bytes(a) + seq.to_bytes(8, "big") + bytes(i) for a, seq, i in refs)
    return hashlib.blake2b(b"".join(records), digest_size=DIGEST_SIZE, person=INBOX_PERSON).digest()


@dataclass(frozen=True, slots=True)
class InboxCheck:
    """One inbox key the reader asked this server about before, and what it got."""

    to: bytes
    since: int
    """The ``since`` of that ask (section 29.1)."""
    seen: bytes
    """:func:`refs_digest` of the references it got."""


@dataclass(frozen=True, slots=True)
class Visit:
    """Reader → server: the digest of the vector it left the server with, and its inboxes."""

    heights: bytes
    inbox: tuple[InboxCheck, ...]


@dataclass(frozen=True, slots=True)
class Visited:
    """Server → reader: what changed since the reader's last sessions with it."""

    heights: bool
    """True: the server holds no served entry above any height of the vector."""
    inbox: tuple[tuple[Ref, ...] | None, ...]
    """Per asked key: None if unchanged, else the references an ``ask`` would get."""
    forked: tuple[bytes, ...] | None
    """Feeds of the vector the server holds a fork proof of (None: not known)."""


VisitMessage = Visit | Visited | Error


def encode_visit_frame(message: VisitMessage) -> bytes:
    if isinstance(message, Visit):
        checks = [[c.to, c.since, c.seen] for c in message.inbox]
        return encode_map_frame({"t": "visit", "heights": message.heights, "inbox": checks})
    if isinstance(message, Visited):
        inbox = [None if refs is None else [list(r) for r in refs] for refs in message.inbox]
        forked = None if message.forked is None else list(message.forked)
        doc = {"t": "visited", "heights": message.heights, "inbox": inbox, "forked": forked}
        return encode_map_frame(doc)
    return encode_frame(message)  # the error message is the sync protocol's


def decode_visit_body(body: bytes) -> VisitMessage:
    """Decode one visit frame body (without its length prefix), strictly."""
    return decode_map_body(body, PROTOCOL_NAME, _PARSERS, VISIT_CAPS)


def _bytes32(value: object, what: str) -> bytes:
    if type(value) is not bytes or len(value) != DIGEST_SIZE:
        raise ProtocolError(f"{what} must be 32 bytes")
    return value


def _visit(doc: dict[str, Any]) -> Visit:
    heights, items = _bytes32(doc["heights"], "visit: 'heights'"), doc["inbox"]
    if type(items) is not list or len(items) > MAX_VISIT_INBOXES:
        raise ProtocolError(f"visit: 'inbox' must be an array of at most {MAX_VISIT_INBOXES}")
    checks = []
    for item in items:
        if type(item) is not list or len(item) != 3:
            raise ProtocolError("visit: 'inbox' items must be [to, since, seen]")
        to, since, seen = item
        _bytes32(to, "visit: an inbox key")
        if type(since) is not int or not 0 <= since <= MAX_TIMESTAMP_MS:
            raise ProtocolError(f"visit: an inbox 'since' is out of range: {since!r}")
        checks.append(InboxCheck(to, since, _bytes32(seen, "visit: an inbox 'seen'")))
    if len({c.to for c in checks}) != len(checks):
        raise ProtocolError("visit names an inbox key twice")
    return Visit(heights, tuple(checks))


def _visited(doc: dict[str, Any]) -> Visited:
    heights, items, forked = doc["heights"], doc["inbox"], doc["forked"]
    if type(heights) is not bool:
        raise ProtocolError("visited: 'heights' must be true or false")
    if type(items) is not list or len(items) > MAX_VISIT_INBOXES:
        raise ProtocolError(f"visited: 'inbox' must be an array of at most {MAX_VISIT_INBOXES}")
    inbox = tuple(None if item is None else parse_refs({"refs": item}).refs for item in items)
    if forked is not None:
        if type(forked) is not list or len(forked) > MAX_FORKED:
            raise ProtocolError(f"visited: 'forked' must be null or at most {MAX_FORKED} keys")
        for key in forked:
            if type(key) is not bytes or len(key) != KEY_SIZE:
                raise ProtocolError("visited: a forked feed must be a 32-byte key")
        if len(set(forked)) != len(forked):
            raise ProtocolError("visited names a forked feed twice")
        forked = tuple(forked)
    elif heights:
        raise ProtocolError("visited: 'heights' is true but the vector is not known")
    return Visited(heights, inbox, forked)


_PARSERS: Parsers[VisitMessage] = {
    "visit": (("heights", "inbox"), _visit),
    "visited": (("heights", "inbox", "forked"), _visited),
    "error": ERROR_PARSER,
}


class VisitFrames(MessageFrames[VisitMessage]):
    """Visit frames on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any) -> None:
        super().__init__(stream, MAX_VISIT_FRAME, VISIT_CAPS, encode_visit_frame, decode_visit_body)
