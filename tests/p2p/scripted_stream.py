"""A stream whose other end is a script of a sync server's frames, and a recorder of real ones.

:class:`ScriptedStream` has the ``read``/``write``/``close``/``reset`` of a libp2p stream.
Each frame the reader writes must be the next one the script expects; the script then
plays the server's replies to it. :func:`served` writes the script a real server plays
for one ``get`` (tests/p2p/test_read_states.py checks it against a real loopback
exchange recorded with :class:`RecordingHost`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Any

import trio

from lndesk.p2p import wire
from lndesk.p2p.frame_caps import SYNC_CAPS

Reply = wire.Message | bytes
"""A frame the script plays: a message, or raw frame bytes for a malformed one."""
Step = tuple[wire.Message, Sequence[Reply]]
"""A frame the reader must send, and the server's replies to it."""


def frames_in(data: bytes) -> list[wire.Message]:
    """The sync messages of a byte stream of whole frames."""
    out: list[wire.Message] = []
    while data:
        (length,) = wire.FRAME_HEAD.unpack(data[:4])
        out.append(wire.decode_frame_body(data[4 : 4 + length], SYNC_CAPS))
        data = data[4 + length :]
    return out


class ScriptedStream:
    """Plays a sync server from a script of :data:`Step` (see the module docstring)."""

    def __init__(self, script: Sequence[Step]) -> None:
        self._steps = deque(script)
        self._inbound = bytearray()
        self._written = bytearray()
        self._arrived = trio.Event()
        self.heard: list[wire.Message] = []
        self.played: list[Reply] = []
        self.closed = False
        self.was_reset = False

    @property
    def finished(self) -> bool:
        return not self._steps

    @property
    def unread(self) -> int:
        """Bytes the script played that the reader has not read yet."""
        return len(self._inbound)

    async def write(self, data: bytes) -> None:
        self._written += data
        while len(self._written) >= 4:
            (length,) = wire.FRAME_HEAD.unpack(self._written[:4])
            if len(self._written) < 4 + length:
                break
            body = bytes(self._written[4 : 4 + length])
            del self._written[: 4 + length]
            message = wire.decode_frame_body(body, SYNC_CAPS)
            self.heard.append(message)
            assert self._steps, f"the reader sent {message} after the script ended"
            expected, replies = self._steps.popleft()
            assert message == expected, f"the reader sent {message}, the script expects {expected}"
            for reply in replies:
                self.played.append(reply)
                self._inbound += reply if isinstance(reply, bytes) else wire.encode_frame(reply)
            self._arrived.set()

    async def read(self, n: int = -1) -> bytes:
        """Bytes the script played; blocks while the script still expects frames;
        end of stream once it is over."""
        while not self._inbound and self._steps:
            await self._arrived.wait()
            self._arrived = trio.Event()
        size = len(self._inbound) if n < 0 else min(n, len(self._inbound))
        data = bytes(self._inbound[:size])
        del self._inbound[:size]
        return data

    async def close(self) -> None:
        self.closed = True

    async def reset(self) -> None:
        self.was_reset = True


def served(
    get: wire.Get,
    items: Sequence[tuple[bytes, bytes | None]],
    first_seq: int,
    *,
    batch_entries: int,
    window: int,
) -> list[Step]:
    """The steps of a ``/lndesk/sync/1`` server answering ``get`` from ``items`` (entries
    ``first_seq``...), to a reader that starts at height ``get.first - 1`` and stores
    every batch: batches of ``batch_entries``, at most ``window`` unacknowledged."""
    held = items[get.first - first_seq : get.last - first_seq + 1]
    batches = [held[n : n + batch_entries] for n in range(0, len(held), batch_entries)]
    heights = deque(
        get.first - 1 + min(len(held), n + batch_entries)
        for n in range(0, len(held), batch_entries)
    )
    steps: list[Step] = []
    trigger: wire.Message = get
    replies: list[Reply] = []
    unacked = 0
    for run in batches:
        replies.append(wire.Batch(get.feed, tuple(run)))
        unacked += 1
        while unacked >= window:
            steps.append((trigger, replies))
            trigger, replies = wire.Ack(heights.popleft()), []
            unacked -= 1
    steps.append((trigger, [*replies, wire.Done()]))
    steps.extend((wire.Ack(height), []) for height in heights)
    return steps


class RecordingStream:
    """A real stream that keeps what went through it, each way."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.sent = bytearray()
        self.received = bytearray()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def write(self, data: bytes) -> None:
        self.sent += data
        await self._stream.write(data)

    async def read(self, n: int = -1) -> bytes:
        data: bytes = await self._stream.read(n)
        self.received += data
        return data


class RecordingHost:
    """A real host whose new streams are :class:`RecordingStream` s."""

    def __init__(self, host: Any) -> None:
        self._host = host
        self.streams: list[RecordingStream] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    async def new_stream(self, peer: Any, protocols: Sequence[Any]) -> RecordingStream:
        stream = RecordingStream(await self._host.new_stream(peer, protocols))
        self.streams.append(stream)
        return stream
