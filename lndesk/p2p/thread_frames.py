"""The messages of thread fetch, ``/lndesk/thread/1`` and ``/lndesk/thread/2``
(docs/protocol.md section 32.1), and their frames.

Both versions have the same two messages. Version 2 adds one field to each: the asker's
``thread`` lists the ids of the root author's ``helpful`` marks it already holds under
the root, and the server's ``replies`` names, beside the replies, the root author's
marks under the root and the tombstones that took back marks the asker listed. A
message of one version is decoded only on a stream of that version: a field of the
other is a ``ProtocolError``, as any extra field is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from libp2p.custom_types import TProtocol

from lndesk.content import MAX_MARKS_PER_FETCH
from lndesk.entry_refs import Ref, parse_ref
from lndesk.errors import ProtocolError
from lndesk.p2p.catchup import parse_refs
from lndesk.p2p.frame_caps import (
    MAX_THREAD_MARKS,
    MAX_THREAD_REPLIES,
    THREAD_CAPS,
    THREAD_MARKS_CAPS,
)
from lndesk.p2p.wire import (
    ERROR_PARSER,
    Error,
    MessageFrames,
    Parsers,
    decode_map_body,
    encode_frame,
    encode_map_frame,
)

PROTOCOL_NAME = "thread fetch"
THREAD_PROTOCOL_ID = "/lndesk/thread/1"
THREAD_PROTOCOL = TProtocol(THREAD_PROTOCOL_ID)
THREAD_MARKS_PROTOCOL_ID = "/lndesk/thread/2"
THREAD_MARKS_PROTOCOL = TProtocol(THREAD_MARKS_PROTOCOL_ID)
MAX_THREAD_FRAME = 16_384
"""Largest thread fetch frame body accepted (an answer names at most 100 replies and
32 marks)."""
MAX_TOTAL = 2**53 - 1
ID_SIZE = 32


@dataclass(frozen=True, slots=True)
class ThreadAsk:
    """Asker → server: which replies do you show under ``root`` (at most ``limit``)?

    ``marks`` (version 2 only; None in version 1): the ids of the root author's marks
    under the root that the asker holds, so that the server can name their tombstones.
    """

    root: Ref
    limit: int
    marks: tuple[bytes, ...] | None = None


@dataclass(frozen=True, slots=True)
class Replies:
    """Server → asker: how many replies it shows under the root, and the newest of them.

    ``marks`` (version 2 only; None in version 1): the root author's marks under the
    root, and tombstones of the asked marks.
    """

    total: int
    refs: tuple[Ref, ...]
    marks: tuple[Ref, ...] | None = None


ThreadMessage = ThreadAsk | Replies | Error


def encode_thread_frame(message: ThreadMessage) -> bytes:
    """One frame; a message whose ``marks`` is not None has the form of version 2."""
    if isinstance(message, ThreadAsk):
        ask: dict[str, Any] = {"t": "thread", "root": list(message.root), "limit": message.limit}
        if message.marks is not None:
            ask["marks"] = list(message.marks)
        return encode_map_frame(ask)
    if isinstance(message, Replies):
        doc: dict[str, Any] = {
            "t": "replies",
            "refs": [list(ref) for ref in message.refs],
            "total": message.total,
        }
        if message.marks is not None:
            doc["marks"] = [list(ref) for ref in message.marks]
        return encode_map_frame(doc)
    return encode_frame(message)  # the error message is the sync protocol's


def decode_thread_body(body: bytes, version: int = 1) -> ThreadMessage:
    """Decode one thread fetch frame body (without its length prefix) of ``version``
    (1 or 2), strictly."""
    if version == 1:
        return decode_map_body(body, PROTOCOL_NAME, _PARSERS, THREAD_CAPS)
    return decode_map_body(body, PROTOCOL_NAME, _MARKS_PARSERS, THREAD_MARKS_CAPS)


def _ask(doc: dict[str, Any]) -> ThreadAsk:
    root = parse_ref(doc["root"])
    if root is None:
        raise ProtocolError("thread: 'root' must be an entry reference [author, seq, id]")
    limit = doc["limit"]
    if type(limit) is not int or not 1 <= limit <= MAX_THREAD_REPLIES:
        raise ProtocolError(f"thread: 'limit' must be an integer from 1 to {MAX_THREAD_REPLIES}")
    return ThreadAsk(root, limit)


def _ask_marks(doc: dict[str, Any]) -> ThreadAsk:
    ask = _ask(doc)
    items = doc["marks"]
    if type(items) is not list or len(items) > MAX_MARKS_PER_FETCH:
        raise ProtocolError(
            f"thread: 'marks' must be an array of at most {MAX_MARKS_PER_FETCH} ids"
        )
    if any(type(item) is not bytes or len(item) != ID_SIZE for item in items):
        raise ProtocolError("thread: every item of 'marks' must be a 32-byte entry id")
    if len(set(items)) != len(items):
        raise ProtocolError("thread: 'marks' names an id twice")
    return ThreadAsk(ask.root, ask.limit, tuple(items))


def _replies(doc: dict[str, Any]) -> Replies:
    total = doc["total"]
    if type(total) is not int or not 0 <= total <= MAX_TOTAL:
        raise ProtocolError("replies: 'total' must be an integer from 0 to 2^53-1")
    refs = parse_refs(doc).refs
    if len(refs) > MAX_THREAD_REPLIES:
        raise ProtocolError(f"replies names more than {MAX_THREAD_REPLIES} entries")
    if total < len(refs):
        raise ProtocolError("replies: 'total' is less than the replies it names")
    return Replies(total, refs)


def _replies_marks(doc: dict[str, Any]) -> Replies:
    replies = _replies(doc)
    if type(doc["marks"]) is not list:
        raise ProtocolError("replies: 'marks' must be an array")
    if len(doc["marks"]) > MAX_THREAD_MARKS:
        raise ProtocolError(f"replies names more than {MAX_THREAD_MARKS} marks")
    marks = parse_refs({"refs": doc["marks"]}).refs
    named = {ref.post_key for ref in replies.refs}
    if any(ref.post_key in named for ref in marks):
        raise ProtocolError("replies names an entry twice, as a reply and as a mark")
    return Replies(replies.total, replies.refs, marks)


_PARSERS: Parsers[ThreadMessage] = {
    "thread": (("root", "limit"), _ask),
    "replies": (("refs", "total"), _replies),
    "error": ERROR_PARSER,
}
_MARKS_PARSERS: Parsers[ThreadMessage] = {
    "thread": (("root", "limit", "marks"), _ask_marks),
    "replies": (("refs", "marks", "total"), _replies_marks),
    "error": ERROR_PARSER,
}


class ThreadFrames(MessageFrames[ThreadMessage]):
    """Thread fetch frames of one ``version`` (1 or 2) on a libp2p stream."""

    name = PROTOCOL_NAME

    def __init__(self, stream: Any, version: int = 1) -> None:
        self.version = version
        caps = THREAD_CAPS if version == 1 else THREAD_MARKS_CAPS
        super().__init__(
            stream,
            MAX_THREAD_FRAME,
            caps,
            encode_thread_frame,
            lambda body: decode_thread_body(body, version),
        )


__all__ = [
    "MAX_THREAD_FRAME",
    "PROTOCOL_NAME",
    "THREAD_MARKS_PROTOCOL",
    "THREAD_PROTOCOL",
    "Replies",
    "ThreadAsk",
    "ThreadFrames",
    "ThreadMessage",
    "decode_thread_body",
    "encode_thread_frame",
]
