"""When a server's sessions run out, an address holding many yields to one waiting with
fewer (docs/protocol.md section 24.1), and a ``want`` refused by the peer's rate costs
its address nothing (section 20.13).

The attack on real loopback nodes: eight hostile addresses (``127.0.0.10`` to
``127.0.0.17``, through proxies whose connections come from them) each hold
``sessions_per_ip`` sessions, all ``max_sessions`` of the server's, and open a new one
as soon as one of theirs ends. An honest reader on ``127.0.0.1`` is refused while the
server is full, and gets the next session freed.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import trio
from conftest import running_host
from multiaddr import Multiaddr
from node_helpers import TestNode, make_data_dir, running_node, sync_stream
from stall_proxy import stall_proxy
from store_helpers import make_chain, make_identity, wire

from lndesk.p2p import wire as frames
from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised
from lndesk.p2p.fair_sessions import FAIR_WAIT_SECONDS, MAX_WAITING, FairSessions
from lndesk.p2p.sessions import YIELDS, ServerSessions

ANN = make_identity(1)
HOSTILE = [f"127.0.0.{n}" for n in range(10, 18)]
PER_IP = 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- the rule, with an injected clock ----------------------------------------------


def test_an_address_holding_more_yields_the_last_free_sessions_to_waiting_ones() -> None:
    clock = Clock()
    fair = FairSessions(4, clock)
    for address in ("a", "a", "b"):
        fair.opened(address)
    fair.refused_full("c")  # the server was full when c asked
    assert fair.waiting() == ["c"]
    # One session is free and c, holding none, waits for it: a and b yield it.
    assert fair.yields("a", open_total=3)
    assert fair.yields("b", open_total=3)
    assert not fair.yields("c", open_total=3)
    fair.opened("c")
    # c got one and stops waiting; a and b, refused, wait now.
    assert fair.waiting() == ["a", "b"]
    assert not fair.yields("c", open_total=3)  # no waiting address holds fewer than c
    assert fair.yields("a", open_total=3)  # one free, and b holds fewer than a


def test_sessions_are_not_refused_while_more_are_free_than_waiting_addresses_need() -> None:
    fair = FairSessions(8, Clock())
    for _ in range(3):
        fair.opened("a")
    fair.refused_full("b")
    assert not fair.yields("a", open_total=6)  # two free, one waiting address
    assert fair.yields("a", open_total=7)


def test_an_address_stops_waiting_after_a_while_and_waiting_ones_are_bounded() -> None:
    clock = Clock()
    fair = FairSessions(1, clock)
    fair.opened("a")
    fair.closed("a")
    fair.opened("a")
    fair.refused_full("b")
    clock.now += FAIR_WAIT_SECONDS
    assert fair.waiting() == []
    assert not fair.yields("a", open_total=0)
    for n in range(MAX_WAITING + 1):
        fair.refused_full(str(n))
    assert len(fair.waiting()) == MAX_WAITING
    assert fair.waiting()[0] == "1"


# --- real hosts ------------------------------------------------------------------------


class Ended:
    """Set when a session of ``sessions`` from ``address`` ends."""

    def __init__(self, sessions: ServerSessions, address: str) -> None:
        self.event = trio.Event()
        inner = sessions.fair.closed

        def closed(of: str) -> None:
            inner(of)
            if of == address:
                self.event.set()

        sessions.fair.closed = closed  # type: ignore[method-assign]


async def hostile_host(stack: AsyncExitStack, node: TestNode, address: str) -> tuple[Any, Any]:
    """A host whose connection to ``node`` comes from ``address``, and that address."""
    port = Multiaddr(str(node.node.host.get_addrs()[0])).value_for_protocol("tcp")
    proxy = await stack.enter_async_context(stall_proxy(int(port), source=address))
    host = await stack.enter_async_context(running_host())
    return host, Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")


async def test_an_honest_reader_gets_a_session_eight_addresses_keep_taking(
    tmp_path: Path,
) -> None:
    limits = Limits(
        max_sessions=len(HOSTILE) * PER_IP,
        sessions_per_ip=PER_IP,
        streams_per_peer=PER_IP,
        limit_loopback=True,
    )
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        sessions = node.node.sync_server.sessions
        async with AsyncExitStack() as stack, AsyncExitStack() as first_session:
            hosts = [await hostile_host(stack, node, address) for address in HOSTILE]
            for n, (host, through) in enumerate(hosts):
                for turn in range(PER_IP):
                    into = first_session if (n, turn) == (0, 0) else stack
                    opened = sync_stream(node, host, ANN.public_key, through)
                    assert isinstance(await into.enter_async_context(opened), frames.Have)
            assert sessions.open_total == limits.max_sessions
            honest = await stack.enter_async_context(running_host())
            async with sync_stream(node, honest, ANN.public_key) as refused:
                assert isinstance(refused, frames.Error) and refused.code == "busy"
                assert "too many sessions" in refused.message

            ended = Ended(sessions, HOSTILE[0])
            await first_session.aclose()  # one hostile session ends ...
            with trio.fail_after(20):
                await ended.event.wait()
            host, through = hosts[0]
            # ... and its address, asking at once for another, yields it to the honest one.
            async with sync_stream(node, host, ANN.public_key, through) as again:
                assert isinstance(again, frames.Error) and again.code == "busy"
                assert again.message == YIELDS
            async with sync_stream(node, honest, ANN.public_key) as served:
                assert isinstance(served, frames.Have)
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_a_want_refused_by_the_rate_costs_the_address_nothing(tmp_path: Path) -> None:
    limits = Limits(want_feeds_per_minute=1, ip_feeds_per_minute=2, limit_loopback=True)
    async with running_node(make_data_dir(tmp_path, "n"), limits=limits) as node:
        async with running_host() as first, running_host() as second:
            async with sync_stream(node, first, ANN.public_key) as answer:
                assert isinstance(answer, frames.Have)
            async with sync_stream(node, first, ANN.public_key) as over_rate:
                assert isinstance(over_rate, frames.Error) and over_rate.code == "busy"
                assert "your wants name more than 1 feeds a minute" in over_rate.message
            # The address has one feed of its two left: another peer of it is served.
            async with sync_stream(node, second, ANN.public_key) as answer:
                assert isinstance(answer, frames.Have)
        assert node.node.admission.refused["work"] == 0
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)
