"""Two nodes find each other by mDNS, each in its own network namespace.

Multicast needs a real (virtual) network, and running zeroconf on the test machine's
own interfaces would make the result depend on whoever else is on that LAN. So the
test builds two namespaces joined by a veth pair, runs one node in each
(``ip netns exec``, see ``mdns_child.py``) and removes the namespaces afterwards.
It needs root and ``ip``; elsewhere it is skipped.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from conftest import make_seed
from netns import Child, child_in, ip

CHILD = Path(__file__).with_name("mdns_child.py")
SUBNET = "10.231.{}.{}/24"


@dataclass(frozen=True)
class Lan:
    a: str
    b: str
    b_link: str
    """B's end of the veth pair."""
    subnet: str
    """The third part of the 10.231.x.0/24 addresses."""


@pytest.fixture
def two_namespaces() -> Iterator[Lan]:
    """Namespaces A and B, linked by a veth pair with 10.231.x.1 and 10.231.x.2."""
    if shutil.which("ip") is None:
        pytest.skip("the `ip` command (iproute2) is not installed")
    if os.geteuid() != 0:
        pytest.skip("creating network namespaces needs root")
    tag = f"{os.getpid() % 100000}"
    names = (f"lndmdns{tag}a", f"lndmdns{tag}b")
    links = (f"lnv{tag}a", f"lnv{tag}b")
    try:
        probe = ip("netns", "add", names[0])
        if probe.returncode != 0:
            pytest.skip(f"`ip netns add` is not allowed here: {probe.stderr.strip()}")
        third = os.getpid() % 250
        steps = [
            ("netns", "add", names[1]),
            ("link", "add", links[0], "type", "veth", "peer", "name", links[1]),
        ]
        for i, (ns, link) in enumerate(zip(names, links, strict=True)):
            steps += [
                ("link", "set", link, "netns", ns),
                ("-n", ns, "addr", "add", SUBNET.format(third, i + 1), "dev", link),
                ("-n", ns, "link", "set", "lo", "up"),
                ("-n", ns, "link", "set", link, "up"),
                # A default route like a LAN's: multicast sends need a route, and
                # py-libp2p picks the address it announces by routing towards 8.8.8.8.
                ("-n", ns, "route", "add", "default", "dev", link),
            ]
        for step in steps:
            done = ip(*step)
            if done.returncode != 0:
                pytest.skip(f"`ip {' '.join(step)}` failed: {done.stderr.strip()}")
        yield Lan(names[0], names[1], links[1], str(third))
    finally:
        ip("link", "del", links[0])  # only left here if moving it into a namespace failed
        for ns in names:
            ip("netns", "del", ns)  # also removes the veth end inside it
        leftover = ip("netns", "list").stdout
        assert not any(ns in leftover for ns in names)


@asynccontextmanager
async def node_in(namespace: str) -> AsyncIterator[Child]:
    async with child_in(namespace, CHILD, make_seed(namespace).hex()) as child:
        yield child


async def test_two_nodes_find_each_other_by_mdns(two_namespaces: Lan) -> None:
    lan = two_namespaces
    async with node_in(lan.a) as a, node_in(lan.b) as b:
        with trio.fail_after(30):
            id_a = (await a.expect("READY"))[1]
            id_b = (await b.expect("READY"))[1]
        with trio.fail_after(30):
            found_by_a = await a.expect(f"FOUND {id_b}")
            found_by_b = await b.expect(f"FOUND {id_a}")
        assert found_by_a[2] == "mdns"
        assert found_by_b[2] == "mdns"
        print(f"mDNS discovery after {found_by_a[3]} s and {found_by_b[3]} s")

        # B's network changes (a new address, as on another Wi-Fi): once B's node is
        # told, mDNS advertises the new address and A hears it.
        new_ip = f"10.231.{lan.subnet}.3"
        assert not any(f"/ip4/{new_ip}/" in addr for addr in found_by_a[4:])
        added = ip("-n", lan.b, "addr", "add", f"{new_ip}/24", "dev", lan.b_link)
        assert added.returncode == 0, added.stderr
        await b.send("readdress")
        with trio.fail_after(30):
            await b.expect("READDRESSED")
            while True:
                found = await a.expect(f"FOUND {id_b}")
                if any(f"/ip4/{new_ip}/" in addr for addr in found[4:]):
                    break
        print(f"new address heard by mDNS at {found[3]} s")

        # The advertised addresses are dialable (not loopback, not a wildcard).
        await a.send("dial")
        with trio.fail_after(30):
            await a.expect(f"CONNECTED {id_b}")
        assert not any(line.startswith(f"FOUND {id_a}") for line in a.lines)  # not ourselves

        # Stopping closes zeroconf (goodbye packets, sockets) and exits cleanly.
        for child in (a, b):
            await child.send("quit")
        with trio.fail_after(30):
            for child in (a, b):
                await child.expect("STOPPED")
                assert await child.process.wait() == 0
