"""Reading length-prefixed frames however the stream cuts them into chunks."""

from __future__ import annotations

import tracemalloc
from collections import deque

import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st
from libp2p.network.stream.exceptions import StreamEOF

from lndesk.p2p.frame_caps import SYNC_CAPS
from lndesk.p2p.wire import FRAME_HEAD, FrameReader, StreamGone

STABLE = settings(derandomize=True, database=None, deadline=None, max_examples=300)


class ChunkedStream:
    """A stream that hands out ``chunks`` one per read (each cut to the size asked),
    then EOF."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = deque(chunks)

    async def read(self, n: int) -> bytes:
        if not self._chunks:
            raise StreamEOF
        chunk = self._chunks.popleft()
        if len(chunk) > n:
            self._chunks.appendleft(chunk[n:])
            chunk = chunk[:n]
        return chunk


def cut(data: bytes, sizes: list[int]) -> list[bytes]:
    chunks, at = [], 0
    for size in sizes:
        if at >= len(data):
            break
        chunks.append(data[at : at + size])
        at += size
    if at < len(data):
        chunks.append(data[at:])
    return chunks


async def read_all(reader: FrameReader) -> list[bytes]:
    bodies = []
    while (body := await reader.receive_body()) is not None:
        bodies.append(body)
    return bodies


BODIES = st.lists(
    st.one_of(st.binary(max_size=40), st.integers(0, 200_000).map(lambda n: b"b" * n)),
    max_size=6,
)


@STABLE
@given(BODIES, st.lists(st.integers(1, 150_000), max_size=30))
def test_frames_are_read_whole_however_the_stream_is_cut(
    bodies: list[bytes], sizes: list[int]
) -> None:
    data = b"".join(FRAME_HEAD.pack(len(body)) + body for body in bodies)
    reader = FrameReader(ChunkedStream(cut(data, sizes)), 1 << 22, SYNC_CAPS)
    assert trio.run(read_all, reader) == bodies


def test_many_small_frames_in_one_chunk_and_a_big_one_across_many() -> None:
    small = [bytes([n % 256]) * (n % 7) for n in range(500)]
    big = bytes(range(256)) * 4000
    data = b"".join(FRAME_HEAD.pack(len(body)) + body for body in [*small, big, b"end"])
    chunks = [data[:6000], *cut(data[6000:], [1000] * 2000)]
    reader = FrameReader(ChunkedStream(chunks), 1 << 22, SYNC_CAPS)
    assert trio.run(read_all, reader) == [*small, big, b"end"]


def test_a_stream_closed_inside_a_frame_is_gone() -> None:
    data = FRAME_HEAD.pack(10) + b"12345"
    reader = FrameReader(ChunkedStream([data]), 1 << 22, SYNC_CAPS)
    with pytest.raises(StreamGone):
        trio.run(read_all, reader)


class Trickle:
    """A stream that hands out ``data`` ``step`` bytes a read, each chunk made as it is
    read (so the test holds none of them), then EOF."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = data
        self._at = 0
        self._step = step

    async def read(self, n: int) -> bytes:
        if self._at >= len(self._data):
            raise StreamEOF
        chunk = self._data[self._at : self._at + min(n, self._step)]
        self._at += len(chunk)
        return chunk


@pytest.mark.parametrize("step", [1, 2, 7, 100])
def test_a_frame_trickled_in_tiny_chunks_holds_about_its_own_size(step: int) -> None:
    # Each chunk kept as a bytes object of its own held some 50 bytes for every 2 bytes
    # a peer sent: a 2 MiB frame trickled 2 bytes a message took 50 MiB to gather.
    body = bytes(range(256)) * 800
    reader = FrameReader(Trickle(FRAME_HEAD.pack(len(body)) + body, step), 1 << 22, SYNC_CAPS)
    tracemalloc.start()
    try:
        bodies = trio.run(read_all, reader)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert bodies == [body]
    assert peak < 4 * len(body)


def test_many_small_frames_trickled_hold_no_more_than_a_gathering() -> None:
    # A gathering that took chunks for ever, while a frame still began in it, grew with
    # the stream: chunks of 4000 bytes end where a frame of 101 does once in 404,000.
    bodies = [bytes([n % 251]) * 97 for n in range(10_000)]
    data = b"".join(FRAME_HEAD.pack(len(body)) + body for body in bodies)
    reader = FrameReader(Trickle(data, 4000), 1 << 22, SYNC_CAPS)

    async def count() -> int:
        read = 0
        while (body := await reader.receive_body()) is not None:
            assert body == bodies[read]
            read += 1
        return read

    tracemalloc.start()
    try:
        read = trio.run(count)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert read == len(bodies)
    assert peak < len(data) // 4
