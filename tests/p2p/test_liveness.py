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
from lndesk.p2p.liveness import Liveness

INTERVAL = 20.0
TIMEOUT = 60.0


class FreezingProxy:
    """Forwards TCP to ``port`` on 127.0.0.1 until :attr:`frozen` is set; from then on
    it holds whatever arrives, both ways, and closes nothing."""

    def __init__(self, port: int) -> None:
        self.target = port
        self.port = 0
        self.frozen = trio.Event()

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
                await trio.sleep_forever()
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
        before = liveness.last_heard(conn)
        assert before is not None
        assert liveness.check(before + INTERVAL / 2) == []
        assert conn.muxed_conn._ping_event.is_set() or conn.muxed_conn._ping_id <= 1
        pings = conn.muxed_conn._ping_id
        assert liveness.check(before + INTERVAL + 1) == []  # silent: pinged
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert conn.muxed_conn._ping_id == pings + 1
        with trio.fail_after(10):
            await conn.muxed_conn._ping_event.wait()  # the answer came back
        after = liveness.last_heard(conn)
        assert after is not None and after > before
        assert liveness.check(before + INTERVAL + 2) == []  # pinged once per silence


async def test_a_peer_gone_silent_is_closed_after_the_timeout_not_at_the_first_ping() -> None:
    async with linked() as (a, b, proxy, liveness, conn):
        heard = await frozen_since(proxy, liveness, conn)
        pings = conn.muxed_conn._ping_id
        assert liveness.check(heard + INTERVAL) == []  # pinged, no answer comes
        assert liveness.check(heard + 2 * INTERVAL) == []  # pinged again
        # Silent for almost the timeout, pinged twice without an answer: a loaded
        # machine answers late, so the connection stays.
        assert liveness.check(heard + TIMEOUT - 1) == []
        await trio.testing.wait_all_tasks_blocked(0.2)
        assert conn.muxed_conn._ping_id == pings + 2
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
        liveness.check(heard + INTERVAL)  # pinged; the answer arrives
        await trio.testing.wait_all_tasks_blocked(0.2)
        with trio.fail_after(10):
            await conn.muxed_conn._ping_event.wait()
        now = liveness.last_heard(conn)
        assert now is not None
        assert liveness.check(now + TIMEOUT - 1) == []  # only pinged again
        assert b.get_id() in a.get_connected_peers()


async def test_liveness_rounds_close_a_vanished_peer_by_themselves() -> None:
    async with linked(interval=0.2, timeout=0.6) as (a, b, proxy, _liveness, _conn):
        proxy.frozen.set()
        await wait_disconnected(a, b.get_id(), timeout=20)
