"""Liveness: keep a connection while its peer is heard, close it once the peer went silent.

A peer that vanishes without closing (a laptop shut, a Wi-Fi lost) would stay
"connected" until TCP gives up, many minutes later. So a node notes when anything last
arrived on each connection, pings a connection it dialled that has been silent for
``liveness_interval`` with a yamux ping (a 12-byte frame on the connection, no stream,
no protocol negotiation), and closes it once nothing at all has arrived for
``liveness_timeout`` although it pinged (docs/protocol.md section 19).

The dialling side drives: a connection the peer dialled is pinged only once it has been
silent for ``liveness_timeout - liveness_interval``, when the peer's own pings (every
``liveness_interval`` of silence) should long have arrived; its answer, or its absence,
then decides by the timeout as before. A node serving 200 followers used to ping each
follower's connection and answer each follower's pings, besides a round-trip ping both
ways every 30 s: a quarter of its idle CPU. Now it answers one ping per follower and
``liveness_interval`` and sends none, and a follower that vanished is still closed
``liveness_timeout`` after it was last heard.

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

One task pings each connection: every yamux connection of a host built by
``build_host`` becomes a :class:`LivenessYamux`, whose loop replaces yamux's own
round-trip loop (a ping every 30 s) with one that pings when liveness asks (and, on a
connection liveness does not watch, every 30 s as yamux did). Both used to write pings
on the same connection and share yamux's one "ping sent at" time and "answer came"
event, so one's answer completed the other's ping and the round trip was timed from the
wrong ping. yamux's answer handler does not look at which ping is answered, so there is
at most one ping unanswered at a time, and an answer that may be the late one of an
earlier ping is not timed. Each timed answer is one latency sample of the peer
(``PeerStatus.latency_ms``), recorded when it arrives.
"""

from __future__ import annotations

import logging
import math
import struct
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import trio
from libp2p.stream_muxer.yamux.yamux import (
    FLAG_SYN,
    RTT_MEASURE_INTERVAL,
    TYPE_PING,
    YAMUX_HEADER_FORMAT,
    Yamux,
)

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

FIRST_PING_SECONDS = 0.5
"""A new connection's first ping (its first round trip), as yamux's own loop sends it."""
PONG_WAIT_SECONDS = 10.0
"""How long a ping waits for its answer before the next one may be sent."""


class LivenessYamux(Yamux):
    """yamux whose pings all come from one task: the first 0.5 s after connecting, one
    whenever :meth:`ping_soon` asks and, unless ``every`` is None (liveness watches the
    connection), a round-trip ping every ``every`` seconds as yamux's own loop sends them.

    At most one ping is unanswered at a time; a ping asked meanwhile is sent once the
    answer came or ``pong_wait`` passed. ``on_round_trip`` gets each timed round trip.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._init_pings()

    @classmethod
    def adopt(cls, muxed: Yamux) -> LivenessYamux:
        """Make ``muxed`` (not started yet) one: py-libp2p builds every yamux
        connection as a plain :class:`Yamux`, whatever class its options name."""
        muxed.__class__ = cls
        assert isinstance(muxed, cls)
        muxed._init_pings()
        return muxed

    def _init_pings(self) -> None:
        self.on_round_trip: Callable[[float], None] | None = None
        self.pong_wait = PONG_WAIT_SECONDS
        self.every: float | None = RTT_MEASURE_INTERVAL
        """Seconds between round-trip pings nobody asked for (None: none)."""
        self.pings = 0
        """Pings sent."""
        self.answers = 0
        """Answers to them that arrived in time."""
        self.unanswered = 0
        """Pings whose answer did not arrive in time."""
        self._asked = trio.Event()
        self._done = trio.Event()
        self._unanswered = False

    def ping_soon(self) -> None:
        """Ping now, or once the ping awaiting its answer is done with."""
        self._asked.set()

    async def wait_answers(self, count: int, unanswered: int = 0) -> None:
        """Return once ``count`` pings have been answered in time and ``unanswered``
        have not."""
        while self.answers < count or self.unanswered < unanswered:
            await self._done.wait()

    def _ping_done(self) -> None:
        self._done.set()
        self._done = trio.Event()

    async def _measure_rtt_loop(self) -> None:
        wait = FIRST_PING_SECONDS
        try:
            while not self.event_shutting_down.is_set():
                await self._sleep_unless_asked(wait)
                if self.event_shutting_down.is_set():
                    return
                self._asked = trio.Event()
                await self._ping_once()
                wait = math.inf if self.every is None else self.every
        except Exception as exc:  # the connection is closing
            logger.debug("stopped pinging %s: %s", self.peer_id, exc)

    async def _sleep_unless_asked(self, seconds: float) -> None:
        with trio.move_on_after(seconds):
            async with trio.open_nursery() as nursery:

                async def until(event: trio.Event) -> None:
                    await event.wait()
                    nursery.cancel_scope.cancel()

                nursery.start_soon(until, self._asked)
                nursery.start_soon(until, self.event_shutting_down)

    async def _ping_once(self) -> None:
        self._ping_id += 1
        answer = self._ping_event = trio.Event()
        before = self._rtt
        # yamux times an answer from _ping_sent_time: one read while the write is still
        # finishing is timed from this ping, not from the one before.
        self._ping_sent_time = trio.current_time()
        await self._write_frame(
            struct.pack(YAMUX_HEADER_FORMAT, 0, TYPE_PING, FLAG_SYN, 0, self._ping_id)
        )
        self._ping_sent_time = trio.current_time()
        self.pings += 1
        with trio.move_on_after(self.pong_wait):
            await answer.wait()
        if not answer.is_set():
            # Its answer may still come, and yamux would take it for the next ping's.
            self._unanswered = True
            self.unanswered += 1
            self._ping_done()
            return
        self.answers += 1
        self._ping_done()
        if self._unanswered:
            self._unanswered = False  # perhaps the late answer of the earlier ping
            return
        # yamux smooths each round trip into _rtt (the first is taken as it is).
        rtt = self._rtt if before == 0.0 else 2 * self._rtt - before
        if rtt > 0 and self.on_round_trip is not None:
            self.on_round_trip(rtt)


def ping_from_one_task(host: Any) -> None:
    """Make each yamux connection ``host`` upgrades a :class:`LivenessYamux` before it
    starts. A host whose upgrader is not py-libp2p 0.8's is left alone (liveness then
    watches none of its connections)."""
    muxers: Any = getattr(getattr(host.get_network(), "upgrader", None), "muxer_multistream", None)
    new_conn = getattr(muxers, "new_conn", None)
    if new_conn is None:
        logger.warning("this py-libp2p builds yamux connections elsewhere: no liveness pings")
        return

    async def adopting(conn: Any, peer_id: Any) -> Any:
        muxed = await new_conn(conn, peer_id)
        if type(muxed) is Yamux:
            LivenessYamux.adopt(muxed)
        return muxed

    muxers.new_conn = adopting


@dataclass(slots=True)
class Heard:
    """What liveness knows of one connection (times of the node's trio clock)."""

    at: float
    """When something last arrived on it."""
    pinged: float | None = None
    """When it was last pinged for being silent (None: not since it was last heard)."""


class Liveness:
    """Pings silent connections of ``host`` and closes those silent for ``timeout``.

    A connection this node dialled is pinged after ``interval`` of silence, one the peer
    dialled only after ``backstop`` (``timeout - interval``, at least ``interval``): its
    dialler pings it (module docstring).

    It watches connections muxed by :class:`LivenessYamux` (all yamux connections of
    a host from ``build_host``); one muxed otherwise (mplex, which an old peer may
    choose) is left alone."""

    def __init__(self, host: Any, interval: float, timeout: float) -> None:
        if not 0 < interval < timeout:
            raise ValueError("liveness needs 0 < interval < timeout")
        self.host = host
        self.interval = interval
        self.timeout = timeout
        self.backstop = max(interval, timeout - interval)
        """Silence after which a connection the peer dialled is pinged."""
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
                if not isinstance(muxed, LivenessYamux) or muxed.event_shutting_down.is_set():
                    continue
                heard = self._heard.get(muxed)
                if heard is None:
                    heard = self._heard[muxed] = self._watch(peer, muxed, now)
                silent = now - heard.at
                if silent < (self.interval if muxed.is_initiator else self.backstop):
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
                    muxed.ping_soon()
        return closed

    def _watch(self, peer: Any, muxed: LivenessYamux, now: float) -> Heard:
        """Stamp every read of the connection's secure channel with the time, and
        record each timed ping answer as the peer's latency."""
        heard = Heard(now)
        secured = muxed.secured_conn
        read = secured.read

        async def stamped(n: int | None = None) -> bytes:
            data = await read(n)
            heard.at = trio.current_time()
            heard.pinged = None
            return data

        secured.read = stamped  # type: ignore[method-assign]
        peerstore = self.host.get_peerstore()
        muxed.every = None  # pinged for silence only: the answers are latency samples
        muxed.pong_wait = min(muxed.pong_wait, self.interval)
        muxed.on_round_trip = lambda rtt: peerstore.record_latency(peer, rtt)
        return heard

    def _soon(self, task: Callable[[Any], Any], arg: Any) -> None:
        if self._nursery is not None:
            self._nursery.start_soon(task, arg)

    async def _close(self, conn: Any) -> None:
        try:
            await conn.close()
        except Exception as exc:  # already closed by the other side
            logger.debug("closing a silent connection: %s", exc)
