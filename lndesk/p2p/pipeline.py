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
are read by a task of their own (:func:`receiving`) while the session's task checks and
stores the batches already read.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import trio
from libp2p.custom_types import TProtocol

from lndesk.errors import ProtocolError
from lndesk.p2p.frame_caps import message_type
from lndesk.p2p.offload import OFFLOAD_BYTES, run_cpu
from lndesk.p2p.wire import FrameStream, Message, StreamGone, decode_frame_body

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


async def _read_frames(
    frames: FrameStream,
    window: ReaderWindow,
    timeout: float,
    out: trio.MemorySendChannel[Message | Exception],
) -> None:
    """Read the server's frames into ``out``; a failure is sent as the last item."""
    async with out:
        try:
            while True:
                with trio.fail_after(timeout):
                    body = await frames.receive_body()
                if body is None:
                    raise StreamGone("the peer closed the sync stream early")
                if message_type(body) == "batch":
                    window.received(len(body))
                if len(body) >= OFFLOAD_BYTES:
                    message = await run_cpu(decode_frame_body, body, frames.caps)
                else:
                    message = decode_frame_body(body, frames.caps)
                await out.send(message)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            return
        except Exception as exc:  # handed to the session's task, which raises it
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
    send, receive = trio.open_memory_channel[Message | Exception](
        WINDOW_BATCHES + GETS_IN_FLIGHT + 2
    )
    failure: Exception | None = None
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_read_frames, frames, window, timeout, send)
        try:
            yield Received(receive)
        except Exception as exc:
            failure = exc
        nursery.cancel_scope.cancel()
    if failure is not None:
        raise failure
