"""Liveness: silent connections are pinged with yamux pings, dead ones closed, busy ones kept.

Two real hosts on loopback, the dialler's connection running through a small TCP proxy
that can freeze: it then passes nothing either way and keeps both sockets open, as a
peer that vanished without a word (or one too busy to answer) looks from the other
end. Rounds are run with the times the test gives (``Liveness.check``), so the rules
are checked exactly and nothing waits for a timeout to pass.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import multiaddr
import pytest
import trio
import trio.testing
from conftest import running_host, wait_disconnected
from libp2p.peer.peerinfo import PeerInfo

from lndesk.p2p.config import NodeConfig
from lndesk.p2p.host import connection_config
from lndesk.p2p.liveness import RTT_MEASURE_INTERVAL, Liveness, LivenessYamux

INTERVAL = 20.0
TIMEOUT = 60.0


class FreezingProxy:
    """Forwards TCP to ``port`` on 127.0.0.1 until :attr:`frozen` is set; from then on
    it holds whatever arrives, both ways, and closes nothing, until :attr:`thawed` is
    set: then it passes on what it held, in order."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self.frozen = trio.Event()
        self.thawed = trio.Event()

    async def run(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
        self.port = listeners[0].socket.getsockname()[1]
        task_status.started()
        await trio.serve_listeners(self._handle, listeners)

    async def _handle(self, inbound: trio.SocketStream) -> None:
        outbound = await trio.open_tcp_stream("127.0.0.1", self.target)
        async with inbound, outbound, trio.open_nursery() as nursery:
            nursery.start_soon(self._pump, inbound, outbound)
            nursery.start_soon(self._pump, outbound, inbound)

    async def _pump(self, source: trio.SocketStream, sink: trio.SocketStream) -> None:
        while data := await source.receive_some(65536):
            if self.frozen.is_set():
                await self.thawed.wait()
            await sink.send_all(data)


@asynccontextmanager
async def linked(interval: float = INTERVAL, timeout: float = TIMEOUT) -> AsyncIterator[Any]:
    """Host ``a`` connected to ``b`` through a freezing proxy, ``a``'s liveness running
    with rounds that never come by themselves (the test runs them)."""
    async with running_host() as a, running_host() as b, trio.open_nursery() as nursery:
        port = int(str(b.get_addrs()[0]).split("/")[4])
        proxy = FreezingProxy(port)
        await nursery.start(proxy.run)
        via = multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
        with trio.fail_after(10):
            await a.connect(PeerInfo(b.get_id(), [via]))
        liveness = Liveness(a, interval, timeout)
        liveness.check(trio.current_time())  # rounds are the test's
        await nursery.start(liveness.run)
        [conn] = a.get_network().connections[b.get_id()]
        assert isinstance(conn.muxed_conn, LivenessYamux)  # both ends: one task pings
        [inbound] = b.get_network().connections[a.get_id()]
        assert isinstance(inbound.muxed_conn, LivenessYamux)
        yield a, b, proxy, liveness, conn
        nursery.cancel_scope.cancel()


async def frozen_since(proxy: FreezingProxy, liveness: Liveness, conn: Any) -> float:
    """Freeze the link; when ``a`` last heard anything once the last bytes are read."""
    proxy.frozen.set()
    await trio.testing.wait_all_tasks_blocked(0.2)
    heard = liveness.last_heard(conn)
    assert heard is not None
    return heard


def test_liveness_is_lndesks_not_libp2ps_health_monitor() -> None:
    config = connection_config(NodeConfig())
    assert not config.enable_health_monitoring
    assert NodeConfig().liveness_timeout >= 3 * NodeConfig().liveness_interval
    with pytest.raises(ValueError):
        Liveness(None, 10, 10)


async def test_a_silent_connection_is_pinged_and_its_answer_heard() -> None:
    async with linked() as (_a, _b, _proxy, liveness, conn):
        muxed = conn.muxed_conn
        with trio.fail_after(10):
            await muxed.wait_answers(1)  # the first round trip, right after connecting
        before = liveness.last_heard(conn)
        assert before is not None
        assert liveness.check(before + INTERVAL / 2) == []
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert muxed.pings == 1  # heard lately: not pinged
        assert liveness.check(before + INTERVAL + 1) == []  # silent: pinged
        with trio.fail_after(10):
            await muxed.wait_answers(2)  # the answer came back
        assert muxed.pings == 2
        after = liveness.last_heard(conn)
        assert after is not None and after > before
        assert liveness.check(after + INTERVAL / 2) == []  # heard again: not pinged
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert muxed.pings == 2


def latencies(host: Any) -> list[float]:
    """The latency samples ``host`` records from now on (passed on to its peerstore)."""
    peerstore = host.get_peerstore()
    record = peerstore.record_latency
    samples: list[float] = []

    def recording(peer: Any, rtt: float) -> None:
        samples.append(rtt)
        record(peer, rtt)

    peerstore.record_latency = recording
    return samples


async def test_each_answer_is_one_latency_sample_when_it_arrives() -> None:
    async with linked() as (a, b, _proxy, liveness, conn):
        muxed = conn.muxed_conn
        with trio.fail_after(10):
            await muxed.wait_answers(1)
        samples = latencies(a)
        heard = liveness.last_heard(conn)
        assert heard is not None
        liveness.check(heard + INTERVAL)
        with trio.fail_after(10):
            await muxed.wait_answers(2)
        assert len(samples) == 1 and samples[0] > 0
        assert a.get_peerstore().latency_EWMA(b.get_id()) > 0
        for _ in range(3):  # rounds that hear no new answer record nothing
            now = liveness.last_heard(conn)
            assert now is not None
            liveness.check(now + 1)
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert len(samples) == 1


async def test_one_ping_at_a_time_each_timed_from_itself() -> None:
    async with linked() as (a, _b, proxy, liveness, conn):
        muxed = conn.muxed_conn
        with trio.fail_after(10):
            await muxed.wait_answers(1)
        samples = latencies(a)
        heard = await frozen_since(proxy, liveness, conn)
        liveness.check(heard + INTERVAL)
        await trio.testing.wait_all_tasks_blocked(0.05)
        assert muxed.pings == 2
        held = trio.current_time()  # it was sent by now
        # Asked again while that ping is unanswered: sent once its answer came.
        liveness.check(heard + 2 * INTERVAL)
        await trio.testing.wait_all_tasks_blocked(0.5)
        assert muxed.pings == 2
        proxy.thawed.set()
        thawed = trio.current_time()
        with trio.fail_after(10):
            await muxed.wait_answers(3)
        assert muxed.pings == 3
        late, prompt = samples
        assert late >= thawed - held  # timed from its own ping, held all along
        assert prompt < late


async def test_an_answer_that_may_be_a_late_one_is_not_timed() -> None:
    async with linked() as (a, _b, proxy, liveness, conn):
        muxed = conn.muxed_conn
        with trio.fail_after(10):
            await muxed.wait_answers(1)
        samples = latencies(a)
        muxed.pong_wait = 0.2  # (10 s in use) the time it waits on, not a sleep of the test's
        heard = await frozen_since(proxy, liveness, conn)
        liveness.check(heard + INTERVAL)
        with trio.fail_after(10):
            await muxed.wait_answers(1, unanswered=1)  # no answer in time
        muxed.pong_wait = 10.0
        liveness.check(heard + 2 * INTERVAL)
        await trio.testing.wait_all_tasks_blocked(0.05)
        assert muxed.pings == 3
        # Both answers arrive; yamux cannot tell which is whose, so none is timed.
        proxy.thawed.set()
        with trio.fail_after(10):
            await muxed.wait_answers(2)
        await trio.testing.wait_all_tasks_blocked(0.05)
        assert samples == []
        now = liveness.last_heard(conn)
        assert now is not None
        liveness.check(now + INTERVAL)  # the next one is timed again
        with trio.fail_after(10):
            await muxed.wait_answers(3)
        assert len(samples) == 1


async def test_a_peer_gone_silent_is_closed_after_the_timeout_not_at_the_first_ping() -> None:
    async with linked() as (a, b, proxy, liveness, conn):
        heard = await frozen_since(proxy, liveness, conn)
        pings = conn.muxed_conn.pings
        assert liveness.check(heard + INTERVAL) == []  # pinged, no answer comes
        assert liveness.check(heard + 2 * INTERVAL) == []  # asked to ping again
        # Silent for almost the timeout, pinged twice without an answer: a loaded
        # machine answers late, so the connection stays.
        assert liveness.check(heard + TIMEOUT - 1) == []
        await trio.testing.wait_all_tasks_blocked(0.2)
        # One ping at a time: the second waits for the first's answer or its time.
        assert conn.muxed_conn.pings == pings + 1
        assert b.get_id() in a.get_connected_peers()
        # Past the timeout, but this node itself woke up late: it reads first.
        assert liveness.check(heard + TIMEOUT + 1, stalled=True) == []
        assert b.get_id() in a.get_connected_peers()
        assert liveness.check(heard + TIMEOUT + 1) == [conn]
        await wait_disconnected(a, b.get_id())


async def test_a_connection_heard_again_is_kept() -> None:
    async with linked() as (a, b, _proxy, liveness, conn):
        heard = liveness.last_heard(conn)
        assert heard is not None
        answers = conn.muxed_conn.answers
        liveness.check(heard + INTERVAL)  # pinged; the answer arrives
        with trio.fail_after(10):
            await conn.muxed_conn.wait_answers(answers + 1)
        now = liveness.last_heard(conn)
        assert now is not None
        assert liveness.check(now + TIMEOUT - 1) == []  # only pinged again
        assert b.get_id() in a.get_connected_peers()


async def test_liveness_rounds_close_a_vanished_peer_by_themselves() -> None:
    async with linked(interval=0.2, timeout=0.6) as (a, b, proxy, _liveness, _conn):
        proxy.frozen.set()
        await wait_disconnected(a, b.get_id(), timeout=20)


async def test_the_dialled_side_leaves_the_pings_to_the_dialler_but_still_closes() -> None:
    """``b`` was dialled: a silent connection is its dialler's to ping, so ``b`` pings
    it only at the backstop (``TIMEOUT - INTERVAL``), and closes it at the timeout."""
    async with linked() as (a, b, proxy, _liveness, _conn), trio.open_nursery() as nursery:
        listener = Liveness(b, INTERVAL, TIMEOUT)
        assert listener.backstop == TIMEOUT - INTERVAL
        listener.check(trio.current_time())  # watches b's end from now on
        await nursery.start(listener.run)  # its rounds are the test's too (20 s apart)
        [inbound] = b.get_network().connections[a.get_id()]
        muxed = inbound.muxed_conn
        assert isinstance(muxed, LivenessYamux) and not muxed.is_initiator
        with trio.fail_after(10):
            await muxed.wait_answers(1)  # its first round trip, right after connecting
        heard = await frozen_since(proxy, listener, inbound)
        assert listener.check(heard + INTERVAL) == []
        assert listener.check(heard + listener.backstop - 1) == []
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert muxed.pings == 1  # silent, but the dialler pings
        assert listener.check(heard + listener.backstop) == []
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert muxed.pings == 2  # the dialler's pings stopped coming: pinged
        assert listener.check(heard + TIMEOUT - 1) == []
        assert listener.check(heard + TIMEOUT) == [inbound]
        await wait_disconnected(b, a.get_id())
        nursery.cancel_scope.cancel()


async def test_a_watched_connection_is_pinged_for_silence_only(
    mock_clock: trio.testing.MockClock,
) -> None:
    """yamux's round-trip ping every 30 s goes on where liveness does not watch, and
    stops where it does: there, its pings for silence are the latency samples."""
    async with running_host() as a, running_host() as b:
        await a.connect(PeerInfo(b.get_id(), b.get_addrs()))
        Liveness(a, INTERVAL, TIMEOUT).check(trio.current_time())  # a watches, b does not
        [conn] = a.get_network().connections[b.get_id()]
        [inbound] = b.get_network().connections[a.get_id()]
        watched, unwatched = conn.muxed_conn, inbound.muxed_conn
        try:
            for minute in range(1, 4):
                mock_clock.jump(RTT_MEASURE_INTERVAL)
                await unwatched.wait_answers(minute)  # the first, then one every 30 s
                await trio.testing.wait_all_tasks_blocked()
                assert watched.pings == 1  # only the first, 0.5 s after connecting
            assert unwatched.pings == 3
        finally:
            mock_clock.autojump_threshold = 0  # the hosts' stopping waits on timers
