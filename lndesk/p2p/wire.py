"""Frames of the sync protocol ``/lndesk/sync/1`` (docs/protocol.md, "Sync protocol").

A frame is a 4-byte big-endian length followed by that many bytes of deterministic CBOR:
one map whose ``t`` names the message. Decoding is strict: unknown message types, missing
or extra fields, wrong types and out-of-range numbers are all a ProtocolError, because a
peer that sends them is either broken or hostile and the session must end.
"""

from __future__ import annotations

import math
import struct
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import trio
from libp2p.network.stream.exceptions import StreamEOF, StreamError

from lndesk import canonical
from lndesk.entry import KEY_SIZE, MAX_ENTRY_SIZE, MAX_PAYLOAD_SIZE, MAX_SEQ
from lndesk.errors import DecodeError, NetworkError, ProtocolError
from lndesk.p2p.frame_caps import SYNC_CAPS, Caps, check_body, max_body
from lndesk.p2p.offload import OFFLOAD_BYTES, run_cpu

PROTOCOL_ID = "/lndesk/sync/1"
FRAME_HEAD = struct.Struct(">I")

T = TypeVar("T")

Parsers = Mapping[str, tuple[tuple[str, ...], Callable[[dict[str, Any]], T]]]
"""Message type (``t``) -> (its fields besides ``t``, the parser building the message)."""


class StreamGone(NetworkError):
    """The stream ended or was reset: the peer went away, which is not misbehaviour."""


class PeerStalled(StreamGone):
    """The peer took no write within the sender's ``send_timeout``: it stopped reading
    (or its link all but stopped), which ends the session and is not misbehaviour."""


@dataclass(frozen=True, slots=True)
class Want:
    """Reader → server, first frame: the feeds the reader asks about and its height of each."""

    feeds: tuple[tuple[bytes, int], ...]


@dataclass(frozen=True, slots=True)
class FeedHave:
    key: bytes
    height: int
    """Entries 1..height are all held."""
    max_seq: int
    """Highest entry held (above ``height`` when a newest-first sync left a gap)."""


@dataclass(frozen=True, slots=True)
class Have:
    """Server → reader: what the server holds of the wanted feeds (held feeds only)."""

    feeds: tuple[FeedHave, ...]


@dataclass(frozen=True, slots=True)
class Get:
    """Reader → server: send the held entries of ``feed`` with first <= seq <= last."""

    feed: bytes
    first: int
    last: int


@dataclass(frozen=True, slots=True)
class Batch:
    """Server → reader: a contiguous, ascending run of one feed's entries with payloads."""

    feed: bytes
    items: tuple[tuple[bytes, bytes | None], ...]


@dataclass(frozen=True, slots=True)
class Ack:
    """Reader → server: the previous batch is stored; ``height`` is the reader's new height."""

    height: int


@dataclass(frozen=True, slots=True)
class Done:
    """Server → reader: every held entry of the last ``get`` has been sent."""


@dataclass(frozen=True, slots=True)
class Error:
    """Either way, last frame: why the sender ends the session."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Digest:
    """Reader → server, first frame on ``/lndesk/sync/3`` instead of ``want``: the digest
    of the height vector the reader would want (section 20.15)."""

    vector: bytes


@dataclass(frozen=True, slots=True)
class Same:
    """Server → reader: nothing to serve for that vector; the session ends."""


@dataclass(frozen=True, slots=True)
class Differs:
    """Server → reader: send the whole ``want`` (the session goes on as on ``/2``)."""


Message = Want | Have | Get | Batch | Ack | Done | Error | Digest | Same | Differs

ERROR_CODES = ("busy", "bad-request", "too-large", "refused", "internal")
"""The codes of docs/protocol.md section 20.7; receivers accept any text as a code."""


def encode_frame(message: Message) -> bytes:
    if isinstance(message, Batch):
        return encode_run_frame(message.feed, message.items)
    return encode_map_frame(_to_map(message))


_BATCH_HEAD = b"\xa3\x61t\x65batch\x64feed\x58\x20"
"""A batch body up to its feed's bytes: a map of three pairs, ``"t": "batch"``, then the
key ``feed`` and the head of a 32-byte string (docs/protocol.md section 20.3)."""
_BATCH_ITEMS = b"\x65items"
_ENTRY_HEADS = tuple(
    b"\x82"
    + (bytes([0x40 + n]) if n < 24 else bytes([0x58, n]) if n < 256 else b"\x59")
    + (n.to_bytes(2, "big") if n >= 256 else b"")
    for n in range(MAX_ENTRY_SIZE + 1)
)
"""An item's array head and the head of its entry, for each entry size (shortest form)."""
_SHORT_HEADS = tuple(bytes([0x40 + n]) if n < 24 else bytes([0x58, n]) for n in range(256))
"""The head of each byte string under 256 bytes, in shortest form."""
_U16_HEAD = struct.Struct(">BH")
"""The head of a byte string of 256 to 65,535 bytes: 0x59 and its length."""
_NULL = b"\xf6"


def encode_run_frame(feed: bytes, items: Sequence[Sequence[bytes | int | None]]) -> bytes:
    """The frame of ``Batch(feed, ...)`` for a run read from a store: each item ends with
    (entry, payload or None), after anything else (``read_run``'s (seq, entry, payload)
    or a batch's (entry, payload)).

    The same bytes as the general encoder (deterministic CBOR), laid out by hand and
    joined once: the general encoder checked, listed and encoded every entry and
    payload again, about a tenth of what serving an entry cost. A feed that is not 32
    bytes, or an item that is not bytes within the entry and payload caps, goes the
    general way."""
    if type(feed) is not bytes or len(feed) != KEY_SIZE:
        return _general_batch_frame(feed, items)
    parts: list[bytes] = [b"", _BATCH_HEAD, feed, _BATCH_ITEMS, _head(0x80, len(items))]
    append = parts.append
    entry_heads, short_heads, long_head = _ENTRY_HEADS, _SHORT_HEADS, _U16_HEAD.pack
    for item in items:
        entry, payload = item[-2], item[-1]
        if type(entry) is not bytes or len(entry) > MAX_ENTRY_SIZE:
            return _general_batch_frame(feed, items)
        append(entry_heads[len(entry)])
        append(entry)
        if payload is None:
            append(_NULL)
            continue
        if type(payload) is not bytes:
            return _general_batch_frame(feed, items)
        size = len(payload)
        append(
            short_heads[size]
            if size < 256
            else long_head(0x59, size)
            if size < 1 << 16
            else _head(0x40, size)
        )
        append(payload)
    parts[0] = FRAME_HEAD.pack(sum(map(len, parts)))
    return b"".join(parts)


def _general_batch_frame(feed: bytes, items: Sequence[Sequence[bytes | int | None]]) -> bytes:
    pairs = [[item[-2], item[-1]] for item in items]
    return encode_map_frame({"t": "batch", "feed": feed, "items": pairs})


def _head(major: int, argument: int) -> bytes:
    """A CBOR head of ``major`` (0x40: bytes, 0x80: array) in shortest form."""
    if argument < 24:
        return bytes([major + argument])
    if argument < 1 << 8:
        return bytes([major + 24, argument])
    if argument < 1 << 16:
        return bytes([major + 25]) + argument.to_bytes(2, "big")
    if argument < 1 << 32:
        return bytes([major + 26]) + argument.to_bytes(4, "big")
    return bytes([major + 27]) + argument.to_bytes(8, "big")


def encode_map_frame(doc: dict[str, Any]) -> bytes:
    """A whole frame: the length prefix, then ``doc`` in deterministic CBOR."""
    body = canonical.encode(doc)
    return FRAME_HEAD.pack(len(body)) + body


def _to_map(message: Message) -> dict[str, Any]:
    """Every message but a batch (:func:`encode_run_frame`) as its map."""
    if isinstance(message, Want):
        return {"t": "want", "feeds": [[key, have] for key, have in message.feeds]}
    if isinstance(message, Have):
        return {"t": "have", "feeds": [[f.key, f.height, f.max_seq] for f in message.feeds]}
    if isinstance(message, Get):
        return {"t": "get", "feed": message.feed, "first": message.first, "last": message.last}
    if isinstance(message, Ack):
        return {"t": "ack", "height": message.height}
    if isinstance(message, Done):
        return {"t": "done"}
    if isinstance(message, Digest):
        return {"t": "digest", "vector": message.vector}
    if isinstance(message, Same):
        return {"t": "same"}
    if isinstance(message, Differs):
        return {"t": "differs"}
    assert isinstance(message, Error), "a batch is encoded by encode_run_frame"
    return {"t": "error", "code": message.code, "message": message.message}


def decode_frame_body(body: bytes, caps: Caps = SYNC_CAPS) -> Message:
    """Decode one frame body (without its length prefix) within the ``caps`` of its type."""
    return decode_map_body(body, "sync", _PARSERS, caps)


def decode_map_body(body: bytes, protocol: str, parsers: Parsers[T], caps: Caps) -> T:
    """Decode one frame body of ``protocol`` (named in errors) strictly: a map whose
    ``t`` is one of ``parsers``, with exactly that message's fields. The body is first
    scanned against the ``caps`` of its type (``lndesk.p2p.frame_caps``)."""
    check_body(body, protocol, caps)
    a = "an" if protocol[0] in "aeiou" else "a"
    try:
        doc = canonical.decode(body)
    except DecodeError as exc:
        raise ProtocolError(f"{a} {protocol} frame is not valid CBOR: {exc}") from exc
    if not isinstance(doc, dict):
        raise ProtocolError(f"{a} {protocol} frame is not a map")
    kind = doc.get("t")
    parser = parsers.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise ProtocolError(f"unknown {protocol} message type {kind!r}")
    fields, build = parser
    if set(doc) != {"t", *fields}:
        raise ProtocolError(f"{protocol} message {kind!r} must have exactly the fields {fields}")
    return build(doc)


def _key(value: object) -> bytes:
    if type(value) is not bytes or len(value) != KEY_SIZE:
        raise ProtocolError("a feed key must be 32 bytes")
    return value


def _seq(value: object, *, zero: bool = True) -> int:
    if type(value) is not int or not (0 if zero else 1) <= value <= MAX_SEQ:
        raise ProtocolError(f"a sequence number is out of range: {value!r}")
    return value


def _list(value: object, what: str) -> list[Any]:
    if type(value) is not list:
        raise ProtocolError(f"{what} must be an array")
    return value


def _want(doc: dict[str, Any]) -> Want:
    feeds = []
    for pair in _list(doc["feeds"], "want.feeds"):
        if type(pair) is not list or len(pair) != 2:
            raise ProtocolError("want.feeds items must be [key, height]")
        feeds.append((_key(pair[0]), _seq(pair[1])))
    if len({key for key, _ in feeds}) != len(feeds):
        raise ProtocolError("want names a feed twice")
    return Want(tuple(feeds))


def _have(doc: dict[str, Any]) -> Have:
    feeds = []
    for triple in _list(doc["feeds"], "have.feeds"):
        if type(triple) is not list or len(triple) != 3:
            raise ProtocolError("have.feeds items must be [key, height, max_seq]")
        height, top = _seq(triple[1]), _seq(triple[2])
        if top < height:
            raise ProtocolError("have: max_seq is below height")
        feeds.append(FeedHave(_key(triple[0]), height, top))
    if len({f.key for f in feeds}) != len(feeds):
        raise ProtocolError("have names a feed twice")
    return Have(tuple(feeds))


def _get(doc: dict[str, Any]) -> Get:
    first, last = _seq(doc["first"], zero=False), _seq(doc["last"], zero=False)
    if last < first:
        raise ProtocolError("get: last is below first")
    return Get(_key(doc["feed"]), first, last)


def _batch(doc: dict[str, Any]) -> Batch:
    items = []
    for item in _list(doc["items"], "batch.items"):
        if type(item) is not list or len(item) != 2:
            raise ProtocolError("batch items must be [entry, payload]")
        entry, payload = item
        if type(entry) is not bytes or len(entry) > MAX_ENTRY_SIZE:
            raise ProtocolError("a batch entry must be a byte string of at most 512 bytes")
        if payload is not None and (type(payload) is not bytes or len(payload) > MAX_PAYLOAD_SIZE):
            raise ProtocolError("a batch payload must be null or at most 65536 bytes")
        items.append((entry, payload))
    if not items:
        raise ProtocolError("an empty batch")
    return Batch(_key(doc["feed"]), tuple(items))


def _ack(doc: dict[str, Any]) -> Ack:
    return Ack(_seq(doc["height"]))


def _digest(doc: dict[str, Any]) -> Digest:
    vector = doc["vector"]
    if type(vector) is not bytes or len(vector) != 32:
        raise ProtocolError("digest.vector must be 32 bytes")
    return Digest(vector)


def _error(doc: dict[str, Any]) -> Error:
    code, message = doc["code"], doc["message"]
    if type(code) is not str or type(message) is not str or len(message) > 1000:
        raise ProtocolError("error: code and message must be short text")
    return Error(code, message)


ERROR_PARSER: tuple[tuple[str, ...], Callable[[dict[str, Any]], Error]] = (
    ("code", "message"),
    _error,
)
"""How every lndesk stream protocol decodes its ``error`` message."""

_PARSERS: Parsers[Message] = {
    "want": (("feeds",), _want),
    "have": (("feeds",), _have),
    "get": (("feed", "first", "last"), _get),
    "batch": (("feed", "items"), _batch),
    "ack": (("height",), _ack),
    "done": ((), lambda _doc: Done()),
    "error": ERROR_PARSER,
    "digest": (("vector",), _digest),
    "same": ((), lambda _doc: Same()),
    "differs": ((), lambda _doc: Differs()),
}


_SMALL_CHUNK = 4096
_GATHERED = 65536
"""A chunk kept as an object of its own costs some 50 bytes beside it: a frame trickled
a few bytes a chunk held tens of times its size. Small chunks are gathered (copied once)
into bytearrays of up to this many bytes instead."""


class FrameReader:
    """Reads and writes length-prefixed frames on a libp2p stream, enforcing a size cap.

    The framing of every lndesk stream protocol (a u32 big-endian length, then the
    body: :func:`encode_map_frame`, :func:`decode_map_body`); :class:`FrameStream` adds
    the sync messages, ``lndesk.p2p.catchup`` the inbox catch-up ones. Writes are queued
    and sent together by :meth:`flush`: one stream write per ~60 KiB instead of one per
    frame is what makes a batch cheap (each write costs about half a millisecond of
    Python in the muxer and Noise layers).
    """

    name = "sync"
    """The protocol named in error messages."""

    def __init__(self, stream: Any, max_frame: int, caps: Caps = SYNC_CAPS) -> None:
        self.stream = stream
        self.caps = caps
        """The messages accepted, with their caps: a frame longer than the largest of
        them is refused from its length prefix."""
        self.max_frame = min(max_frame, max_body(caps))
        self._chunks: deque[bytes | bytearray] = deque()
        """What was read of the stream and not yet returned, in order: the first from
        ``_start`` on. Chunks under ``_SMALL_CHUNK`` bytes are gathered into bytearrays
        of up to ``_GATHERED`` bytes."""
        self._start = 0
        self._held = 0
        """The bytes in ``_chunks`` not yet returned."""
        self._out: list[bytes] = []
        self.send_timeout = math.inf
        """Seconds one :meth:`flush` may wait for the peer to take what it writes; past
        it the write is abandoned and :class:`PeerStalled` raised (the stream is then
        unusable: reset it). Servers set ``Limits.send_timeout`` (section 20.7)."""

    async def send_frame(self, frame: bytes, *, flush: bool = True) -> None:
        """Queue one whole frame (length prefix included); send it unless ``flush`` is off."""
        self._out.append(frame)
        if flush:
            await self.flush()

    async def flush(self) -> None:
        if not self._out:
            return
        data = b"".join(self._out)
        self._out.clear()
        with trio.move_on_after(self.send_timeout) as waited:
            try:
                await self.stream.write(data)
            except StreamError as exc:
                raise StreamGone(
                    f"the {self.name} stream closed: {exc or type(exc).__name__}"
                ) from exc
        if waited.cancelled_caught:
            raise PeerStalled(
                f"the peer did not take {len(data):,} bytes of {self.name} frames "
                f"within {self.send_timeout:g} s"
            )

    async def receive_body(self) -> bytes | None:
        """The next frame's body, or None when the peer closed the stream between frames."""
        head = await self._read_exactly(FRAME_HEAD.size, eof_ok=True)
        if head is None:
            return None
        (length,) = FRAME_HEAD.unpack(head)
        if length > self.max_frame:
            raise ProtocolError(
                f"a {self.name} frame of {length} bytes is over the {self.max_frame} cap"
            )
        body = await self._read_exactly(length, eof_ok=False)
        assert body is not None
        return body

    async def _read_exactly(self, size: int, *, eof_ok: bool) -> bytes | None:
        # A frame is joined once from the chunks that hold it, and no chunk is copied
        # but for what a frame takes of it: a buffer grown chunk by chunk copied a frame
        # of a megabyte many times over.
        while self._held < size:
            try:
                chunk = await self.stream.read(max(65536, size - self._held))
            except StreamEOF:
                chunk = b""
            except StreamError as exc:
                raise StreamGone(
                    f"the {self.name} stream was reset: {exc or type(exc).__name__}"
                ) from exc
            if not chunk:
                if eof_ok and not self._held:
                    return None
                raise StreamGone(f"the peer closed the {self.name} stream in the middle of a frame")
            if len(chunk) >= _SMALL_CHUNK:
                self._chunks.append(bytes(chunk))
            elif (
                self._chunks
                and type(last := self._chunks[-1]) is bytearray
                and len(last) < _GATHERED
            ):
                last += chunk
            else:
                self._chunks.append(bytearray(chunk))
            self._held += len(chunk)
        self._held -= size
        parts: list[bytes | bytearray] = []
        while size:
            chunk, start = self._chunks[0], self._start
            if len(chunk) - start > size:
                parts.append(chunk[start : start + size])
                self._start = start + size
                break
            parts.append(chunk[start:] if start else chunk)
            size -= len(chunk) - start
            self._chunks.popleft()
            self._start = 0
        return bytes(parts[0]) if len(parts) == 1 else b"".join(parts)


class MessageFrames(FrameReader, Generic[T]):
    """The frames of one of the small ask-and-answer protocols (inbox catch-up, profile
    lookup, fork proofs): its messages, sent and received with its own codec."""

    def __init__(
        self,
        stream: Any,
        max_frame: int,
        caps: Caps,
        encode: Callable[[T], bytes],
        decode: Callable[[bytes], T],
    ) -> None:
        super().__init__(stream, max_frame, caps)
        self._encode = encode
        self._decode = decode

    async def send(self, message: T) -> None:
        await self.send_frame(self._encode(message))

    async def receive(self) -> T | None:
        body = await self.receive_body()
        return None if body is None else self._decode(body)


class FrameStream(FrameReader):
    """Sync frames on a libp2p stream (see :class:`FrameReader`)."""

    async def send(self, message: Message, *, flush: bool = True) -> None:
        await self.send_frame(encode_frame(message), flush=flush)

    async def receive(self) -> Message | None:
        """The next message, or None when the peer closed the stream cleanly between frames."""
        body = await self.receive_body()
        if body is None:
            return None
        if len(body) >= OFFLOAD_BYTES:
            return await run_cpu(decode_frame_body, body, self.caps)
        return decode_frame_body(body, self.caps)
