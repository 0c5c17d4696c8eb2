"""Circuit relay v2 and DCUtR between real hosts on 127.0.0.1.

R relays (relay_hop), B reserves a slot on R (relay_client), A reaches B only through
``<R addr>/p2p/<R>/p2p-circuit/p2p/<B>``. A never learns B's direct address, so the
only way A's stream can reach B is the circuit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import multiaddr
import pytest
import trio
from conftest import loopback_config, running_host
from conftest import make_seed as seed_for
from libp2p.custom_types import TProtocol
from libp2p.peer.peerinfo import PeerInfo

from lndesk.errors import DialError, NetworkError, RelayRefusedError
from lndesk.p2p import relay as relay_module
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.host import build_host
from lndesk.p2p.relay import HOP_LIMITS, Relay, circuit_addr

ECHO = TProtocol("/lndesk-test/echo/1")
WAIT = 30.0


@asynccontextmanager
async def relay_node(config: NodeConfig, **kwargs: Any) -> AsyncIterator[tuple[Any, Relay]]:
    """A running host with its Relay service started."""
    async with running_host(seed_for("relay"), config) as host:
        relay = Relay(host, config, **kwargs)
        async with trio.open_nursery() as nursery:
            await nursery.start(relay.run)
            yield host, relay
            nursery.cancel_scope.cancel()


def info_of(host: Any) -> PeerInfo:
    """The PeerInfo a peer would be given for ``host`` (loopback TCP address only)."""
    addrs = [a for a in host.get_addrs() if str(a).startswith("/ip4/127.0.0.1/tcp/")]
    return PeerInfo(host.get_id(), addrs)


def is_relayed(stream: Any) -> bool:
    return any("/p2p-circuit" in str(a) for a in stream.muxed_conn.get_transport_addresses())


async def echo(stream: Any) -> None:
    data = await stream.read(1024)
    await stream.write(b"echo:" + data)
    await stream.close()


async def test_hop_limits_suit_small_sync_sessions() -> None:
    assert 60 <= HOP_LIMITS.duration <= 600
    assert 1024 * 1024 <= HOP_LIMITS.data <= 64 * 1024 * 1024
    assert HOP_LIMITS.max_reservations <= 64


async def test_dial_through_relay_and_exchange_bytes() -> None:
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True), hole_punch=False) as (b_host, b_relay),
        relay_node(loopback_config(), hole_punch=False) as (a_host, a_relay),
    ):
        b_host.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            addrs = await b_relay.reserve(info_of(r_host))
        port = info_of(r_host).addrs[0].value_for_protocol("tcp")
        expected = multiaddr.Multiaddr(
            f"/ip4/127.0.0.1/tcp/{port}/p2p/{r_host.get_id()}/p2p-circuit/p2p/{b_host.get_id()}"
        )
        assert str(expected) in {str(a) for a in addrs}
        assert {str(a) for a in b_relay.circuit_addrs()} == {str(a) for a in addrs}

        with trio.fail_after(WAIT):
            await a_relay.dial_via(expected)
            stream = await a_host.new_stream(b_host.get_id(), [ECHO])
            assert is_relayed(stream)
            await stream.write(b"hello through the relay")
            assert await stream.read(1024) == b"echo:hello through the relay"
        # A never had a direct path to B: every connection it holds to B is a circuit.
        conns = a_host.get_network().connections.get(b_host.get_id())
        conns = conns if isinstance(conns, list) else [conns]
        assert all(
            any("/p2p-circuit" in str(a) for a in c.get_transport_addresses()) for c in conns
        )


async def test_node_without_relay_hop_refuses_to_relay() -> None:
    async with (
        relay_node(loopback_config()) as (n_host, _),
        relay_node(loopback_config(relay_client=True), hole_punch=False) as (b_host, b_relay),
        relay_node(loopback_config(), hole_punch=False) as (_a_host, a_relay),
    ):
        with trio.fail_after(WAIT), pytest.raises(RelayRefusedError) as refused:
            await b_relay.reserve(info_of(n_host))
        assert "does not relay" in refused.value.message
        assert refused.value.hint
        assert b_relay.circuit_addrs() == []

        through_n = circuit_addr(info_of(n_host).addrs[0], n_host.get_id(), b_host.get_id())
        with trio.fail_after(WAIT), pytest.raises(DialError):
            await a_relay.dial_via(through_n)


async def test_reservation_failure_gives_clear_errors() -> None:
    full = loopback_config(relay_hop=True)
    async with relay_node(full) as (r_host, _):
        # Unreachable relay (nothing listens on port 1): a dial error naming the relay.
        gone = build_host(seed_for("gone"), loopback_config())
        gone_info = PeerInfo(gone.get_id(), [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/1")])
        async with relay_node(loopback_config(relay_client=True), hole_punch=False) as (_, b):
            with trio.fail_after(WAIT), pytest.raises(DialError) as unreachable:
                await b.reserve(gone_info)
            assert str(gone_info.peer_id) in unreachable.value.message
            assert b.circuit_addrs() == []

        # A node that does not use relays says so instead of reserving.
        async with relay_node(loopback_config(relay_client=False)) as (_, c):
            with pytest.raises(RelayRefusedError):
                await c.reserve(info_of(r_host))


async def test_full_relay_refuses_with_resource_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    async with relay_node(loopback_config(relay_hop=True)) as (r_host, r_relay):
        monkeypatch.setattr(r_relay._protocol.resource_manager.limits, "max_reservations", 0)
        async with relay_node(loopback_config(relay_client=True), hole_punch=False) as (_, b):
            with trio.fail_after(WAIT), pytest.raises(NetworkError) as refused:
                await b.reserve(info_of(r_host))
            assert "RESOURCE_LIMIT_EXCEEDED" in refused.value.message


async def test_dcutr_upgrades_relayed_connection_to_direct() -> None:
    """On loopback the 'punch' is a plain dial of the listen address the peer sent
    over the circuit; this checks the DCUtR exchange and the switch to the direct
    connection, not NAT behaviour (see the module docstring of lndesk.p2p.relay)."""
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True)) as (b_host, b_relay),
        relay_node(loopback_config(relay_client=True)) as (a_host, a_relay),
    ):
        b_host.set_stream_handler(ECHO, echo)
        with trio.fail_after(WAIT):
            [via_r, *_] = await b_relay.reserve(info_of(r_host))
            await a_relay.dial_via(via_r)
            # A knows B only through the circuit, so a direct path must come from DCUtR.
            known = a_host.get_peerstore().addrs(b_host.get_id())
            assert known
            assert all("/p2p-circuit" in str(a) for a in known)
            assert await a_relay.hole_punch(b_host.get_id())
            stream = await a_host.new_stream(b_host.get_id(), [ECHO])
            await stream.write(b"direct")
            assert await stream.read(1024) == b"echo:direct"
        assert not is_relayed(stream)


async def test_hole_punch_reports_a_direct_path_found_by_the_peer_at_the_same_time() -> None:
    """Both ends try at once (as the automatic punching does on a busy machine): the
    caller whose attempt yields to the peer's session still learns the outcome."""
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True)) as (b_host, b_relay),
        relay_node(loopback_config(relay_client=True)) as (a_host, a_relay),
    ):
        b_host.set_stream_handler(ECHO, echo)
        results: dict[str, bool] = {}

        async def punch(name: str, relay: Relay, peer: Any) -> None:
            results[name] = await relay.hole_punch(peer)

        with trio.fail_after(WAIT):
            [via_r, *_] = await b_relay.reserve(info_of(r_host))
            await a_relay.dial_via(via_r)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(punch, "a", a_relay, b_host.get_id())
                nursery.start_soon(punch, "b", b_relay, a_host.get_id())
        assert results == {"a": True, "b": True}


async def test_a_failed_punch_round_is_followed_by_another() -> None:
    """A round lost to colliding dials (see Relay.hole_punch) is not the answer."""
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True)) as (b_host, b_relay),
        relay_node(loopback_config(relay_client=True)) as (_a_host, a_relay),
    ):
        dcutr = a_relay._dcutr
        assert dcutr is not None
        real = dcutr.initiate_hole_punch
        rounds = 0

        async def lose_the_first_round(peer: Any) -> bool:
            nonlocal rounds
            rounds += 1
            return False if rounds == 1 else await real(peer)

        dcutr.initiate_hole_punch = lose_the_first_round  # type: ignore[method-assign]
        with trio.fail_after(WAIT):
            [via_r, *_] = await b_relay.reserve(info_of(r_host))
            await a_relay.dial_via(via_r)
            assert await a_relay.hole_punch(b_host.get_id())
        assert rounds == 2


async def test_circuit_is_cut_at_the_data_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The hop's data cap ends a circuit that carries more than it grants."""
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, r_relay),
        relay_node(loopback_config(relay_client=True), hole_punch=False) as (b_host, b_relay),
        relay_node(loopback_config(), hole_punch=False) as (a_host, a_relay),
    ):
        monkeypatch.setattr(r_relay._protocol.limits, "data", 256 * 1024)
        received = 0
        cut = trio.Event()

        async def sink(stream: Any) -> None:
            nonlocal received
            try:
                while data := await stream.read(65536):
                    received += len(data)
            except Exception:
                pass
            cut.set()

        b_host.set_stream_handler(ECHO, sink)
        with trio.fail_after(WAIT):
            [via_r, *_] = await b_relay.reserve(info_of(r_host))
            await a_relay.dial_via(via_r)
            stream = await a_host.new_stream(b_host.get_id(), [ECHO])
            with pytest.raises(Exception):  # reset or closed: either way the circuit ended
                for _ in range(64):
                    await stream.write(b"x" * 32768)
            await cut.wait()
        assert received < 256 * 1024


async def test_reservation_is_renewed_before_it_lapses(monkeypatch: pytest.MonkeyPatch) -> None:
    async with relay_node(loopback_config(relay_hop=True)) as (r_host, r_relay):
        monkeypatch.setattr(r_relay._protocol.limits, "reservation_ttl", 2)
        monkeypatch.setattr(relay_module, "MIN_TTL", 1.0)
        client = loopback_config(relay_client=True)
        async with relay_node(client, hole_punch=False) as (b_host, b):
            slots = r_relay._protocol.resource_manager
            with trio.fail_after(WAIT):
                first = await b.reserve(info_of(r_host))
                granted = slots.get_reservation(b_host.get_id()).expires_at
                await b.wait_renewed(r_host.get_id())
            assert slots.get_reservation(b_host.get_id()).expires_at > granted
            assert {str(a) for a in b.circuit_addrs()} == {str(a) for a in first}


async def test_slot_is_taken_again_when_the_relay_connection_drops() -> None:
    async with (
        relay_node(loopback_config(relay_hop=True)) as (r_host, _),
        relay_node(loopback_config(relay_client=True), hole_punch=False) as (b_host, b),
    ):
        with trio.fail_after(WAIT):
            await b.reserve(info_of(r_host))
            await b_host.disconnect(r_host.get_id())
            await b.wait_renewed(r_host.get_id())
        assert b_host.get_network().connections.get(r_host.get_id())
        assert b.circuit_addrs()
