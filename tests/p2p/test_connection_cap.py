"""One address cannot fill a node's connection slots (docs/protocol.md section 24.1).

Peer ids cost nothing, so ``max_connections`` alone let one machine hold every slot of
a node with throwaway ids, and honest peers were refused. Real loopback hosts: a node
with six slots and loopback limited holds four inbound connections from ``127.0.0.2``
(a quarter of its slots, at least four), whatever ids come; the fifth and sixth are
closed before their handshake, the four stay open, and an honest reader on
``127.0.0.1`` still connects and syncs. A refusal is not a penalty. Relayed
connections count against the address of their relay.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import trio
from conftest import loopback_config, running_host
from libp2p.peer.peerinfo import PeerInfo
from multiaddr import Multiaddr
from stall_proxy import stall_proxy
from test_relay import WAIT, info_of, relay_node
from test_serve_stall import ANN, ann_chain, sync_honestly
from test_sync import side

from lndesk.errors import DialError
from lndesk.p2p.admission import UNREAD_ADDRESS
from lndesk.p2p.config import Limits, NodeConfig
from lndesk.p2p.host import dial
from lndesk.p2p.inbound import AddressPruner, by_address_held, connection_key, remote_ip
from lndesk.p2p.watch import watch_connections

ONE_MACHINE = "127.0.0.2"
LIMITED = Limits(limit_loopback=True)
SIX_SLOTS = loopback_config(max_connections=6, low_watermark=2, high_watermark=6, limits=LIMITED)
"""Six slots: a quarter is below four, so one address may hold four."""


def held_by(host: Any, ip: str) -> int:
    """The connections ``host`` holds whose far end is ``ip``."""
    return sum(
        1 for conn in host.get_network().get_connections() if remote_ip(conn.muxed_conn) == ip
    )


def holding(host: Any, ip: str, count: int) -> trio.Event:
    """An event set once ``host`` holds ``count`` connections from ``ip``."""
    reached = trio.Event()

    def check(*_args: Any) -> None:
        if held_by(host, ip) >= count:
            reached.set()

    watch_connections(host, check, lambda *_a: None)
    check()
    return reached


async def test_one_address_holds_a_quarter_of_the_slots_and_an_honest_peer_still_syncs(
    tmp_path: Path,
) -> None:
    assert SIX_SLOTS.inbound_per_ip() == 4
    async with AsyncExitStack() as stack:
        server = await stack.enter_async_context(
            side(tmp_path / "server", LIMITED, config=SIX_SLOTS)
        )
        honest = await stack.enter_async_context(side(tmp_path / "honest", LIMITED))
        early = await stack.enter_async_context(running_host())
        ids = [await stack.enter_async_context(running_host()) for _ in range(6)]
        server.store.ingest(ANN.public_key, ann_chain(3))
        await dial(early, PeerInfo(server.host.get_id(), server.host.get_addrs()))
        four_held = holding(server.host, ONE_MACHINE, 4)
        port = Multiaddr(str(server.host.get_addrs()[0])).value_for_protocol("tcp")
        proxy = await stack.enter_async_context(stall_proxy(int(port), source=ONE_MACHINE))
        through = PeerInfo(server.host.get_id(), [Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")])
        admitted, refused = [], []
        for host in ids:
            try:
                with trio.fail_after(30):
                    await dial(host, through)
            except DialError:
                refused.append(host)
            else:
                admitted.append(host)
        assert (len(admitted), len(refused)) == (4, 2)
        with trio.fail_after(30):
            await four_held.wait()
        await sync_honestly(server, honest, 3)
        assert held_by(server.host, ONE_MACHINE) == 4
        for host in admitted:  # the refusals closed only their own connections
            assert server.host.get_id() in host.get_connected_peers()
        assert not server.penalised
        # Over the watermark, the pruner would close the address holding most first.
        pruner = server.host.get_network().connection_pruner
        assert isinstance(pruner, AddressPruner)
        order = pruner.sort_connections(server.host.get_network().get_connections(), {})
        # Four from 127.0.0.2, two from 127.0.0.1 (early, honest): two of 127.0.0.2's
        # first, then one from each in turn (py-libp2p's own order put early's first).
        assert [remote_ip(conn.muxed_conn) for conn in order[:2]] == [ONE_MACHINE] * 2


def test_the_cap_is_a_quarter_of_the_slots_and_at_least_four() -> None:
    assert NodeConfig().inbound_per_ip() == 8
    assert NodeConfig().always_on().inbound_per_ip() == 128
    assert NodeConfig(max_connections=8).inbound_per_ip() == 4
    assert NodeConfig(connections_per_ip=2).inbound_per_ip() == 2


@pytest.mark.parametrize(
    ("ip", "limit_loopback", "key"),
    [
        ("192.0.2.7", False, "192.0.2.7"),
        ("::ffff:192.0.2.7", False, "192.0.2.7"),
        ("2001:db8::1", False, "2001:db8::/48"),
        ("2001:db8::2%eth0", False, "2001:db8::/48"),
        # one /48 of 65,536 /64s is one address, and link-local addresses each are one
        ("2001:db8:0:ffff::1", False, "2001:db8::/48"),
        ("2001:db8:1::1", False, "2001:db8:1::/48"),
        ("2002:c000:201:ffff::1", False, "192.0.2.1"),
        ("fe80::1%eth0", False, "fe80::1%eth0"),
        ("fe80::2%eth0", False, "fe80::2%eth0"),
        ("127.0.0.2", False, None),
        ("::1", False, None),
        ("::ffff:127.0.0.1", False, None),
        ("127.0.0.2", True, "127.0.0.2"),
        ("::1", True, "::/48"),
        (None, False, UNREAD_ADDRESS),
    ],
)
def test_what_an_inbound_connection_counts_against(
    ip: str | None, limit_loopback: bool, key: str | None
) -> None:
    assert connection_key(ip, limit_loopback) == key


def test_the_prune_order_takes_from_the_address_holding_most_first() -> None:
    ordered = ["a1", "b1", "x", "a2", "b2", "a3", "y"]
    kept = by_address_held(ordered, lambda item: item[0] if item[0] in "ab" else None)
    assert kept == ["a1", "b1", "a2", "x", "b2", "a3", "y"]


async def test_relayed_connections_count_against_their_relays_address(tmp_path: Path) -> None:
    """Three peers reach a node through one relay on ``127.0.0.1``, whose cap is two:
    two get in, the third is refused, and so is a direct dial from ``127.0.0.1``; a
    peer on ``127.0.0.2`` still connects. (py-libp2p's stop handler catches the refusal
    itself and logs it; the relay's other circuits carry on.)"""
    capped = loopback_config(relay_client=True, connections_per_ip=2, limits=LIMITED)
    async with AsyncExitStack() as stack:
        r_host, _ = await stack.enter_async_context(relay_node(loopback_config(relay_hop=True)))
        b_host, b_relay = await stack.enter_async_context(relay_node(capped, hole_punch=False))
        dialers = [
            await stack.enter_async_context(relay_node(loopback_config(), hole_punch=False))
            for _ in range(3)
        ]
        with trio.fail_after(WAIT):
            await b_relay.reserve(info_of(r_host))
        (through_r,) = b_relay.circuit_addrs()
        admitted = []
        for host, relay in dialers:
            try:
                with trio.fail_after(WAIT):
                    await relay.dial_via(through_r)
            except DialError:
                continue
            admitted.append(host)
        assert len(admitted) == 2
        direct, other = [await stack.enter_async_context(running_host()) for _ in range(2)]
        with trio.fail_after(WAIT), pytest.raises(DialError):
            await dial(direct, info_of(b_host))
        port = info_of(b_host).addrs[0].value_for_protocol("tcp")
        proxy = await stack.enter_async_context(stall_proxy(int(port), source=ONE_MACHINE))
        with trio.fail_after(WAIT):
            await dial(
                other,
                PeerInfo(b_host.get_id(), [Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")]),
            )
        for host in admitted:
            assert b_host.get_id() in host.get_connected_peers()
