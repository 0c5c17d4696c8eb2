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
Noise nonces out of step). The socket write yields once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import trio
from libp2p.stream_muxer.yamux import yamux
from libp2p.stream_muxer.yamux.yamux import Yamux, YamuxStream

_Update = Callable[..., Awaitable[None]]


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
    docstring says (its own way while py-libp2p's debug lines are wanted)."""
    original: Callable[[Yamux, bytes], Awaitable[None]] = Yamux._write_frame
    if getattr(original, "_lean", False):
        return
    debug = yamux.logger

    async def write_frame(self: Yamux, data: bytes) -> None:
        if debug.isEnabledFor(logging.DEBUG):
            await original(self, data)
            return
        lock = self._write_lock
        try:
            lock.acquire_nowait()
        except trio.WouldBlock:
            await lock.acquire()
        try:
            await trio.lowlevel.checkpoint_if_cancelled()
            await self.secured_conn.write(data)
        finally:
            lock.release()

    write_frame._lean = True  # type: ignore[attr-defined]
    Yamux._write_frame = write_frame  # type: ignore[method-assign]
