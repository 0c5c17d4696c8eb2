"""What the tuned Pubsub (``lndesk.p2p.pubsub``) puts between itself and its peers'
streams and queues: reading ahead, RPC frames without peer records, larger outbound
queues, the host without address listing, where a received message was queued, and
how often a peer's reader lets other tasks run, and the lock its writes hold.
"""

from __future__ import annotations

import weakref
from typing import Any, ClassVar, cast

import trio
from libp2p.abc import IHost, INetStream
from libp2p.io.abc import Reader
from libp2p.io.exceptions import MessageTooLarge
from libp2p.peer.id import ID
from libp2p.pubsub.pb import rpc_pb2
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.utils import encode_varint_prefixed
from libp2p.utils.varint import read_varint_prefixed_bytes_limited

from lndesk.p2p.gossip_io import read_quickly
from lndesk.p2p.quick_lock import acquire_quickly

OUTBOUND_QUEUE = 1024
"""RPCs each peer's outbound queue holds (py-libp2p's default is 32)."""
READ_AHEAD = 64 * 1024
"""Bytes asked of a peer's gossip stream at once; its RPCs are cut from them."""
PACE = 32
"""Received messages (or subscriptions) a peer's reader handles between two checkpoints:
one RPC within the size cap holds thousands, and the reader must not hold the thread
for all of them."""


class Pace:
    """What one peer's reader has handled since it last let other tasks run."""

    __slots__ = ("_handled",)

    def __init__(self) -> None:
        self._handled = 0

    async def step(self) -> None:
        """One message handled; every ``PACE`` of them, a checkpoint."""
        self._handled += 1
        if self._handled >= PACE:
            self._handled = 0
            await trio.lowlevel.checkpoint()


class WriteLock:
    """The lock every write on one gossip stream holds (``DeliveringPubsub``). Taken
    without a trip through the scheduler when it is free, as it nearly always is: trio's
    ``Lock`` lets other tasks run at every acquire, and the write it guards does anyway.
    """

    __slots__ = ("_lock",)

    _of: ClassVar[weakref.WeakKeyDictionary[INetStream, WriteLock]] = weakref.WeakKeyDictionary()

    def __init__(self) -> None:
        self._lock = trio.Lock()

    @classmethod
    def of(cls, stream: INetStream) -> WriteLock:
        """``stream``'s lock (kept as long as the stream is)."""
        lock = cls._of.get(stream)
        if lock is None:
            lock = cls._of[stream] = cls()
        return lock

    async def __aenter__(self) -> None:
        await acquire_quickly(self._lock)

    async def __aexit__(self, *_exc: object) -> None:
        self._lock.release()


class Relay:
    """Where the router queued one received message (``DeliveringPubsub.wait_relayed``).

    ``targets`` holds, for each peer's queue it went into, how many RPCs that peer's
    sender must have written for it to be out. A peer whose sender was still in a write
    when the message was queued (it may be stalled) is not among them. ``queued`` is set
    once the router is done with the message.
    """

    __slots__ = ("queued", "targets")

    def __init__(self) -> None:
        self.targets: list[tuple[RpcQueue, int]] = []
        self.queued = trio.Event()


class BigQueues(dict[ID, RpcQueue]):
    """Pubsub's per-peer outbound queues, enlarged as they are created.

    py-libp2p builds each queue with its fixed default size (32) and registers it here
    before anything is pushed; this is the one place to resize it.
    """

    def __setitem__(self, peer_id: ID, queue: RpcQueue) -> None:
        inner = getattr(queue, "_queue", None)
        if inner is not None and hasattr(inner, "max_size"):
            inner.max_size = max(inner.max_size, OUTBOUND_QUEUE)
        super().__setitem__(peer_id, queue)


class RecordlessHost:
    """The host as Pubsub sees it: the same in everything but ``get_addrs``.

    Pubsub and GossipSub call ``get_addrs`` only to build the signed peer record they
    attach to RPCs (``env_to_send_in_RPC``), which ``frame`` strips before sending.
    Answering with the addresses of the record already made keeps py-libp2p reusing
    that record instead of listing the transports' addresses for every message.
    """

    def __init__(self, host: IHost) -> None:
        self._host = host
        # Asked for at every message: found here, not through __getattr__.
        self.get_id = host.get_id
        self.get_network = host.get_network

    def get_addrs(self) -> list[Any]:
        record = self._host.get_peerstore().get_local_record()
        if record is None:
            return list(self._host.get_addrs())
        return list(record.record().addrs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)


class ReadAhead:
    """A gossip stream as Pubsub's reader sees it: reads are served from chunks of up to
    ``READ_AHEAD`` bytes read from the stream (``lndesk.p2p.gossip_io.read_quickly``),
    and ``read_rpc`` cuts length-prefixed RPCs from them; everything else is the
    stream's own."""

    def __init__(self, stream: INetStream) -> None:
        self._stream = stream
        self._chunk = b""
        self._at = 0

    async def read(self, n: int | None = None) -> bytes:
        if n == 0:
            return b""
        if self._at >= len(self._chunk):
            self._chunk = await read_quickly(self._stream, READ_AHEAD)
            self._at = 0
        if n is None or n < 0:
            n = len(self._chunk) - self._at
        data = self._chunk[self._at : self._at + n]
        self._at += len(data)
        return data

    async def read_rpc(self, max_length: int) -> bytes:
        """The next RPC's bytes (after its varint length prefix), as py-libp2p's
        ``read_varint_prefixed_bytes_limited`` reads them, with its errors: a length over
        ``max_length`` is refused (``MessageTooLarge``) before the body is read. An RPC
        that lies whole in the chunk read ahead is cut from it without a call per byte
        of its prefix."""
        chunk, at = self._chunk, self._at
        length, shift = 0, 0
        for end in range(at, min(at + 10, len(chunk))):
            byte = chunk[end]
            length |= (byte & 0x7F) << shift
            if not byte & 0x80:
                if length > max_length:
                    raise MessageTooLarge(
                        f"Message length {length} exceeds maximum allowed {max_length}"
                    )
                if end + 1 + length <= len(chunk):
                    self._at = end + 1 + length
                    return chunk[end + 1 : self._at]
                break
            shift += 7
        return await read_varint_prefixed_bytes_limited(cast(Reader, self), max_length)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def frame(rpc: rpc_pb2.RPC) -> bytes:
    """An RPC as it goes on the stream (varint length prefix), without a peer record."""
    rpc.ClearField("senderRecord")
    return bytes(encode_varint_prefixed(rpc.SerializeToString()))
