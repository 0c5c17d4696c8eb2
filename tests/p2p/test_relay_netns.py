"""A node that cannot be dialled is reached through a circuit relay v2 hop, across real
separate networks.

Three network namespaces: A and B each have a veth link to R only (subnet 1 is A-R,
subnet 2 is B-R). A and B route everything through R, but R does not forward IP
(``net.ipv4.ip_forward=0``), so only R can talk to both. A whole lndesk node runs in
each (``ip netns exec``, see ``node_child.py``): R relays for others, B bootstraps
from R and takes a relay slot there, A follows B. A's direct dial of B fails; A then
dials ``<R subnet-1 addr>/p2p/<R>/p2p-circuit/p2p/<B>`` and syncs B's posts through R.
Hole punching (DCUtR, on by default) cannot find a direct path either, so the connection
stays relayed.

It needs root and ``ip``; elsewhere it is skipped. The namespaces are removed afterwards.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trio
from netns import ip, require_namespaces, run_steps, whole_node_in

PORT = 4747
WAIT = 30


@dataclass(frozen=True)
class Net:
    """The three namespaces and the addresses on the two subnets."""

    a: str
    r: str
    b: str
    a_ip: str
    r_ip1: str
    """R on subnet 1 (A's side)."""
    r_ip2: str
    """R on subnet 2 (B's side)."""
    b_ip: str


def in_namespace(ns: str, *command: str) -> subprocess.CompletedProcess[str]:
    return ip("netns", "exec", ns, *command)


@pytest.fixture
def three_namespaces() -> Iterator[Net]:
    """A -- R -- B: two veth links, default routes via R, forwarding off in R."""
    require_namespaces()
    tag = f"{os.getpid() % 100000}"
    third = os.getpid() % 250
    net = Net(
        a=f"lndrly{tag}a",
        r=f"lndrly{tag}r",
        b=f"lndrly{tag}b",
        a_ip=f"10.232.{third}.1",
        r_ip1=f"10.232.{third}.2",
        r_ip2=f"10.233.{third}.2",
        b_ip=f"10.233.{third}.1",
    )
    # (namespace, link, its address, peer namespace, peer link, peer address)
    pairs = [
        (net.a, f"lra{tag}", net.a_ip, net.r, f"lrra{tag}", net.r_ip1),
        (net.b, f"lrb{tag}", net.b_ip, net.r, f"lrrb{tag}", net.r_ip2),
    ]
    names = (net.a, net.r, net.b)
    try:
        probe = ip("netns", "add", net.a)
        if probe.returncode != 0:
            pytest.skip(f"`ip netns add` is not allowed here: {probe.stderr.strip()}")
        steps: list[tuple[str, ...]] = [("netns", "add", net.r), ("netns", "add", net.b)]
        steps += [("-n", ns, "link", "set", "lo", "up") for ns in names]
        for ns, link, addr, peer_ns, peer_link, peer_addr in pairs:
            steps += [
                ("link", "add", link, "type", "veth", "peer", "name", peer_link),
                ("link", "set", link, "netns", ns),
                ("link", "set", peer_link, "netns", peer_ns),
                ("-n", ns, "addr", "add", f"{addr}/24", "dev", link),
                ("-n", peer_ns, "addr", "add", f"{peer_addr}/24", "dev", peer_link),
                ("-n", ns, "link", "set", link, "up"),
                ("-n", peer_ns, "link", "set", peer_link, "up"),
                # R is the edge's gateway, as a router would be: the other subnet is
                # *routed* to R, and only R's refusal to forward keeps A and B apart.
                ("-n", ns, "route", "add", "default", "via", peer_addr),
            ]
        run_steps(steps)
        done = in_namespace(net.r, "sysctl", "-w", "net.ipv4.ip_forward=0")
        if done.returncode != 0:
            pytest.skip(f"cannot turn IP forwarding off in R: {done.stderr.strip()}")
        yield net
    finally:
        for _ns, link, _addr, _peer_ns, peer_link, _peer_addr in pairs:
            ip("link", "del", link)  # only left here if moving it into a namespace failed
            ip("link", "del", peer_link)
        for ns in names:
            ip("netns", "del", ns)  # also removes the veth ends inside it
        leftover = ip("netns", "list").stdout
        assert not any(ns in leftover for ns in names)


@pytest.mark.slow  # about 7 s, most of it waiting for the direct dial to time out
async def test_unreachable_node_is_synced_through_relay(
    three_namespaces: Net, tmp_path: Path
) -> None:
    net = three_namespaces
    forwarding = in_namespace(net.r, "cat", "/proc/sys/net/ipv4/ip_forward").stdout.strip()
    assert forwarding == "0"
    wildcard = "0.0.0.0"  # each node listens on every interface of its namespace
    base = {"listen_host": wildcard, "listen_port": PORT, "mdns": False, "dht": False}
    started = trio.current_time()

    async with (
        whole_node_in(net.r, tmp_path / "r", **base, relay_hop=True, relay_client=False) as r,
        whole_node_in(net.a, tmp_path / "a", **base) as a,
    ):
        _, r_id, _r_key, *r_addrs = await r.ready()
        await a.ready()
        assert f"/ip4/{net.r_ip1}/tcp/{PORT}/p2p/{r_id}" in r_addrs
        assert f"/ip4/{net.r_ip2}/tcp/{PORT}/p2p/{r_id}" in r_addrs

        bootstrap = [f"/ip4/{net.r_ip2}/tcp/{PORT}/p2p/{r_id}"]
        async with whole_node_in(
            net.b, tmp_path / "b", **base, relay_client=True, bootstrap=bootstrap
        ) as b:
            _, b_id, b_key, *b_addrs = await b.ready()
            # B got a slot on R (AddressesChanged with /p2p-circuit/ addresses).
            _, *circuits = await b.wait_for("CIRCUIT")
            via_subnet_2 = f"/ip4/{net.r_ip2}/tcp/{PORT}/p2p/{r_id}/p2p-circuit/p2p/{b_id}"
            assert via_subnet_2 in circuits
            reserved = trio.current_time()

            for n in range(1, 4):
                await b.send(f"post note {n} from behind the relay")
                assert (await b.wait_for("POSTED"))[1] == str(n)
            await a.send(f"follow {b_key}")
            await a.wait_for("FOLLOWING")

            # No path from A to B but through R: A routes the dial to R, which drops it
            # without a word (a host that does not forward sends no ICMP error), so the
            # dial times out (after 5 s per address) instead of being refused.
            direct = f"/ip4/{net.b_ip}/tcp/{PORT}/p2p/{b_id}"
            assert direct in b_addrs
            await a.send(f"connect {direct}")
            outcome = await a.wait_for("DIALFAIL", "CONNECTED")
            assert outcome[0] == "DIALFAIL", f"A reached B without the relay: {outcome}"
            reason = " ".join(outcome[2:])
            print(f"direct dial A -> B failed after {outcome[1]} s: {reason}")
            assert reason.endswith(f"{direct.split('/p2p/', maxsplit=1)[0]}: timed out")

            # A reaches B through R's address on A's own subnet.
            via_subnet_1 = f"/ip4/{net.r_ip1}/tcp/{PORT}/p2p/{r_id}/p2p-circuit/p2p/{b_id}"
            dialling = trio.current_time()
            await a.send(f"connect {via_subnet_1}")
            assert await a.wait_for("CONNECTED", "DIALFAIL") == ["CONNECTED", b_id, "relayed"]
            connected = trio.current_time()
            while (await a.wait_for(f"HEIGHT {b_key}"))[2] != "3":
                pass
            synced = trio.current_time()
            # Hole punching (DCUtR) cannot find a direct path either: still relayed.
            await a.send(f"link {b_id}")
            assert await a.wait_for("LINK") == ["LINK", b_id, "relayed"]
            print(
                f"slot on R {reserved - started:.2f} s after start, circuit dial "
                f"{connected - dialling:.2f} s, 3 entries synced {synced - connected:.2f} s later"
            )

            for child in (a, b, r):
                await child.send("quit")
            for child in (a, b, r):
                await child.wait_for("STOPPED")
                with trio.fail_after(WAIT):
                    assert await child.process.wait() == 0
