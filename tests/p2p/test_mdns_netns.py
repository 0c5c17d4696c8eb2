"""Two nodes find each other by mDNS, each in its own network namespace.

Multicast needs a real (virtual) network, and running zeroconf on the test machine's
own interfaces would make the result depend on whoever else is on that LAN. So the
test builds two namespaces joined by a veth pair, runs one node in each
(``ip netns exec``, see ``mdns_child.py``) and removes the namespaces afterwards.
It needs root and ``ip``; elsewhere it is skipped.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
from conftest import make_seed
from netns import Child, Lan, child_in, ip, two_namespace_lan

CHILD = Path(__file__).with_name("mdns_child.py")


@pytest.fixture
def two_namespaces() -> Iterator[Lan]:
    with two_namespace_lan("lndmdns", 231) as lan:
        yield lan


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
        new_ip = lan.address(3)
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
