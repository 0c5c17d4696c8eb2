"""Discovery between real hosts on 127.0.0.1: bootstrap, the DHT routing table, providers.

Nothing here sleeps to wait for the network: every wait is on a channel or an event,
under ``trio.fail_after``.
"""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import multiaddr
import pytest
import trio
from conftest import loopback_config, make_seed, running_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.kad_dht.kad_dht import _encode_key
from libp2p.peer.id import ID
from libp2p.peer.peerinfo import PeerInfo

from lndesk.errors import UsageError
from lndesk.p2p import discovery as discovery_module
from lndesk.p2p import mdns as mdns_module
from lndesk.p2p.dht import feed_dht_key, merge_providers
from lndesk.p2p.discovery import Discovery, parse_bootstrap

FEED_X = bytes(range(32))


def p2p_addr(host: Any) -> str:
    """The dialable /ip4/.../tcp/.../p2p/<id> address of a running test host."""
    addr = str(host.get_addrs()[0]).split("/p2p/", 1)[0]
    return f"{addr}/p2p/{host.get_id()}"


class Found:
    """Collects on_peer calls; ``wait`` returns the first one that matches."""

    def __init__(self) -> None:
        self.send, self.recv = trio.open_memory_channel[tuple[PeerInfo, str]](100)
        self.seen: list[tuple[ID, str]] = []

    def __call__(self, peer: PeerInfo, source: str) -> None:
        assert trio.lowlevel.current_trio_token() is not None  # trio thread only
        self.seen.append((peer.peer_id, source))
        self.send.send_nowait((peer, source))

    async def wait(self, peer_id: ID, source: str) -> PeerInfo:
        async for peer, src in self.recv:
            if peer.peer_id == peer_id and src == source:
                return peer
        raise AssertionError("channel closed")


@asynccontextmanager
async def running_discovery(
    host: Any,
    config: Any,
    held: Iterable[bytes] = (),
    wanted: Iterable[bytes] = (),
) -> AsyncIterator[tuple[Discovery, Found]]:
    found = Found()
    disc = Discovery(
        host,
        config,
        on_peer=found,
        held_feeds=lambda: list(held),
        wanted_feeds=lambda: list(wanted),
    )
    async with trio.open_nursery() as nursery:
        await nursery.start(disc.run)
        yield disc, found
        nursery.cancel_scope.cancel()


def test_feed_key_is_a_sha256_multihash_kad_dht_accepts() -> None:
    key = feed_dht_key(FEED_X)
    assert key[:2] == b"\x12\x20"
    assert len(key) == 34
    assert key != feed_dht_key(bytes(32))
    assert _encode_key(key.hex()) == key  # what KadDHT.provide/find_providers use
    with pytest.raises(ValueError, match="32-byte"):
        feed_dht_key(b"short")


def test_merge_providers_dedupes_and_drops_self() -> None:
    me, other = ID(b"me"), ID(b"other")
    a1, a2 = multiaddr.Multiaddr("/ip4/127.0.0.1/tcp/1"), multiaddr.Multiaddr("/ip4/10.0.0.1/tcp/1")
    merged = merge_providers(
        [PeerInfo(other, [a1]), PeerInfo(me, [a1]), PeerInfo(other, [a1, a2])], exclude=me
    )
    assert [p.peer_id for p in merged] == [other]
    assert [str(a) for a in merged[0].addrs] == [str(a1), str(a2)]


@pytest.mark.parametrize(
    "bad",
    ["not a multiaddr", "/ip4/127.0.0.1/tcp/4747", "/ip4/127.0.0.1/tcp/4747/p2p/notanid"],
)
def test_bad_bootstrap_address_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="Bad bootstrap address") as info:
        parse_bootstrap([bad])
    assert "/p2p/" in info.value.hint


async def test_bootstrap_peer_is_dialled_and_reported() -> None:
    async with running_host() as a, running_host() as b:
        config = loopback_config(bootstrap=(p2p_addr(a),))
        async with running_discovery(b, config) as (_, found):
            with trio.fail_after(10):
                await found.wait(a.get_id(), "bootstrap")
            assert a.get_id() in b.get_connected_peers()


async def test_unreachable_bootstrap_peer_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery_module, "BOOTSTRAP_RETRY_FIRST", 0.1)
    dials_send, dials = trio.open_memory_channel[bool](100)
    dial = Discovery._dial

    async def recorded_dial(self: Discovery, peer: PeerInfo) -> bool:
        ok = await dial(self, peer)
        dials_send.send_nowait(ok)
        return ok

    monkeypatch.setattr(Discovery, "_dial", recorded_dial)
    with socket.socket() as probe:  # a port that is free now; nobody listens until later
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    seed = make_seed("late")
    late_id = ID.from_pubkey(create_new_key_pair(seed).public_key)
    config = loopback_config(bootstrap=(f"/ip4/127.0.0.1/tcp/{port}/p2p/{late_id}",))
    async with running_host() as b, running_discovery(b, config) as (_, found):
        with trio.fail_after(10):
            assert await dials.receive() is False  # nobody listens yet
        async with running_host(seed, loopback_config(listen_port=port)) as late:
            with trio.fail_after(10):
                await found.wait(late.get_id(), "bootstrap")


async def test_connected_peers_enter_the_routing_table() -> None:
    """A plain connect (no bootstrap) fills both routing tables: py-libp2p alone would not."""
    config = loopback_config(dht=True)
    async with running_host(config=config) as a, running_host(config=config) as b:
        async with (
            running_discovery(a, config) as (da, _),
            running_discovery(b, config) as (
                db,
                _,
            ),
        ):
            await a.connect(PeerInfo(b.get_id(), b.get_addrs()))
            with trio.fail_after(10):
                await da.wait_routing_table(1)
                await db.wait_routing_table(1)


async def test_dht_provider_found_across_five_nodes() -> None:
    """Node 0 holds feed X; node 4, at the other end of a bootstrap chain, finds it."""
    n = 5
    async with AsyncExitStack() as stack:
        hosts = [
            await stack.enter_async_context(running_host(config=loopback_config(dht=True)))
            for _ in range(n)
        ]
        nodes: list[tuple[Discovery, Found]] = []
        for i, host in enumerate(hosts):
            boot = (p2p_addr(hosts[i - 1]),) if i else ()
            config = loopback_config(dht=True, bootstrap=boot)
            held = [FEED_X] if i == 0 else []
            wanted = [FEED_X] if i == n - 1 else []
            nodes.append(
                await stack.enter_async_context(running_discovery(host, config, held, wanted))
            )
        with trio.fail_after(20):
            for i in range(1, n):
                await nodes[i][1].wait(hosts[i - 1].get_id(), "bootstrap")
            for disc, _ in nodes:
                await disc.wait_routing_table(1)
        # Node 4 only knows node 3 by configuration; libp2p's AutoConnector and the DHT's
        # own refresh may connect it to the others meanwhile, which is fine.

        started = time.monotonic()
        with trio.fail_after(20):
            await nodes[0][0].provide([FEED_X])
        provided = time.monotonic()
        # Node 0 pushed its record to its closest peers, node 4 included; forget it here
        # so that the lookup has to walk the network.
        dht4 = nodes[4][0].dht
        assert dht4 is not None
        dht4.kad.provider_store.providers.clear()
        with trio.fail_after(20):
            providers = await nodes[4][0].find_providers(FEED_X)
        found_at = time.monotonic()
        print(f"provide {provided - started:.3f} s, find_providers {found_at - provided:.3f} s")
        assert [p.peer_id for p in providers].count(hosts[0].get_id()) == 1
        assert hosts[4].get_id() not in [p.peer_id for p in providers]
        assert all(p.addrs for p in providers)

        # The periodic lookup of followed feeds reports the provider to the node.
        nodes[4][0].refresh()
        with trio.fail_after(20):
            await nodes[4][1].wait(hosts[0].get_id(), "dht")
        assert await nodes[2][0].find_providers(bytes(32)) == []


async def test_mdns_off_starts_no_zeroconf(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_zeroconf(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("zeroconf started although mdns is off")

    monkeypatch.setattr(mdns_module, "Zeroconf", no_zeroconf)
    config = loopback_config(mdns=False, dht=True)
    async with running_host(config=config) as host, running_discovery(host, config) as (disc, _):
        assert disc.mdns is None
