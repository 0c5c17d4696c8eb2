"""A TCP proxy on loopback that can stop reading what the far end sends: a reader whose
whole connection stops taking data (not just one stream), so the far end's writes block
in its kernel's socket buffer, as they do behind a peer that stopped reading its socket.

It runs in the test's own trio loop::

    async with stall_proxy(target_port) as proxy:
        ... dial 127.0.0.1:proxy.port ...
        proxy.stall()   # from now on nothing more is read from the target
        proxy.drop()    # close every connection (the target's writes fail)
"""

from __future__ import annotations

import contextlib
import functools
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import trio

CHUNK = 65536
SMALL_BUFFER = 4096
"""The receive buffer of the proxy's socket to the target (the kernel doubles it): what
the target can write before its writes block is then mostly its own send buffer."""


@dataclass
class StallProxy:
    port: int = 0
    stalled: trio.Event = field(default_factory=trio.Event)
    relays: list[trio.CancelScope] = field(default_factory=list)

    def stall(self) -> None:
        """Stop reading from the target; what it writes from now on stays unread."""
        self.stalled.set()

    def drop(self) -> None:
        """Close every connection made so far, with what the target wrote unread: the
        target's connection is reset, and a write it is blocked in fails."""
        for relay in self.relays:
            relay.cancel()


async def _copy(
    source: trio.SocketStream, sink: trio.SocketStream, gate: trio.Event | None
) -> None:
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
        while True:
            if gate is not None and gate.is_set():
                await trio.sleep_forever()
            data = await source.receive_some(CHUNK)
            if not data:
                await sink.send_eof()
                return
            await sink.send_all(data)


@contextlib.asynccontextmanager
async def stall_proxy(target_port: int, *, source: str | None = None) -> AsyncIterator[StallProxy]:
    """``127.0.0.1:port`` forwarding to ``127.0.0.1:target_port`` until ``stall()``;
    its connections to the target come from the loopback address ``source`` if given
    (``127.0.0.2``: another address than a reader's own)."""
    proxy = StallProxy()

    async def relay(client: trio.SocketStream) -> None:
        target = await trio.open_tcp_stream("127.0.0.1", target_port, local_address=source)
        target.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL_BUFFER)
        with trio.CancelScope() as relay:
            proxy.relays.append(relay)
            async with client, target, trio.open_nursery() as nursery:
                nursery.start_soon(_copy, client, target, None)
                nursery.start_soon(_copy, target, client, proxy.stalled)

    async with trio.open_nursery() as nursery:
        listeners = await nursery.start(
            functools.partial(trio.serve_tcp, relay, 0, host="127.0.0.1")
        )
        proxy.port = listeners[0].socket.getsockname()[1]
        yield proxy
        nursery.cancel_scope.cancel()
