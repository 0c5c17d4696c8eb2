"""How big each stream message may be, checked before its frame body is decoded.

Every frame body of the lndesk stream protocols is a CBOR map whose first key is ``t``
(the shortest key, so first in deterministic order). Its message type is read from the
first bytes, and the body is then scanned (:func:`lndesk.cbor_scan.scan`) against that
type's caps, before any object is built: only ``batch`` may be big, every other message
is small (docs/protocol.md sections 20.8 and 29.1). A body whose type cannot be read, or
is one the receiver does not accept, gets the smallest caps, so it can cost no more to
refuse than an ``error``.
"""

from __future__ import annotations

from collections.abc import Mapping

from lndesk.cbor_scan import ScanLimits, scan
from lndesk.content import MAX_MARKS_PER_FETCH
from lndesk.entry import MAX_PAYLOAD_SIZE
from lndesk.errors import DecodeError, ProtocolError

Caps = Mapping[str, ScanLimits]
"""Message type -> the caps of its frame body."""

MAX_FRAME = 2 * 1024 * 1024
"""Largest sync frame body (section 20.8, ``max_frame``)."""
MAX_BATCH_ITEMS = 10_000
"""Most entries in one batch (section 7)."""
MAX_WANT_FEEDS = 5000
"""Most feeds in one ``want`` (section 20.8, ``want_feeds``)."""
MAX_REFS = 500
"""Most references in one inbox catch-up ``refs`` (section 29.1)."""

_SLACK = 40
"""Items allowed beyond a well-formed message's count, so that a malformed one (an
extra field, say) is refused by the rule it breaks rather than by the item cap."""
_SMALL = ScanLimits(max_bytes=256, max_items=32, max_string=64)
"""A message of a few fields: ``get``, ``ack``, ``done``, ``ask``."""
_ERROR = ScanLimits(max_bytes=8192, max_items=32, max_string=4096)
"""``error``: a code and a message of at most 1000 characters."""

SYNC_CAPS: dict[str, ScanLimits] = {
    "want": ScanLimits(max_bytes=262_144, max_items=5 + 3 * MAX_WANT_FEEDS + _SLACK, max_string=64),
    "have": ScanLimits(max_bytes=327_680, max_items=5 + 4 * MAX_WANT_FEEDS + _SLACK, max_string=64),
    "get": _SMALL,
    "batch": ScanLimits(
        max_bytes=MAX_FRAME, max_items=7 + 3 * MAX_BATCH_ITEMS + _SLACK, max_string=MAX_FRAME
    ),
    "ack": _SMALL,
    "done": _SMALL,
    "error": _ERROR,
    "digest": _SMALL,
    "same": _SMALL,
    "differs": _SMALL,
}
"""Caps of every sync message (docs/protocol.md sections 20.8 and 20.15)."""

SERVER_RECEIVES: dict[str, ScanLimits] = {
    kind: SYNC_CAPS[kind] for kind in ("want", "get", "ack", "error", "digest")
}
"""The sync messages a reader sends: all a server accepts."""

READER_RECEIVES: dict[str, ScanLimits] = {
    kind: SYNC_CAPS[kind] for kind in ("have", "batch", "done", "error", "same", "differs")
}
"""The sync messages a server sends: all a reader accepts."""

CATCHUP_CAPS: dict[str, ScanLimits] = {
    "ask": _SMALL,
    "refs": ScanLimits(max_bytes=65_536, max_items=5 + 4 * MAX_REFS + _SLACK, max_string=64),
    "error": _ERROR,
}
"""Caps of every inbox catch-up message (docs/protocol.md section 29.1)."""

MAX_VISIT_INBOXES = 4
"""Most inbox keys one ``visit`` checks (section 20.16); a node with more asks the rest
with ``/lndesk/inbox/1``."""
MAX_FORKED = 64
"""Most forked feeds one ``visited`` names (section 20.16)."""
VISIT_CAPS: dict[str, ScanLimits] = {
    "visit": ScanLimits(
        max_bytes=1024, max_items=8 + 4 * MAX_VISIT_INBOXES + _SLACK, max_string=64
    ),
    "visited": ScanLimits(
        max_bytes=MAX_VISIT_INBOXES * 65_536 + 4096,
        max_items=9 + MAX_VISIT_INBOXES * (1 + 4 * MAX_REFS) + MAX_FORKED + _SLACK,
        max_string=64,
    ),
    "error": _ERROR,
}
"""Caps of every visit message (docs/protocol.md section 20.16)."""

PROFILE_CAPS: dict[str, ScanLimits] = {
    "profile": _SMALL,
    "refs": ScanLimits(max_bytes=1024, max_items=5 + 4 + _SLACK, max_string=64),
    "error": _ERROR,
}
"""Caps of every profile lookup message (docs/protocol.md section 31.1)."""

UNKNOWN = _SMALL
"""Caps of a body whose type cannot be read or is not accepted."""

GOSSIP_ITEMS = 16
"""Most CBOR items in a head announcement or inbox notice (a map of three fields is
seven), sections 21.2 and 28.2."""


def gossip_limits(max_size: int) -> ScanLimits:
    """Caps of a GossipSub message of at most ``max_size`` bytes."""
    return ScanLimits(
        max_bytes=max_size, max_items=GOSSIP_ITEMS, max_string=max(max_size, MAX_PAYLOAD_SIZE)
    )


def max_body(caps: Caps) -> int:
    """The largest body any message of ``caps`` may have: a longer frame is refused
    from its length prefix alone."""
    return max(limit.max_bytes for limit in caps.values())


def message_type(body: bytes) -> str | None:
    """The ``t`` of a frame body, read from its first bytes; None unless the body starts
    with a map header, the key ``t`` and a short text value."""
    if len(body) < 4 or body[0] >> 5 != 5:
        return None
    info = body[0] & 0x1F
    pos = 1 + {24: 1, 25: 2, 26: 4, 27: 8}.get(info, 0 if info < 24 else 99)
    if body[pos : pos + 2] != b"\x61t" or pos + 2 >= len(body):
        return None
    head = body[pos + 2]
    length = head & 0x1F
    if head >> 5 != 3 or length >= 24:
        return None
    text = body[pos + 3 : pos + 3 + length]
    if len(text) != length or not text.isascii():
        return None
    return text.decode("ascii")


def check_body(body: bytes, protocol: str, caps: Caps) -> None:
    """Raise ProtocolError unless ``body`` is within the caps of its message type.

    ``protocol`` names the protocol in the error ("sync", "inbox catch-up").
    """
    kind = message_type(body)
    limits = caps.get(kind, UNKNOWN) if kind is not None else UNKNOWN
    a = "an" if protocol[0] in "aeiou" else "a"
    what = f"{a} {protocol} {kind} frame" if kind in caps else f"{a} {protocol} frame"
    if len(body) > limits.max_bytes:
        raise ProtocolError(
            f"{what} of {len(body)} bytes is over the {limits.max_bytes}-byte cap for it"
        )
    try:
        scan(body, limits)
    except DecodeError as exc:
        raise ProtocolError(f"{what} is not valid CBOR: {exc}") from exc


MAX_THREAD_REPLIES = 100
"""Most replies one thread fetch answer names (section 32.1)."""
THREAD_CAPS: dict[str, ScanLimits] = {
    "thread": ScanLimits(max_bytes=256, max_items=32, max_string=64),
    "replies": ScanLimits(
        max_bytes=16_384, max_items=7 + 4 * MAX_THREAD_REPLIES + _SLACK, max_string=64
    ),
    "error": _ERROR,
}
"""Caps of every thread fetch message (docs/protocol.md section 32.1)."""

MAX_THREAD_MARKS = 2 * MAX_MARKS_PER_FETCH
"""Most marks and take-backs one ``/lndesk/thread/2`` answer names: the newest 16 marks,
and a tombstone for each of the 16 asked ones (section 32.1)."""
THREAD_MARKS_CAPS: dict[str, ScanLimits] = {
    "thread": ScanLimits(max_bytes=1024, max_items=32 + 2 + MAX_MARKS_PER_FETCH, max_string=64),
    "replies": ScanLimits(
        max_bytes=16_384,
        max_items=9 + 4 * (MAX_THREAD_REPLIES + MAX_THREAD_MARKS) + _SLACK,
        max_string=64,
    ),
    "error": _ERROR,
}
"""Caps of every ``/lndesk/thread/2`` message (docs/protocol.md section 32.1)."""
