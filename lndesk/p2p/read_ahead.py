"""TCP read-ahead: one socket read serves many of the small reads Noise and yamux make.

py-libp2p reads a TCP connection in the sizes its framing needs: Noise a 2-byte length
and then the message, multistream-select one varint byte at a time. Each of those reads
was a ``receive_some`` on the socket, with a lock and a trip through trio's scheduler
(more than six socket reads for one gossip message). :class:`ReadAheadStream` asks the
socket for up to :data:`READ_AHEAD` bytes whenever a read finds nothing held, and
serves reads from what it holds, without a lock or a checkpoint, until it is used up.

What it holds is bounded: it reads from the socket only once it holds nothing, and one
read asks for :data:`READ_AHEAD` bytes at most (or exactly the size a caller asked
for, when that is larger, all of which goes to that caller). However a peer writes, a
connection holds less than :data:`READ_AHEAD` bytes read and not yet taken.

Everything else is py-libp2p's ``TrioTCPStream``'s, whose read it replaces: a read of
0 bytes is ``b""``; at the end of the stream every read is ``b""``, the socket asked
again each time; a reset is ``ConnectionClosedError``; after a local close every read
is ``b""`` (what was held is dropped then); two tasks reading at once take turns on the
stream's read lock; a read cancelled while it waits for the socket takes nothing from
it. The one difference: bytes already read ahead are served even after the peer reset
the connection, as if they had been read a moment sooner. Noise authenticates them as
before.

:func:`read_ahead_on` makes a host's TCP connections read ahead, both ways, before
their security handshake. The remote address of a connection is read through the
wrapper as before (``lndesk.p2p.inbound``).
"""

from __future__ import annotations

import logging
from typing import Any

import trio
from libp2p.io.abc import ReadWriteCloser
from libp2p.io.exceptions import ConnectionClosedError
from libp2p.io.trio import TrioTCPStream
from libp2p.network.connection.raw_connection import RawConnection

from lndesk.p2p.quick_lock import acquire_quickly

logger = logging.getLogger(__name__)

READ_AHEAD = 256 * 1024
"""The most one socket read asks for: four Noise messages of the largest size (65,537
bytes with their length) or many small ones. At trio's own default read size, 64 KiB,
a bulk sync made one socket read per Noise message and split nearly every message
across two reads, which then had to be joined."""


class ReadAheadStream(ReadWriteCloser):
    """A TCP connection (py-libp2p's ``TrioTCPStream``) whose reads are served from one
    socket read of up to ``limit`` bytes (see the module docstring)."""

    def __init__(self, inner: TrioTCPStream, limit: int = READ_AHEAD) -> None:
        if limit < 1:
            raise ValueError(f"a read-ahead limit must be at least 1 byte, not {limit}")
        self.inner = inner
        self.limit = limit
        self._held = b""
        self._at = 0
        self.socket_reads = 0
        """Reads asked of the socket so far (what the read-ahead saves is counted by it)."""
        self.socket_writes = 0
        """Writes made to the socket so far (one a Noise message)."""

    @property
    def held(self) -> int:
        """Bytes read from the socket and not yet taken by a read."""
        return len(self._held) - self._at

    async def read(self, n: int | None = None) -> bytes:
        """Up to ``n`` bytes (all that is held, or one socket read, when ``n`` is None);
        ``b""`` at the end of the stream."""
        if n is not None and n < 1:
            if n == 0:
                return b""
            raise ValueError(f"a read needs a size of at least 1 byte or None, not {n}")
        if self._held:
            return self._take(n)
        lock = self.inner.read_lock
        await acquire_quickly(lock)  # no checkpoint: the socket read below has its own
        try:
            if self._held:  # another task read ahead while this one waited
                return self._take(n)
            ask = n if n is not None and n > self.limit else self.limit
            data = await self._receive(ask)
        finally:
            lock.release()
        if n is None or len(data) <= n:
            return data
        self._held = data
        self._at = n
        return data[:n]

    def _take(self, n: int | None) -> bytes:
        held, at = self._held, self._at
        end = len(held) if n is None else min(len(held), at + n)
        if end == len(held):
            self._held = b""
            self._at = 0
            return held[at:] if at else held
        self._at = end
        return held[at:end]

    async def _receive(self, ask: int) -> bytes:
        """One socket read, its errors as ``TrioTCPStream.read`` gives them."""
        self.socket_reads += 1
        try:
            return await self.inner.stream.receive_some(ask)
        except trio.BrokenResourceError as error:
            logger.debug("read from a reset connection: %s", error)
            raise ConnectionClosedError(
                f"TCP connection reset by remote peer: {error}", transport="tcp"
            ) from error
        except trio.ClosedResourceError as error:
            logger.debug("read from a connection closed here: %s", error)
            return b""

    async def write(self, data: bytes) -> None:
        """``TrioTCPStream.write``, its lock taken without a checkpoint when free (the
        socket write checks for cancellation before it sends anything, and yields)."""
        lock = self.inner.write_lock
        await acquire_quickly(lock)
        self.socket_writes += 1
        try:
            await self.inner.stream.send_all(data)
        except trio.BrokenResourceError as error:
            logger.debug("write to a reset connection: %s", error)
            raise ConnectionClosedError(
                f"TCP connection reset by remote peer: {error}", transport="tcp"
            ) from error
        except trio.ClosedResourceError as error:
            logger.debug("write to a connection closed here: %s", error)
        finally:
            lock.release()

    async def close(self) -> None:
        self._held = b""
        self._at = 0
        await self.inner.close()

    def get_remote_address(self) -> tuple[str, int] | None:
        return self.inner.get_remote_address()


def read_ahead(raw_conn: Any) -> None:
    """Make ``raw_conn`` read ahead if it is a plain TCP connection not yet doing so
    (a relayed connection, or another transport's, is left as it is)."""
    if type(raw_conn) is RawConnection and type(raw_conn.stream) is TrioTCPStream:
        raw_conn.stream = ReadAheadStream(raw_conn.stream)


def read_ahead_on(host: Any) -> None:
    """Make every TCP connection of ``host`` read ahead from the start of its security
    handshake, inbound and outbound (call before the host runs)."""
    upgrader = host.get_network().upgrader
    upgrade_security = upgrader.upgrade_security

    async def upgrade(raw_conn: Any, is_initiator: bool, peer_id: Any = None) -> Any:
        read_ahead(raw_conn)
        return await upgrade_security(raw_conn, is_initiator, peer_id)

    upgrader.upgrade_security = upgrade
