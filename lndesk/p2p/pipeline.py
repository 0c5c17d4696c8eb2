"""Pipelined sync, ``/lndesk/sync/2``: several gets in flight, flow control on both ends.

``/lndesk/sync/1`` allows one ``get`` at a time and three unacknowledged batches, so a
session pays a round trip per range and the reader's checks never overlap the network.
``/lndesk/sync/2`` (docs/protocol.md section 20.14) keeps the messages and changes two
rules of the session:

* the reader may send up to :data:`GETS_IN_FLIGHT` gets before the ``done`` of the
  first; the server answers them one after the other, in order;
* the server keeps at most :data:`WINDOW_BATCHES` batches and less than
  :data:`WINDOW_BYTES` bytes of batch bodies unacknowledged, and the reader refuses a
  batch beyond either bound (:class:`ReaderWindow`), so a server that ignores the
  window is caught, not buffered.

A reader proposes ``/2`` first and falls back to ``/1`` in multistream-select, and a
server speaks both, so old readers and old servers keep working. The reader's frames
are read by a task of their own (:func:`receiving`) while the session's task stores the
batches already read. A second task checks each big batch as far as it can be checked
without the store (:func:`lndesk.batch.check_batch`, on a worker thread) before handing
it on, so the next batch is checked while the session's task stores the one before: the
store's writes (SQLite statements, the log's ``fdatasync``) release the GIL, and the
check runs meanwhile.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from libp2p.custom_types import TProtocol

from lndesk.batch import check_batch
from lndesk.errors import EntryError, ProtocolError
from lndesk.p2p.batch_frame import decode_body
from lndesk.p2p.frame_caps import UNKNOWN, Caps, check_body, message_type
from lndesk.p2p.offload import OFFLOAD_BYTES, OFFLOAD_ITEMS, run_cpu
from lndesk.p2p.wire import Batch, FrameStream, Message, StreamGone

PIPELINED_PROTOCOL = TProtocol("/lndesk/sync/2")
GETS_IN_FLIGHT = 8
"""Most gets a reader may have sent without their ``done`` (more: ``ProtocolError``)."""
WINDOW_BATCHES = 8
"""Most batches a server may have sent without their ``ack``."""
WINDOW_BYTES = 8 * 1024 * 1024
"""A server sends no batch while this many bytes of batch bodies are unacknowledged."""


class Window:
    """Batches sent (or received) and not yet acknowledged: their count and bytes."""

    def __init__(self, batches: int, size: int) -> None:
        self.batches = batches
        self.size = size
        self._open: deque[tuple[int, bytes]] = deque()
        self.bytes = 0

    @property
    def full(self) -> bool:
        return len(self._open) >= self.batches or self.bytes >= self.size

    def add(self, size: int, feed: bytes = b"") -> None:
        self._open.append((size, feed))
        self.bytes += size

    def ack(self) -> bytes | None:
        """One batch acknowledged: its feed (None if none was open; not an error)."""
        if not self._open:
            return None
        size, feed = self._open.popleft()
        self.bytes -= size
        return feed


class ReaderWindow(Window):
    """The reader's side of the window: a batch may arrive only while the batches it
    has received and not acknowledged are within the protocol's bounds. An honest
    server, which counts the acks it has read, never has fewer open than this."""

    def __init__(self) -> None:
        super().__init__(WINDOW_BATCHES, WINDOW_BYTES)

    def received(self, size: int) -> None:
        if self.full:
            raise ProtocolError(
                f"the server sent a batch with {len(self._open)} batches and "
                f"{self.bytes} bytes unacknowledged"
            )
        self.add(size)


def checked_ahead(message: Message) -> Message:
    """``message``; a batch of at least ``OFFLOAD_ITEMS`` entries with its items as a
    :class:`lndesk.batch.CheckedBatch` of its feed, which the store takes without
    checking it again. A batch that fails the check is returned as it came: the
    session's task meets the same error when it stores the batch, in the batch's turn
    (a batch the session does not store, say after a fork, is never held against the
    peer)."""
    if not isinstance(message, Batch) or len(message.items) < OFFLOAD_ITEMS:
        return message
    try:
        return Batch(message.feed, check_batch(message.feed, message.items))
    except EntryError:
        return message


def _decode_checked(body: bytes, caps: Caps) -> Message:
    return checked_ahead(decode_body(body, caps))


async def _message(body: bytes, caps: Caps) -> Message:
    """The frame ``body`` decoded (a batch by its layout,
    :func:`lndesk.p2p.batch_frame.decode_body`), a big batch checked ahead
    (:func:`checked_ahead`); big bodies and batches on a worker thread, in one hop."""
    if len(body) >= OFFLOAD_BYTES:
        return await run_cpu(_decode_checked, body, caps)
    message = decode_body(body, caps)
    if isinstance(message, Batch) and len(message.items) >= OFFLOAD_ITEMS:
        return await run_cpu(checked_ahead, message)
    return message


async def _read_frames(
    frames: FrameStream,
    window: ReaderWindow,
    timeout: float,
    out: trio.MemorySendChannel[bytes | Exception],
) -> None:
    """Read the server's frame bodies into ``out`` as soon as they come; a failure is
    sent as the last item. The bodies are taken off the stream while the batches before
    them are checked: left in the muxer's buffer, megabytes of them were copied again at
    each chunk that buffer grew by, a tenth of the reader's time."""
    async with out:
        try:
            while True:
                with trio.fail_after(timeout):
                    body = await frames.receive_body()
                if body is None:
                    raise StreamGone("the peer closed the sync stream early")
                kind = message_type(body)
                if kind == "batch":
                    window.received(len(body))
                elif len(body) > frames.caps.get(kind or "", UNKNOWN).max_bytes:
                    # Refused as it comes, not when decoded: read ahead, bodies no
                    # message of theirs may have filled the channel while checks lagged.
                    check_body(body, frames.name, frames.caps)
                await out.send(body)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        except Exception as exc:  # handed to the session's task, which raises it
            await _hand_on(exc, out)


async def _decode_frames(
    bodies: trio.MemoryReceiveChannel[bytes | Exception],
    caps: Caps,
    out: trio.MemorySendChannel[Message | Exception],
) -> None:
    """Decode the bodies :func:`_read_frames` read (a big batch checked ahead, off the
    trio thread) into ``out``, in order; a failure, met here or passed on, is the last
    item."""
    async with out, bodies:
        try:
            async for body in bodies:
                await out.send(body if isinstance(body, Exception) else await _message(body, caps))
                if isinstance(body, Exception):
                    return
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        except Exception as exc:  # handed to the session's task, which raises it
            await _hand_on(exc, out)


async def _hand_on(
    exc: Exception,
    out: trio.MemorySendChannel[bytes | Exception] | trio.MemorySendChannel[Message | Exception],
) -> None:
    """Send ``exc`` to the task after this one, unless that task has ended: it ended on
    an earlier failure, which the session's task raises instead (sent to the closed
    channel, this one escaped as BrokenResourceError in place of the peer's fault)."""
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        await out.send(exc)


class Received:
    """The frames a :func:`receiving` task has read, in order."""

    def __init__(self, channel: trio.MemoryReceiveChannel[Message | Exception]) -> None:
        self._channel = channel

    async def next(self) -> Message:
        """The next frame; raises what the reading task met instead."""
        item = await self._channel.receive()
        if isinstance(item, Exception):
            raise item
        return item


@asynccontextmanager
async def receiving(
    frames: FrameStream, window: ReaderWindow, timeout: float
) -> AsyncIterator[Received]:
    """Read the server's frames on a task of their own while the body runs; each frame
    within ``timeout``. Exceptions of the body propagate as they are (not grouped)."""
    # Frames in flight are bounded by the protocol (the window's batches, a done per
    # get), so neither channel fills while the server keeps to it.
    bound = WINDOW_BATCHES + GETS_IN_FLIGHT + 2
    send_body, receive_body = trio.open_memory_channel[bytes | Exception](bound)
    send, receive = trio.open_memory_channel[Message | Exception](bound)
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_read_frames, frames, window, timeout, send_body)
        nursery.start_soon(_decode_frames, receive_body, frames.caps, send)
        try:
            yield Received(receive)
        except Exception as exc:
            failure = exc
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
