"""What the limits per address count by: an IPv4 address, or an IPv6 /64.

One IPv6 subscriber gets a /64 (often more) and may use any of its 2^64 addresses, so
counting IPv6 by address would give one machine as many counts as it likes; an IPv4
address written as IPv6 (``::ffff:a.b.c.d``, as a dual-stack listener reads every IPv4
peer) is that IPv4 address (docs/protocol.md section 24.1). The keying first, then the
limits that use it, then a node on a dual-stack listener whose IPv4 peers connect from
``127.0.0.1`` and ``127.0.0.2`` and are counted as those addresses, not as one IPv6 /64.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from conftest import running_host
from multiaddr import Multiaddr
from node_helpers import TestNode, make_data_dir, running_node, sync_stream
from stall_proxy import stall_proxy
from store_helpers import make_chain, make_identity, wire

from lndesk.p2p import wire as frames
from lndesk.p2p.admission import Admission, BatchTurns, address_key, turn_address
from lndesk.p2p.config import Limits
from lndesk.p2p.events import PeerPenalised

ANN = make_identity(1)


@pytest.mark.parametrize(
    ("ip", "key"),
    [
        ("192.0.2.1", "192.0.2.1"),
        ("2001:db8::1", "2001:db8::/64"),
        ("2001:db8::2", "2001:db8::/64"),
        ("2001:db8:0:0:ffff:ffff:ffff:ffff", "2001:db8::/64"),
        ("2001:db8:0:1::1", "2001:db8:0:1::/64"),
        ("2001:DB8::1", "2001:db8::/64"),
        # Link-local: every machine of every link has one in fe80::/64.
        ("fe80::1%eth0", "fe80::1%eth0"),
        ("fe80::2%eth0", "fe80::2%eth0"),
        ("fe80::1%wlan0", "fe80::1%wlan0"),
        ("fe80::1", "fe80::1"),
        ("FE80::0:1%eth0", "fe80::1%eth0"),
        ("::ffff:127.0.0.2", "127.0.0.2"),
        ("::ffff:192.0.2.1", "192.0.2.1"),
        ("::1", "::/64"),
        ("not an address", "not an address"),
        # An IPv4 address's own IPv6 networks (6to4 gives it a /48 of /64s, Teredo and
        # NAT64 hold it in their low bits) count as that IPv4 address.
        ("2002:c000:201::1", "192.0.2.1"),
        ("2002:c000:201:ffff::1", "192.0.2.1"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "192.0.2.45"),
        ("64:ff9b::c000:201", "192.0.2.1"),
        ("64:ff9b::c000:202", "192.0.2.2"),
    ],
)
def test_ipv4_is_keyed_by_address_and_ipv6_by_its_64(ip: str, key: str) -> None:
    assert address_key(ip) == key


def test_peers_on_the_local_links_over_ipv6_do_not_share_one_count() -> None:
    """Grouped by /64, every link-local address was ``fe80::/64``: the peers a node
    reached directly on its local networks over IPv6, and those of two links, shared
    the limits of one address (eight sessions at once)."""
    gate = Admission(Limits(sessions_per_ip=1, new_ids_per_ip=8))
    assert gate.enter("a", "fe80::a%eth0") is None
    assert gate.enter("b", "fe80::b%eth0") is None
    assert gate.enter("c", "fe80::a%wlan0") is None
    assert gate.enter("d", "fe80::a%eth0") is not None  # the same machine again


def test_an_ipv4_address_in_an_ipv6_network_is_never_loopback() -> None:
    # 6to4 of 127.0.0.1 comes from anyone who sends from 2002:7f00:1::/48.
    gate = Admission(Limits(sessions_per_ip=1, new_ids_per_ip=1))
    assert gate.enter("a", "2002:7f00:1::1") is None
    assert gate.enter("b", "2002:7f00:1:1::1") == "too many sessions from your address at once"


def test_the_addresses_of_one_64_share_the_session_limits() -> None:
    gate = Admission(Limits(sessions_per_ip=1, new_ids_per_ip=1))
    assert gate.enter("a", "2001:db8::1") is None
    assert gate.enter("b", "2001:db8::2") == "too many sessions from your address at once"
    gate.leave("2001:db8::1")
    assert gate.enter("b", "2001:db8::2") == (
        "too many new peer ids from your address; try again later"
    )
    assert gate.enter("b", "2001:db8:0:1::1") is None  # another /64
    assert gate.enter("c", "::ffff:192.0.2.1") is None
    assert gate.enter("d", "192.0.2.1") == "too many sessions from your address at once"


def test_the_addresses_of_one_64_share_the_work_budgets() -> None:
    gate = Admission(Limits(ip_feeds_per_minute=10, ip_entries_per_minute=10))
    assert gate.charge_feeds("2001:db8::1", 10)
    assert not gate.charge_feeds("2001:db8::ffff", 1)
    assert gate.charge_entries("::ffff:192.0.2.1", 10)
    assert not gate.charge_entries("192.0.2.1", 1)


def test_mapped_loopback_is_loopback() -> None:
    gate = Admission(Limits(new_ids_per_ip=1, sessions_per_ip=1))
    for peer in "abc":
        assert gate.enter(peer, "::ffff:127.0.0.2") is None
    strict = Admission(Limits(new_ids_per_ip=1, limit_loopback=True))
    assert strict.enter("a", "::ffff:127.0.0.2") is None
    assert strict.enter("b", "127.0.0.2") is not None


async def test_the_addresses_of_one_64_share_their_batch_turns() -> None:
    turns = BatchTurns(Limits(served_batches=3, turns_per_ip=1))
    async with turns.hold(address_key("2001:db8::1")):
        assert turns.held_by(address_key("2001:db8::2")) == 1


class Circuit:
    """What a relayed stream whose connection cannot tell its remote address shows:
    only its circuit address (py-libp2p's relayed connections name it so)."""

    def __init__(self, address: str) -> None:
        self.muxed_conn = self
        self._address = Multiaddr(address)

    def get_remote_address(self) -> None:
        return None

    def get_transport_addresses(self) -> list[Multiaddr]:
        return [self._address]


def test_a_relayed_stream_without_a_remote_address_counts_by_its_relays() -> None:
    relay = "12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN"
    circuit = Circuit(f"/ip6/2001:db8::7/tcp/4001/p2p/{relay}/p2p-circuit")
    assert turn_address(circuit, Limits()) == "2001:db8::/48"  # turns count by the /48


def dialled(node: TestNode, ip: str) -> Multiaddr:
    """``node``'s dual-stack listener, dialled over IPv4 at ``ip``."""
    port = Multiaddr(str(node.node.host.get_addrs()[0])).value_for_protocol("tcp")
    return Multiaddr(f"/ip4/{ip}/tcp/{port}")


async def test_a_dual_stack_node_counts_ipv4_peers_by_their_address(tmp_path: Path) -> None:
    limits = Limits(sessions_per_ip=1, limit_loopback=True)
    async with (
        running_node(make_data_dir(tmp_path, "n"), listen_host="::", limits=limits) as node,
        AsyncExitStack() as stack,
    ):
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        addr = node.node.host.get_addrs()[0]
        assert str(addr).startswith("/ip6/")  # IPv4 peers are read as ::ffff:a.b.c.d
        port = int(Multiaddr(str(addr)).value_for_protocol("tcp"))
        proxy = await stack.enter_async_context(stall_proxy(port, source="127.0.0.2"))
        through_second = Multiaddr(f"/ip4/127.0.0.1/tcp/{proxy.port}")
        answers = []
        for address in (dialled(node, "127.0.0.1"), through_second, through_second):
            host = await stack.enter_async_context(running_host())
            stream = sync_stream(node, host, ANN.public_key, address)
            answers.append(await stack.enter_async_context(stream))
        # 127.0.0.1 and 127.0.0.2 are two addresses (not one IPv6 /64); the second
        # session from 127.0.0.2 is over its limit of one.
        assert [type(a) for a in answers] == [frames.Have, frames.Have, frames.Error]
        assert isinstance(answers[2], frames.Error) and answers[2].code == "busy"
        assert node.node.admission.refused["per-ip"] == 1
        assert not any(isinstance(e, PeerPenalised) for e in node.log.events)


async def test_a_dual_stack_node_exempts_ipv4_loopback(tmp_path: Path) -> None:
    limits = Limits(new_ids_per_ip=1)
    async with (
        running_node(make_data_dir(tmp_path, "n"), listen_host="::", limits=limits) as node,
        AsyncExitStack() as stack,
    ):
        node.service.store.ingest(ANN.public_key, wire(make_chain(ANN, 3)))
        for _ in range(3):  # three new ids from ::ffff:127.0.0.1
            host = await stack.enter_async_context(running_host())
            address = dialled(node, "127.0.0.1")
            async with sync_stream(node, host, ANN.public_key, address) as answer:
                assert isinstance(answer, frames.Have)
        assert not node.node.admission.refused


def test_the_64s_of_one_48_share_a_cap_on_sessions() -> None:
    """Each /64 keeps its own ``sessions_per_ip``, but one /48 (a tunnel broker hands
    one to anyone, free) holds at most ``sessions_per_site`` at once: by /64 alone, one
    such holder had 65,536 addresses' sessions and took every session of a server."""
    limits = Limits()
    gate = Admission(limits)
    site = [f"2001:db8:0:{n:x}::1" for n in range(limits.sessions_per_site)]
    for n, ip in enumerate(site):
        assert gate.enter(f"peer {n}", ip) is None
    refused = "too many sessions from your network at once"
    assert gate.enter("one more", "2001:db8:0:ffff::1") == refused
    assert gate.enter("one more", "2001:db8:1::1") is None  # another /48
    assert gate.enter("v4", "192.0.2.1") is None
    gate.leave(site[0])
    assert gate.enter("one more", "2001:db8:0:ffff::1") is None
    assert gate.refused["per-site"] == 1


def test_a_site_cap_never_refuses_what_the_cap_per_address_admits_alone() -> None:
    limits = Limits()
    assert limits.sessions_per_site >= limits.sessions_per_ip
    gate = Admission(limits)
    for n in range(limits.sessions_per_ip):
        assert gate.enter(f"peer {n}", "2001:db8::1") is None
    assert gate.enter("one more", "2001:db8::2") == "too many sessions from your address at once"


class Direct:
    """What a stream over a direct connection shows of its address."""

    def __init__(self, ip: str) -> None:
        self._ip = ip

    def get_remote_address(self) -> tuple[str, int]:
        return (self._ip, 4001)


async def test_the_64s_of_one_48_share_their_batch_turns() -> None:
    """By /64, four /64s of one /48 held all 16 turns (4 each)."""
    limits = Limits()
    keys = {turn_address(Direct(f"2001:db8:0:{n}::7"), limits) for n in range(4)}
    assert keys == {"2001:db8::/48"}
    assert turn_address(Direct("2001:db8:1::7"), limits) == "2001:db8:1::/48"
    assert turn_address(Direct("fe80::7%eth0"), limits) == "fe80::7%eth0"
    assert turn_address(Direct("2002:c000:201:1::1"), limits) == "192.0.2.1"
    turns = BatchTurns(Limits(served_batches=3, turns_per_ip=1))
    async with turns.hold(turn_address(Direct("2001:db8:0:1::7"), limits)):
        assert turns.held_by(turn_address(Direct("2001:db8:0:2::7"), limits)) == 1
