"""Liveness: keep a connection while its peer is heard, close it once the peer went silent.

A peer that vanishes without closing (a laptop shut, a Wi-Fi lost) would stay
"connected" until TCP gives up, many minutes later. So a node notes when anything last
arrived on each connection, pings a connection that has been silent for
``liveness_interval`` with a yamux ping (a 12-byte frame on the connection, no stream,
no protocol negotiation), and closes it once nothing at all has arrived for
``liveness_timeout`` although it pinged (docs/protocol.md section 19).

What it replaces: py-libp2p's health monitor opened a new ``/ipfs/ping/1.0.0`` stream
to every connection in turn, one after another, and closed a connection at the first
ping that did not complete within its timeout. On a loaded machine that dropped honest
peers: followers of a node serving 200 of them closed their connections because the
busy node took more than ten seconds to negotiate the ping stream, although it answered
everything else. And every ping cost a stream open at both ends, per connection and per
interval, which is what a node serving hundreds of followers can least afford.

Being heard is enough: any frame (data, a window update, a ping or its answer) proves
the peer's node runs. A node that was itself stalled (its loop woke up late, so it
could not read what its peers sent) closes nothing in that round: it reads first.
"""

from __future__ import annotations

import logging
import struct
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.stream_muxer.yamux.yamux import FLAG_SYN, TYPE_PING, YAMUX_HEADER_FORMAT, Yamux

logger = logging.getLogger(__name__)

Clock = Callable[[], float]


@dataclass(slots=True)
class Heard:
    """What liveness knows of one connection (times of the node's trio clock)."""

    at: float
    """When something last arrived on it."""
    pinged: float | None = None
    """When it was last pinged for being silent (None: not since it was last heard)."""


class Liveness:
    """Pings silent connections of ``host`` and closes those silent for ``timeout``."""

    def __init__(self, host: Any, interval: float, timeout: float) -> None:
        if not 0 < interval < timeout:
            raise ValueError("liveness needs 0 < interval < timeout")
        self.host = host
        self.interval = interval
        self.timeout = timeout
        self._heard: weakref.WeakKeyDictionary[Any, Heard] = weakref.WeakKeyDictionary()
        self._nursery: trio.Nursery | None = None

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Check every connection twice per ``interval`` until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            tick = self.interval / 2
            last = trio.current_time()
            try:
                while True:
                    await trio.sleep(tick)
                    now = trio.current_time()
                    # Woke up much later than asked: this node was too busy to read
                    # what its peers sent; their silence is its own.
                    stalled = now - last > tick + self.interval / 2
                    last = now
                    self.check(now, stalled=stalled)
            finally:
                self._nursery = None

    def last_heard(self, conn: Any) -> float | None:
        """When anything last arrived on ``conn`` (None: not watched yet)."""
        heard = self._heard.get(getattr(conn, "muxed_conn", None))
        return None if heard is None else heard.at

    def check(self, now: float, *, stalled: bool = False) -> list[Any]:
        """One round over every connection at time ``now``: note new connections, ping
        silent ones, close dead ones (none if ``stalled``). Returns the closed ones."""
        closed = []
        network = self.host.get_network()
        for peer, conns in list(network.connections.items()):
            for conn in list(conns):
                muxed = getattr(conn, "muxed_conn", None)
                if not isinstance(muxed, Yamux) or muxed.event_shutting_down.is_set():
                    continue
                heard = self._heard.get(muxed)
                if heard is None:
                    heard = self._heard[muxed] = self._watch(muxed, now)
                self._record_latency(peer, muxed)
                silent = now - heard.at
                if silent < self.interval:
                    continue
                waited = None if heard.pinged is None else now - heard.pinged
                if silent >= self.timeout and waited is not None and waited >= self.interval:
                    if stalled:
                        continue
                    logger.info(
                        "closing the connection to %s: nothing heard for %.0f s", peer, silent
                    )
                    closed.append(conn)
                    self._soon(self._close, conn)
                elif waited is None or waited >= self.interval:
                    heard.pinged = now
                    self._soon(self._ping, muxed)
        return closed

    def _watch(self, muxed: Yamux, now: float) -> Heard:
        """Stamp every read of the connection's secure channel with the time."""
        heard = Heard(now)
        secured = muxed.secured_conn
        read = secured.read

        async def stamped(n: int | None = None) -> bytes:
            data = await read(n)
            heard.at = trio.current_time()
            heard.pinged = None
            return data

        secured.read = stamped  # type: ignore[method-assign]
        return heard

    def _record_latency(self, peer: Any, muxed: Yamux) -> None:
        """yamux measures each connection's round trip; it is the peer's latency."""
        rtt = muxed.rtt()
        if rtt > 0:
            self.host.get_peerstore().record_latency(peer, rtt)

    def _soon(self, task: Callable[[Any], Any], arg: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(task, arg)

    async def _ping(self, muxed: Yamux) -> None:
        """A yamux ping, as yamux's own round-trip measurement sends it (so its answer
        updates the measured latency). The answer is heard like any frame."""
        with trio.move_on_after(self.interval):
            try:
                muxed._ping_id += 1
                muxed._ping_event = trio.Event()
                header = struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_PING, FLAG_SYN, 0, muxed._ping_id)
                await muxed._write_frame(header)
                muxed._ping_sent_time = trio.current_time()
            except Exception as exc:  # the connection is closing anyway
                logger.debug("could not ping %s: %s", muxed.peer_id, exc)

    async def _close(self, conn: Any) -> None:
        try:
            await conn.close()
        except Exception as exc:  # already closed by the other side
            logger.debug("closing a silent connection: %s", exc)
