"""The libp2p host: the user's key is the peer ID, Noise only, desktop-sized limits."""

from __future__ import annotations

import socket

import multiaddr
import pytest
import trio
from conftest import loopback_config, make_seed, running_host
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.peer.peerinfo import PeerInfo
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport

from lndesk.errors import DialError, ListenError
from lndesk.identity import Identity
from lndesk.p2p.config import NodeConfig
from lndesk.p2p.host import (
    build_host,
    check_listening,
    check_port_free,
    connection_config,
    dial,
    dial_order,
    expand_wildcards,
    peer_id_of,
    public_key_of,
)
from lndesk.p2p.node import parse_peer_address


def test_peer_id_is_the_identity_key() -> None:
    seed = make_seed()
    identity = Identity(seed)
    host = build_host(seed, loopback_config())
    assert host.get_id() == peer_id_of(identity.public_key)
    assert public_key_of(host.get_id()) == identity.public_key


def test_only_noise_is_offered() -> None:
    host = build_host(make_seed(), loopback_config())
    upgrader = host.get_network().upgrader
    protocols = [str(p) for p in upgrader.security_multistream.transports]
    assert protocols == ["/noise"]


def test_desktop_connection_limits() -> None:
    config = connection_config(NodeConfig())
    assert config.max_connections_per_peer == 1  # no 250 ms wait for extra connections
    assert config.max_connections <= 64
    # the AutoConnector dials towards the midpoint of the watermarks
    assert (config.low_watermark + config.high_watermark) // 2 <= 10
    # liveness is lndesk's (yamux pings of silent connections): py-libp2p's monitor, a
    # stream per ping and a close at the first late answer, stays off
    assert not config.enable_health_monitoring


def test_wildcard_listen_addresses_are_expanded() -> None:
    addrs = expand_wildcards([multiaddr.Multiaddr("/ip4/0.0.0.0/tcp/4747")])
    texts = [str(a) for a in addrs]
    assert "/ip4/127.0.0.1/tcp/4747" in texts
    assert all("0.0.0.0" not in t for t in texts)
    assert texts[-1] == "/ip4/127.0.0.1/tcp/4747"  # loopback last: the least useful to share


async def test_plaintext_only_dialer_is_refused() -> None:
    async with running_host() as host:
        key_pair = create_new_key_pair(make_seed())
        plaintext_only = new_host(
            key_pair=key_pair,
            sec_opt={PLAINTEXT_PROTOCOL_ID: InsecureTransport(key_pair)},
        )
        listen = [multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/0")]
        async with plaintext_only.run(listen):
            with trio.fail_after(20), pytest.raises(Exception):
                await plaintext_only.connect(PeerInfo(host.get_id(), host.get_addrs()))
            assert host.get_id() not in plaintext_only.get_connected_peers()
            assert plaintext_only.get_id() not in host.get_connected_peers()


async def test_two_hosts_connect_over_noise() -> None:
    async with running_host() as a, running_host() as b:
        with trio.fail_after(10):
            await b.connect(PeerInfo(a.get_id(), a.get_addrs()))
        assert a.get_id() in b.get_connected_peers()


def test_peer_address_parsing() -> None:
    host = build_host(make_seed(), loopback_config())
    info = parse_peer_address(f" /ip4/127.0.0.1/tcp/4747/p2p/{host.get_id()} ")
    assert info.peer_id == host.get_id()


async def test_a_port_in_use_is_refused_with_a_clear_error() -> None:
    """py-libp2p would share a port with another node (SO_REUSEPORT) or listen nowhere
    when another program holds it; lndesk says the port is taken."""
    async with running_host() as other_node:
        port = int(other_node.get_addrs()[0].value_for_protocol("tcp"))
        with pytest.raises(ListenError, match=f"Port {port} is already in use"):
            check_port_free(loopback_config(listen_port=port))
    check_port_free(loopback_config(listen_port=port))  # free again once that node stopped

    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        with pytest.raises(ListenError, match="already in use") as caught:
            check_port_free(loopback_config(listen_port=port))
        assert "--port" in caught.value.hint

    not_started = build_host(make_seed(), loopback_config())
    with pytest.raises(ListenError, match="could not listen"):
        check_listening(not_started, loopback_config())


async def test_dial_tries_every_address_until_one_connects() -> None:
    """py-libp2p dials only the first TCP address it knows, and refuses a peer for a
    minute after a failure; a peer that moved must still be reached at its new address."""
    async with running_host() as a, running_host() as b:
        with socket.socket() as closed:  # a port nobody listens on
            closed.bind(("127.0.0.1", 0))
            stale = multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{closed.getsockname()[1]}")
        with pytest.raises(DialError, match=f"could not connect to {b.get_id()}: {stale}: "):
            await dial(a, PeerInfo(b.get_id(), [stale]))
        # The stale address is still known (and first); the fresh one is tried after it.
        await dial(a, PeerInfo(b.get_id(), [stale, *b.get_addrs()]))
        assert b.get_id() in a.get_connected_peers()
        await dial(a, PeerInfo(b.get_id(), []))  # already connected: nothing to do


def testdial_order_puts_given_addresses_first() -> None:
    def ma(text: str) -> multiaddr.Multiaddr:
        return multiaddr.Multiaddr(text)

    peer = peer_id_of(Identity(make_seed("given")).public_key)
    given = [ma(f"/ip4/127.0.0.1/tcp/1/p2p/{peer}"), ma("/ip4/192.0.2.9/tcp/2")]
    known = [
        ma("/ip4/127.0.0.1/tcp/3"),
        ma("/ip4/192.0.2.9/tcp/2"),  # already given
        ma(f"/ip4/192.0.2.8/tcp/4/p2p/{peer}/p2p-circuit"),  # for the relay module
        ma("/ip4/198.51.100.1/tcp/5"),
    ]
    assert [str(a) for a in dial_order(given, known)] == [
        "/ip4/192.0.2.9/tcp/2",
        "/ip4/127.0.0.1/tcp/1",
        "/ip4/198.51.100.1/tcp/5",
        "/ip4/127.0.0.1/tcp/3",
    ]


async def test_dials_to_one_peer_at_once_do_not_undo_each_other() -> None:
    """At start-up the peer list (a stale address) and mDNS (the fresh one) dial the
    same peer at the same moment; the fresh address must still get through. (dial()
    serialises dials per peer; without that this passed too, by the order in which
    py-libp2p happens to read the peerstore, so the lock is a guard, not a fix.)"""
    async with running_host() as a, running_host() as b:
        with socket.socket() as closed:
            closed.bind(("127.0.0.1", 0))
            stale = multiaddr.Multiaddr(f"/ip4/127.0.0.1/tcp/{closed.getsockname()[1]}")
        outcomes: dict[str, str] = {}

        async def attempt(name: str, addrs: list[multiaddr.Multiaddr]) -> None:
            try:
                await dial(a, PeerInfo(b.get_id(), addrs))
            except DialError as exc:
                outcomes[name] = f"failed: {exc}"
            else:
                outcomes[name] = "connected"

        async with trio.open_nursery() as nursery:
            nursery.start_soon(attempt, "stale", [stale])
            nursery.start_soon(attempt, "fresh", list(b.get_addrs()))
        assert outcomes["fresh"] == "connected"
        assert b.get_id() in a.get_connected_peers()
