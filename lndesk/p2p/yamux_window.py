"""yamux receive windows acknowledged as go-yamux acknowledges them (installed once per
process by ``lndesk.p2p.host``).

go-yamux sends a window update only once the reader has consumed at least half of the
stream's receive window (``GrowTo``). py-libp2p 0.8.1 also sends one whenever anything
below that was consumed ("partial slack"), crediting it twice, so that the next read
sends none: a frame back for every second gossip message a peer received, which the
sender then reads and handles too. What peers may send is the same either way (the
window only says how much more); only the number of frames falls.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from libp2p.stream_muxer.yamux.yamux import YamuxStream

_Update = Callable[..., Awaitable[None]]


def acknowledge_as_go_yamux() -> None:
    """Make every yamux stream of this process acknowledge as the module docstring says
    (py-libp2p builds its streams itself, so their class is changed, once)."""
    original: _Update = YamuxStream._auto_tune_and_send_window_update
    if getattr(original, "_as_go_yamux", False):
        return

    async def update(self: YamuxStream, *, bytes_read: int = 0) -> None:
        if bytes_read > 0 and not half_read(self, bytes_read):
            async with self.window_lock:
                if not half_read(self, bytes_read):
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
