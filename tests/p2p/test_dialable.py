"""Dial hygiene: which found addresses are dialled, and how often (protocol section 22.4)."""

from __future__ import annotations

import ipaddress
import logging
from pathlib import Path

import multiaddr
import pytest
import trio
from libp2p.peer.peerinfo import PeerInfo
from node_helpers import make_data_dir, running_node

from lndesk.p2p.dialable import DialLimiter, dialable, is_dialable, local_networks
from lndesk.p2p.events import PeerFound

LAN = [ipaddress.ip_network("192.168.1.0/24"), ipaddress.ip_network("2001:db8:1:2::/64")]

RELAY = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo"

CASES = [
    # address, found by the DHT, found by mDNS (on LAN)
    ("/ip4/8.8.4.4/tcp/4001", True, True),
    (f"/ip4/8.8.4.4/tcp/4001/p2p/{RELAY}", True, True),
    ("/ip6/2001:4860:4860::8844/tcp/4747", True, True),
    ("/ip4/127.0.0.1/tcp/4747", False, True),
    ("/ip6/::1/tcp/4747", False, True),
    ("/ip4/0.0.0.0/tcp/4747", False, False),
    ("/ip6/::/tcp/4747", False, False),
    ("/ip4/192.168.1.20/tcp/4747", False, True),
    ("/ip4/192.168.7.20/tcp/4747", False, False),
    ("/ip4/10.0.0.2/tcp/4747", False, False),
    ("/ip4/172.16.0.9/tcp/4747", False, False),
    ("/ip4/100.64.0.1/tcp/4747", False, False),
    ("/ip6/2001:db8:1:2::7/tcp/4747", False, True),
    ("/ip6/fd00::1/tcp/4747", False, False),
    ("/ip4/169.254.3.4/tcp/4747", False, True),
    ("/ip6/fe80::1/tcp/4747", False, True),
    ("/ip4/224.0.0.251/tcp/4747", False, False),
    ("/ip6/ff02::fb/tcp/4747", False, False),
    ("/ip4/255.255.255.255/tcp/4747", False, False),
    ("/ip4/8.8.4.4/tcp/22", False, False),
    ("/ip4/192.168.1.1/tcp/80", False, False),
    ("/ip4/127.0.0.1/tcp/631", False, False),
    ("/ip4/8.8.4.4/tcp/0", False, False),
    ("/ip4/8.8.4.4/tcp/1023", False, False),
    ("/ip4/8.8.4.4/tcp/1024", True, True),
    ("/ip4/8.8.4.4/tcp/65535", True, True),
    ("/ip4/8.8.4.4/udp/4001/quic-v1", False, False),
    ("/dns4/example.org/tcp/4001", False, False),
    (
        "/ip4/8.8.4.4/tcp/4001/p2p/12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo/p2p-circuit",
        False,
        False,
    ),
]


@pytest.mark.parametrize(("addr", "from_dht", "from_mdns"), CASES)
def test_found_addresses_are_filtered_by_where_they_came_from(
    addr: str, from_dht: bool, from_mdns: bool
) -> None:
    assert is_dialable(addr, "dht", lan=LAN) is from_dht
    assert is_dialable(addr, "mdns", lan=LAN) is from_mdns
    # What a person typed, bootstrap peers and the peer book are not filtered.
    assert is_dialable(addr, "bootstrap", lan=LAN)
    assert is_dialable(addr, "peerbook", lan=LAN)


def test_loopback_from_the_dht_only_when_configured() -> None:
    assert not is_dialable("/ip4/127.0.0.1/tcp/4747", "dht")
    assert is_dialable("/ip4/127.0.0.1/tcp/4747", "dht", dht_loopback=True)
    # The switch is about loopback only.
    assert not is_dialable("/ip4/127.0.0.1/tcp/22", "dht", dht_loopback=True)
    assert not is_dialable("/ip4/192.168.1.20/tcp/4747", "dht", lan=LAN, dht_loopback=True)
    assert not is_dialable("/ip4/0.0.0.0/tcp/4747", "dht", dht_loopback=True)


def test_the_lan_is_the_networks_of_the_node_own_addresses() -> None:
    own = ["/ip4/192.168.1.7/tcp/4747", "/ip4/127.0.0.1/tcp/4747", "/ip6/2001:db8:1:2::9/tcp/1"]
    assert local_networks(own) == LAN
    addrs = [
        multiaddr.Multiaddr(a) for a in ("/ip4/192.168.1.20/tcp/4747", "/ip4/10.1.1.1/tcp/4747")
    ]
    assert dialable(addrs, "mdns", lan=local_networks(own)) == addrs[:1]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_found_peer_is_dialled_at_most_once_per_window() -> None:
    clock = Clock()
    limiter = DialLimiter(per_peer=1, per_peer_seconds=30, burst=100, rate=100, clock=clock)
    assert limiter.allow("ann")
    assert not limiter.allow("ann")
    assert limiter.allow("bo")
    clock.now += 29.9
    assert not limiter.allow("ann")
    clock.now += 0.1
    assert limiter.allow("ann")


def test_dials_of_found_peers_are_limited_overall() -> None:
    clock = Clock()
    limiter = DialLimiter(per_peer=1, per_peer_seconds=30, burst=4, rate=0.5, clock=clock)
    assert [limiter.allow(f"p{i}") for i in range(6)] == [True] * 4 + [False] * 2
    clock.now += 1.9
    assert not limiter.allow("p6")
    clock.now += 0.1  # one token back after 2 s at 0.5 a second
    assert limiter.allow("p6")
    assert not limiter.allow("p7")
    clock.now += 100  # refills up to the burst, not beyond
    assert [limiter.allow(f"q{i}") for i in range(5)] == [True] * 4 + [False]


@pytest.mark.parametrize("dht_loopback", [False, True])
async def test_a_node_dials_a_loopback_provider_only_when_configured(
    tmp_path: Path, dht_loopback: bool
) -> None:
    async with (
        running_node(make_data_dir(tmp_path, "a"), dht_loopback=dht_loopback) as ann,
        running_node(make_data_dir(tmp_path, "b")) as bo,
    ):
        host = bo.node.host
        found = PeerInfo(host.get_id(), [multiaddr.Multiaddr(bo.address)])
        ann.node.peering.found(found, "dht")
        reported = [e for e in ann.log.events if isinstance(e, PeerFound) and e.peer == bo.key]
        if not dht_loopback:
            assert reported == []
            assert host.get_id() not in ann.node.host.get_connected_peers()
            # The same address typed by a person is dialled.
            await ann.connect(bo)
        else:
            assert reported
            with trio.fail_after(20):
                await ann.log.wait_for(
                    lambda _e: host.get_id() in ann.node.host.get_connected_peers()
                )


async def test_a_node_dials_found_peers_within_its_rate(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="lndesk.p2p.peering")
    async with (
        running_node(make_data_dir(tmp_path, "a"), dht_loopback=True) as ann,
        running_node(make_data_dir(tmp_path, "b")) as bo,
        running_node(make_data_dir(tmp_path, "c")) as cy,
    ):
        ann.node.peering.dials = DialLimiter(burst=1, rate=0.0, clock=Clock())
        found = {
            n.key: PeerInfo(n.node.host.get_id(), [multiaddr.Multiaddr(n.address)])
            for n in (bo, cy)
        }
        ann.node.peering.found(found[bo.key], "dht")
        ann.node.peering.found(found[cy.key], "mdns")  # over the overall budget
        refused = [r.getMessage() for r in caplog.records if "again so soon" in r.getMessage()]
        assert len(refused) == 1
        assert str(cy.node.host.get_id()) in refused[0]
        with trio.fail_after(20):
            await ann.log.wait_for(
                lambda _e: bo.node.host.get_id() in ann.node.host.get_connected_peers()
            )
        # A person's dial is not limited.
        await ann.connect(cy)


async def test_addresses_the_peerstore_knew_are_filtered_too(tmp_path: Path) -> None:
    """Kademlia puts what other peers say into the peerstore; a dial of a found peer
    filters those addresses like the found ones."""
    from lndesk.errors import DialError
    from lndesk.p2p.host import dial

    async with (
        running_node(make_data_dir(tmp_path, "a")) as ann,
        running_node(make_data_dir(tmp_path, "b")) as bo,
    ):
        host, bo_id = ann.node.host, bo.node.host.get_id()
        host.get_peerstore().add_addrs(bo_id, [multiaddr.Multiaddr(bo.address)], 600)

        def as_from_the_dht(addrs: object) -> list[multiaddr.Multiaddr]:
            return dialable(addrs, "dht")  # type: ignore[arg-type]

        with pytest.raises(DialError, match="no address"):
            await dial(host, PeerInfo(bo_id, []), only=as_from_the_dht)
        assert bo_id not in host.get_connected_peers()
        with trio.fail_after(20):
            await dial(host, PeerInfo(bo_id, []))  # unfiltered: the peerstore's address
        assert bo_id in host.get_connected_peers()


async def test_py_libp2p_own_dials_are_filtered(tmp_path: Path) -> None:
    """Dials lndesk did not choose (py-libp2p's AutoConnector, Kademlia) may not reach
    loopback unless configured; lndesk's own dials of the same address may."""
    from lndesk.p2p.dialable import is_background_dialable
    from lndesk.p2p.host import dial

    assert not is_background_dialable("/ip4/127.0.0.1/tcp/4747", [], dht_loopback=False)
    assert is_background_dialable("/ip4/127.0.0.1/tcp/4747", [], dht_loopback=True)
    assert not is_background_dialable("/ip4/10.1.2.3/tcp/4747", LAN, dht_loopback=True)
    assert is_background_dialable("/ip4/192.168.1.9/tcp/4747", LAN, dht_loopback=False)
    assert not is_background_dialable("/ip4/192.168.1.9/tcp/22", LAN, dht_loopback=False)
    async with (
        running_node(make_data_dir(tmp_path, "a"), dht_loopback=False) as ann,
        running_node(make_data_dir(tmp_path, "b")) as bo,
    ):
        host, bo_id = ann.node.host, bo.node.host.get_id()
        info = PeerInfo(bo_id, [multiaddr.Multiaddr(bo.address)])
        with trio.fail_after(20), pytest.raises(Exception):
            await host.connect(info)  # as the AutoConnector does
        assert bo_id not in host.get_connected_peers()
        with trio.fail_after(20):
            await dial(host, info)  # lndesk's own dial (deliberately, and past the
        assert bo_id in host.get_connected_peers()  # swarm's negative cache)
