"""A TCP proxy on loopback that adds a fixed one-way delay to each direction.

This kernel has no netem, so a "real link" is simulated here: every chunk read from one
side is written to the other ``delay`` seconds after it was read, with unbounded
buffering in between (a long fat pipe: latency, no bandwidth cap). The proxy runs its
own trio loop on a thread of the bench's driver process, which is otherwise idle.
"""

from __future__ import annotations

import contextlib
import math
import queue
import threading

import trio

CHUNK = 65536


async def _pipe(source: trio.SocketStream, sink: trio.SocketStream, delay: float) -> None:
    """Copy ``source`` to ``sink``, each chunk ``delay`` seconds after it arrived; a side
    that goes away ends the copy quietly."""
    send, receive = trio.open_memory_channel[tuple[float, bytes]](math.inf)

    async def read() -> None:
        async with send:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                while data := await source.receive_some(CHUNK):
                    send.send_nowait((trio.current_time() + delay, data))

    async def write() -> None:
        async with receive:
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                async for due, data in receive:
                    await trio.sleep_until(due)
                    await sink.send_all(data)
                await sink.send_eof()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        nursery.start_soon(write)


async def _relay(client: trio.SocketStream, target_port: int, delay: float) -> None:
    try:
        server = await trio.open_tcp_stream("127.0.0.1", target_port)
    except OSError:
        await client.aclose()
        return
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pipe, client, server, delay)
            nursery.start_soon(_pipe, server, client, delay)
    finally:
        await client.aclose()
        await server.aclose()


class DelayProxy:
    """``127.0.0.1:port`` forwarding to ``127.0.0.1:target_port``, ``delay`` s each way."""

    def __init__(self, target_port: int, delay: float) -> None:
        self.target_port = target_port
        self.delay = delay
        self.port = 0
        self._ready: queue.Queue[tuple[int, trio.lowlevel.TrioToken, trio.CancelScope]] = (
            queue.Queue()
        )
        self._thread = threading.Thread(target=trio.run, args=(self._main,), daemon=True)
        self._thread.start()
        self.port, self._token, self._scope = self._ready.get(timeout=10)

    async def _main(self) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        port = listeners[0].socket.getsockname()[1]
        with trio.CancelScope() as scope:
            self._ready.put((port, trio.lowlevel.current_trio_token(), scope))

            async def handler(stream: trio.SocketStream) -> None:
                await _relay(stream, self.target_port, self.delay)

            await trio.serve_listeners(handler, listeners)

    def close(self) -> None:
        trio.from_thread.run_sync(self._scope.cancel, trio_token=self._token)
        self._thread.join(10)
