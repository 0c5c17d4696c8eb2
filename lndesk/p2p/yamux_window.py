"""yamux receive windows acknowledged as go-yamux acknowledges them, and frames written
without py-libp2p's per-frame extras (installed once per process by ``lndesk.p2p.host``).

go-yamux sends a window update only once the reader has consumed at least half of the
stream's receive window (``GrowTo``). py-libp2p 0.8.1 also sends one whenever anything
below that was consumed ("partial slack"), crediting it twice, so that the next read
sends none: a frame back for every second gossip message a peer received, which the
sender then reads and handles too. What peers may send is the same either way (the
window only says how much more); only the number of frames falls.

A read that leaves its credit for later takes the stream's window lock only when
another task holds it: the change is one addition with no await in it, which no other
task can interleave with, and the lock's own checkpoint was a trip through trio's
scheduler for every message read.

py-libp2p's ``Yamux._write_frame`` decoded and formatted every frame's header for a
debug line, whether or not debug lines were wanted, took the connection's write lock
with a checkpoint, and yielded once more after the write. :func:`write_frames_lean`
writes a frame under the same lock, taken without a checkpoint when it is free, and
checks for cancellation once it holds the lock: from there to the socket write nothing
awaits, so a frame is never encrypted and then not sent (that would put the two ends'
Noise nonces out of step). The socket write yields once. A frame that takes more than
:data:`WRITE_TIMEOUT` to write, or whose writer is cancelled midway (a Noise message
half sent), closes the connection (:func:`write_whole`): py-libp2p waited for ever, the
connection's write lock held, when a peer stopped reading its socket, and went on
writing after a frame cut short.

:func:`close_broken_connections` closes a connection at the first frame it cannot take
(docs/protocol.md section 19): a frame of a yamux version other than 0 or of a type
yamux does not have, a data frame larger than what its stream's receive window still
allows, and a frame body that cannot be read (a Noise message that fails to decrypt:
garbage from a hostile peer or a corrupted link). py-libp2p 0.8.1 closed the connection
only when the failure hit a frame's header: a failed body left it open, the read loop
sleeping 10 ms and reading on (or half-closing one stream and reading on), on a
connection whose two ends no longer agree on the Noise nonces; unknown frames were
skipped; and data over a window was buffered anyway, so a peer ignoring the windows
made a stream nobody reads hold ever more memory.

The same header check refuses a stream over :data:`MAX_INBOUND_STREAMS`: a new stream
(a frame with ``SYN``) from a peer that holds that many streams it opened on the
connection is answered with ``RST``, its data read and dropped, and the connection kept
(as go-yamux does past its ``MaxIncomingStreams``). py-libp2p took every stream a peer
opened, each able to hold a receive window (256 KiB) of data nobody reads (one whose
handler does not read, one still negotiating its protocol, one whose server answered
``busy`` and closed its side): one connection could make a node hold any amount of
memory. A data frame for a stream that is not open is dropped as it is read, never
held whole (it may announce 16 MiB). :func:`drop_reset_streams` drops what a stream
buffered as soon as it is reset, by either end: py-libp2p kept it, and the stream's
place, until its sweeper ran 60 to 90 s later, though a reset stream is never read
again.

And it answers a peer's pings at a bounded rate (:class:`PingBudget`): a ping is a
12-byte frame, thousands fit in one Noise message, which costs its sender one
encryption, and py-libp2p answered each with a Noise message and a socket write of its
own. The pings past the budget are dropped unanswered; an honest peer pings a
connection once in tens of seconds.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from libp2p.io.exceptions import ConnectionClosedError, IncompleteReadError
from libp2p.io.utils import DEFAULT_RETRY_READ_COUNT, read_exactly
from libp2p.security.noise.io import MAX_PLAINTEXT_LENGTH
from libp2p.stream_muxer.yamux import yamux
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

from lndesk.p2p.quick_lock import acquire_quickly

logger = logging.getLogger(__name__)

_Update = Callable[..., Awaitable[None]]

VERSION = 0
"""The only yamux version (the spec's, and every libp2p implementation's)."""
TYPES = frozenset({yamux.TYPE_DATA, yamux.TYPE_WINDOW_UPDATE, yamux.TYPE_PING, yamux.TYPE_GO_AWAY})
"""The frame types yamux has."""


FRAME_LIMIT = MAX_PLAINTEXT_LENGTH
"""The most bytes (header included) of a yamux data frame this process writes: one
Noise transport message's plaintext (65,519 bytes)."""


MAX_INBOUND_STREAMS = 64
"""Streams a peer may hold open at once on one connection, of those it opened (each
until both ends closed it, or either reset it): 16 MiB of receive windows at most. A
node opens a few at a time to a peer (a gossip stream, a sync session or two, identify,
Kademlia queries), never near this many."""


WRITE_TIMEOUT = 30.0
"""Seconds one frame may take to be written before its connection is closed (go-yamux's
``ConnectionWriteTimeout`` is 10 s): longer than a session's ``send_timeout``, which
ends a session whose reader stops reading first."""

PING_BURST = 16
"""Pings of a peer a connection answers at once (then :data:`PINGS_PER_SECOND`)."""
PINGS_PER_SECOND = 1
"""Pings of a peer a connection answers a second, past :data:`PING_BURST`."""


class PingBudget:
    """The pings a connection still answers: :data:`PING_BURST`, refilled at
    :data:`PINGS_PER_SECOND` up to the burst (a bucket refilling continuously)."""

    __slots__ = ("_at", "_tokens")

    def __init__(self, now: float) -> None:
        self._tokens = float(PING_BURST)
        self._at = now

    def take(self, now: float) -> bool:
        """Whether a ping arriving at ``now`` is answered (and counted if so)."""
        self._tokens = min(float(PING_BURST), self._tokens + (now - self._at) * PINGS_PER_SECOND)
        self._at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


class YamuxViolation(Exception):
    """A peer sent a yamux frame the protocol does not allow; its connection is closed."""


def acknowledge_as_go_yamux() -> None:
    """Make every yamux stream of this process acknowledge as the module docstring says
    (py-libp2p builds its streams itself, so their class is changed, once)."""
    original: _Update = YamuxStream._auto_tune_and_send_window_update
    if getattr(original, "_as_go_yamux", False):
        return

    async def update(self: YamuxStream, *, bytes_read: int = 0) -> None:
        if bytes_read > 0 and not half_read(self, bytes_read):
            later = True
            if self.window_lock.locked():  # another task is changing the window
                async with self.window_lock:
                    later = not half_read(self, bytes_read)
            if later:
                self._pending_recv_release += bytes_read  # credited later, at once
                return
        await original(self, bytes_read=bytes_read)

    update._as_go_yamux = True  # type: ignore[attr-defined]
    YamuxStream._auto_tune_and_send_window_update = update  # type: ignore[method-assign]


def half_read(stream: Any, bytes_read: int) -> bool:
    """Whether ``stream``'s reader has consumed, with ``bytes_read`` more, half its
    receive window since its last window update (py-libp2p's own update is due)."""
    threshold = stream._grow_threshold()
    buffered = len(stream.conn.stream_buffers.get(stream.stream_id, b""))
    delta = stream.target_recv_window - (stream.recv_window + buffered)
    return bool(delta >= threshold or stream._pending_recv_release + bytes_read >= threshold)


def write_frames_lean() -> None:
    """Make every yamux connection of this process write its frames as the module
    docstring says (with a debug line of its own for each while yamux's debug lines are
    wanted: py-libp2p's own path had no bound on a write)."""
    original: Callable[[Yamux, bytes], Awaitable[None]] = Yamux._write_frame
    if getattr(original, "_lean", False):
        return
    debug = yamux.logger

    async def write_frame(self: Yamux, data: bytes) -> None:
        if debug.isEnabledFor(logging.DEBUG):
            head = data[: yamux.HEADER_SIZE]
            debug.debug("YAMUX TX: header %s and %d bytes", head.hex(), len(data) - len(head))
        lock = self._write_lock
        await acquire_quickly(lock)
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            await write_whole(self, data)
        finally:
            lock.release()

    write_frame._lean = True  # type: ignore[attr-defined]
    Yamux._write_frame = write_frame  # type: ignore[method-assign]


async def write_whole(conn: Yamux, data: bytes) -> None:
    """Write one frame of ``conn``, or close the connection: when the write takes more
    than ``WRITE_TIMEOUT`` (the connection's ``write_timeout``; then raise
    ``ConnectionClosedError``), its peer takes nothing, and every other write of the
    connection, its read loop's answers and the GO_AWAY that would close it waited
    behind this frame for ever; when its caller is cancelled midway, the frame is cut
    short, a Noise message half sent, after which the peer reads nothing more of the
    connection."""
    seconds = float(getattr(conn, "write_timeout", WRITE_TIMEOUT))
    try:
        with trio.move_on_after(seconds) as writing:
            await conn.secured_conn.write(data)
    except trio.Cancelled:
        await cut_short(conn, "a frame was cut short (its writer was cancelled)")
        raise
    if writing.cancelled_caught:
        await cut_short(conn, f"a frame could not be written for {seconds:g} s")
        raise ConnectionClosedError(
            f"a yamux frame could not be written for {seconds:g} s: the peer takes nothing; "
            "the connection is closed"
        )


async def cut_short(conn: Yamux, why: str) -> None:
    """Close ``conn`` after a frame was not written whole: its read loop's read ends,
    and the loop closes the rest (:func:`close_broken_connections`)."""
    broken(conn, why)
    with trio.CancelScope(shield=True):
        try:
            await conn.secured_conn.close()
        except Exception as exc:  # already closed
            logger.debug("closing a connection whose frame was cut short: %s", exc)


def frames_fit_noise() -> None:
    """Make every yamux stream of this process write data frames of at most
    :data:`FRAME_LIMIT` bytes, header included, so that each is one Noise message.

    py-libp2p 0.8.1 writes data frames of up to 65,536 bytes (64 KiB with the header),
    and Noise carries at most 65,519 bytes of plaintext a message: every full frame went
    out as two Noise messages, the second of 17 bytes, each read, decrypted and joined
    by the reader (32 Noise messages a synced MB, 16 of them 17 bytes long). What a
    peer may send is the same (the frames are smaller, never larger); a reader takes
    frames of any size its window allows.
    """
    yamux.MAX_MESSAGE_SIZE = FRAME_LIMIT  # read by YamuxStream.write for every frame


def close_broken_connections() -> None:
    """Make every yamux connection of this process close at the first frame it cannot
    take, as the module docstring says (installed once)."""
    if getattr(Yamux.handle_incoming, "_closes_broken", False):
        return
    handle_incoming = Yamux.handle_incoming
    # py-libp2p reads a frame's header with yamux's module-level ``read_exactly`` and its
    # body with ``Yamux._read_data_body``; both are replaced, so that each read knows
    # which part of a frame it reads.
    yamux.read_exactly = read_header  # type: ignore[attr-defined]
    Yamux._read_data_body = read_body  # type: ignore[method-assign]

    async def closing_handle_incoming(self: Yamux) -> None:
        self.secured_conn._lndesk_muxer = self  # type: ignore[attr-defined] # for read_header
        try:
            await handle_incoming(self)
        finally:
            # A body that failed in a data frame ends py-libp2p's loop (it stops once the
            # connection is shutting down) without closing the connection.
            if getattr(self, "_broken", False) and not self.event_closed.is_set():
                await self._cleanup_on_error()

    closing_handle_incoming._closes_broken = True  # type: ignore[attr-defined]
    Yamux.handle_incoming = closing_handle_incoming  # type: ignore[method-assign]


async def read_header(reader: Any, n: int, retry_count: int = DEFAULT_RETRY_READ_COUNT) -> bytes:
    """A yamux frame header from ``reader`` (a connection's Noise session), checked:
    :class:`YamuxViolation` for an unknown version or type (py-libp2p closes the
    connection at any error reading a header)."""
    header = await read_exactly(reader, n, retry_count)
    version, kind, flags, stream_id, length = struct.unpack(yamux.YAMUX_HEADER_FORMAT, header)
    if version != VERSION or kind not in TYPES:
        logger.warning(
            "closing a yamux connection: a frame of version %d and type %d (only version "
            "%d and types 0-3 exist)",
            version,
            kind,
            VERSION,
        )
        raise YamuxViolation(
            f"yamux frame of version {version} and type {kind}: only version {VERSION} "
            "and types 0-3 exist; the connection is closed"
        )
    reader._last_frame = (flags, stream_id, length)
    if kind == yamux.TYPE_PING and flags & yamux.FLAG_SYN:
        return ping_or_dropped(reader, header)
    if flags & yamux.FLAG_SYN and kind in (yamux.TYPE_DATA, yamux.TYPE_WINDOW_UPDATE):
        conn = getattr(reader, "_lndesk_muxer", None)
        if conn is not None and stream_id not in conn.streams and over_cap(conn):
            # Refused: answered RST, and handled as a frame of a stream not open (its
            # body, checked against a new stream's window, read and dropped).
            logger.debug(
                "refused stream %d of %s: %d open", stream_id, conn.peer_id, MAX_INBOUND_STREAMS
            )
            rst = struct.pack(
                yamux.YAMUX_HEADER_FORMAT, 0, yamux.TYPE_WINDOW_UPDATE, yamux.FLAG_RST, stream_id, 0
            )
            await conn._write_frame(rst)
            header = struct.pack(
                yamux.YAMUX_HEADER_FORMAT, version, kind, flags & ~yamux.FLAG_SYN, stream_id, length
            )
    return header


def ping_or_dropped(reader: Any, header: bytes) -> bytes:
    """``header`` of a ping to answer, or, past the connection's :class:`PingBudget`,
    a ping frame without flags, which yamux neither answers nor takes as an answer."""
    conn = getattr(reader, "_lndesk_muxer", None)
    if conn is None:
        return header
    now = trio.current_time()
    budget = getattr(conn, "_lndesk_pings", None)
    if budget is None:
        budget = conn._lndesk_pings = PingBudget(now)
    if budget.take(now):
        return header
    logger.debug("a ping of %s not answered: over %d a second", conn.peer_id, PINGS_PER_SECOND)
    return header[:2] + b"\0\0" + header[4:]  # flags cleared


def over_cap(conn: Yamux) -> bool:
    """Whether the peer of ``conn`` holds :data:`MAX_INBOUND_STREAMS` streams it opened."""
    opened = sum(1 for stream in conn.streams.values() if not stream.is_initiator)
    return opened >= MAX_INBOUND_STREAMS


def drop_reset_streams() -> None:
    """Make every yamux connection of this process drop a stream's buffered data, and
    the stream, as soon as either end resets it (see the module docstring; installed
    once)."""
    finalize = Yamux._finalize_stream_locked
    if getattr(finalize, "_drops_reset", False):
        return

    def finalize_stream_locked(self: Yamux, stream: YamuxStream, *, fully_closed: bool) -> None:
        if fully_closed and stream.reset_received:  # set by a reset from either end
            buffer = self.stream_buffers.get(stream.stream_id)
            if buffer and self.streams.get(stream.stream_id) is stream:
                buffer.clear()  # never read again: a reset stream's reads fail
        finalize(self, stream, fully_closed=fully_closed)

    finalize_stream_locked._drops_reset = True  # type: ignore[attr-defined]
    Yamux._finalize_stream_locked = finalize_stream_locked  # type: ignore[method-assign]


async def read_body(self: Yamux, length: int) -> bytes:
    """A data frame's body, read as py-libp2p reads it, after its window is checked;
    the connection is marked broken (and closed, see :func:`close_broken_connections`)
    if the body exceeds the window or cannot be read."""
    flags, stream_id, _ = getattr(self.secured_conn, "_last_frame", (0, 0, length))
    stream = self.streams.get(stream_id)
    if flags & yamux.FLAG_SYN:
        window: int | None = yamux.DEFAULT_WINDOW_SIZE  # a new stream's
    else:
        window = None if stream is None else stream.recv_window  # unknown: dropped
    if window is not None and length > window:
        broken(self, f"a data frame of {length} bytes on a stream whose window is {window}")
        raise YamuxViolation(
            f"yamux data frame of {length} bytes over its stream's receive window of "
            f"{window}: the connection is closed"
        )
    try:
        with trio.fail_after(yamux._yamux_data_read_timeout()):
            if window is None:  # a stream not open: dropped as it is read
                await discard(self.secured_conn, length)
                return b""
            return await read_exactly(self.secured_conn, length)
    except (IncompleteReadError, trio.TooSlowError):
        raise  # the connection ended, or its peer is too slow: py-libp2p closes it
    except Exception as error:
        failed = f"a frame body could not be read ({type(error).__name__}: {error})"
        broken(self, failed)
        raise


async def discard(reader: Any, length: int) -> None:
    """Read ``length`` bytes from ``reader`` and drop them, at most a Noise message's
    plaintext at a time: a frame for a stream that is not open may announce 16 MiB, and
    read whole, it was held, with copies, until it was dropped."""
    left = length
    while left:
        left -= len(await read_exactly(reader, min(left, FRAME_LIMIT)))


def broken(conn: Yamux, why: str) -> None:
    """Mark ``conn`` as broken: its read loop stops and the connection is closed."""
    if not getattr(conn, "_broken", False):
        logger.warning("closing the yamux connection of %s: %s", conn.peer_id, why)
    conn._broken = True  # type: ignore[attr-defined]
    conn.event_shutting_down.set()
