"""A gossip stream's reads and writes without the trips through trio's scheduler that
py-libp2p 0.8.1 takes for locks that are free (used by ``lndesk.p2p.gossip_streams``
and ``lndesk.p2p.gossip_push``).

A read of a stream (``NetStream.read``, then yamux's ``read_stream``) takes the stream's
state lock once and the connection's stream lock twice (once before it waits for data,
once after), and a write (``NetStream.write``, then ``YamuxStream.write``) takes the
state lock, the stream's write lock and its window lock: six checkpoints for a relayed
announcement's read and write, each a pass through trio's scheduler, where the data
itself needs one wait. Every lock is held only while its holder reads or changes a few
fields and never across a wait on these paths, so, with trio running one task at a
time, doing the same work while the locks are free is what taking and releasing them
does.

``read_quickly`` and ``write_quickly`` do that, for a yamux stream that is open, and
only then: when a lock is held by another task, the stream is closing or reset, the
connection is shutting down, or a write does not fit in the send window or one frame,
they call the stream's own ``read`` or ``write``, which handle each case as py-libp2p
does. A read still waits for data on the stream's event and acknowledges what it took
(``_auto_tune_and_send_window_update``, as ``YamuxStream.read`` does); a write still
goes out as one frame through the connection's frame writer.
"""

from __future__ import annotations

import logging
import struct
from typing import Any

import trio
from libp2p.abc import INetStream
from libp2p.network.stream.exceptions import StreamClosed, StreamError, StreamReset
from libp2p.network.stream.net_stream import NetStream, StreamState
from libp2p.stream_muxer.yamux import yamux
from libp2p.stream_muxer.yamux.yamux import YamuxStream

logger = logging.getLogger(__name__)


def _open_yamux(stream: INetStream) -> tuple[YamuxStream, Any] | None:
    """The stream's yamux stream and connection, if the stream is py-libp2p's own
    ``NetStream`` over yamux, open, and neither it nor the connection is closing or
    locked; else None (the stream's own path)."""
    if type(stream) is not NetStream:
        return None  # a stream of another kind, or one wrapped: its own read and write
    muxed = stream.muxed_stream
    if type(muxed) is not YamuxStream or stream._state is not StreamState.OPEN:
        return None
    conn = muxed.conn
    if (
        muxed.closed
        or muxed.reset_received
        or conn.streams_lock.locked()
        or conn.event_shutting_down.is_set()
        or conn.streams.get(muxed.stream_id) is not muxed
    ):
        return None
    return muxed, conn


async def read_quickly(stream: INetStream, n: int) -> bytes:
    """Up to ``n`` bytes of ``stream`` (at least one; ``stream.read(n)``'s result), as
    the module docstring says."""
    while True:
        found = _open_yamux(stream)
        if found is None or found[0].recv_closed:
            return await stream.read(n)
        muxed, conn = found
        sid = muxed.stream_id
        buffer = conn.stream_buffers.get(sid)
        event = conn.stream_events.get(sid)
        if buffer is None or event is None:
            return await stream.read(n)
        if buffer:
            data = bytes(buffer[:n])
            del buffer[:n]
            await muxed._auto_tune_and_send_window_update(bytes_read=len(data))
            return data
        await event.wait()
        if conn.stream_events.get(sid) is event:
            conn.stream_events[sid] = trio.Event()  # as read_stream does after its wait


async def write_quickly(stream: INetStream, data: bytes) -> None:
    """Write ``data`` on ``stream`` (``stream.write(data)``), as the module docstring
    says. A failure of the connection's frame writer fails the stream as
    ``NetStream.write`` does: ``StreamError``, the stream in its error state."""
    found = _open_yamux(stream)
    if found is None:
        await stream.write(data)
        return
    muxed, conn = found
    size = len(data)
    if (
        muxed.send_closed
        or muxed.rw_lock._writer_lock.value < 1
        or muxed.window_lock.locked()
        or not 0 < size <= min(muxed.send_window, yamux.MAX_MESSAGE_SIZE - yamux.HEADER_SIZE)
    ):
        await stream.write(data)
        return
    muxed.send_window -= size
    header = struct.pack(yamux.YAMUX_HEADER_FORMAT, 0, yamux.TYPE_DATA, 0, muxed.stream_id, size)
    try:
        await conn._write_frame(header + data)
    except (StreamClosed, StreamReset, ValueError):
        raise  # NetStream.write lets these out as they are
    except Exception as exc:
        stream._state = StreamState.ERROR  # type: ignore[attr-defined]
        raise StreamError(f"Write operation failed: {exc}") from exc
