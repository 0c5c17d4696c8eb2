"""Gossip line: the CPU and Python calls a head costs three gossip nodes in one process.

A - B - C on 127.0.0.1, each a real libp2p host running ``HeadAndNoticeGossip`` (no
store, no sync): A announces ``--posts`` heads of its feed one after the other, B
relays each to C, and the next is announced once both received it. Printed: the
process's CPU per post for the three nodes (process time), and, in a second pass
under cProfile, the Python function calls per post (a figure the machine's load does
not move, unlike the CPU time). The forwarding rate limit is lifted: a head follows
the last at once, over GossipSub's 100 messages a second per forwarder.

    python bench/gossip_line.py                # 400 posts
    python bench/gossip_line.py --posts 1000 --rounds 3
    python bench/gossip_line.py --quick        # 50 posts, one round
"""

from __future__ import annotations

import argparse
import cProfile
import math
import pstats
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
from _common import identity_for, loopback_config, print_table
from libp2p.peer.peerinfo import PeerInfo

from lndesk.content import Post, encode_content
from lndesk.entry import create_entry
from lndesk.p2p.config import Limits
from lndesk.p2p.gossip import HeadAndNoticeGossip
from lndesk.p2p.host import build_host, serving

WARM_UP = 20
CONFIG = loopback_config()


class GossipNode:
    def __init__(self, label: str, host: Any, gossip: HeadAndNoticeGossip) -> None:
        self.identity = identity_for(label)
        self.host = host
        self.gossip = gossip
        self.heads_send, self.heads = trio.open_memory_channel[int](math.inf)


@asynccontextmanager
async def gossip_node(label: str) -> AsyncIterator[GossipNode]:
    host = build_host(identity_for(label).seed, CONFIG)
    node: GossipNode | None = None

    async def on_head(_peer: Any, head: Any) -> None:
        assert node is not None
        node.heads_send.send_nowait(head.entry.seq)

    gossip = HeadAndNoticeGossip(host, limits=Limits(), on_head=on_head, on_invalid=print)
    node = GossipNode(label, host, gossip)
    async with serving(host, CONFIG), trio.open_nursery() as nursery:
        await nursery.start(gossip.run)
        gossip.router.max_messages_per_topic_per_second = 1e9
        yield node
        nursery.cancel_scope.cancel()


async def dial(a: GossipNode, b: GossipNode) -> None:
    addrs = [x for x in b.host.get_addrs() if str(x).startswith("/ip4/127.0.0.1/tcp/")]
    with trio.fail_after(60):
        await a.host.connect(PeerInfo(b.host.get_id(), addrs))
        await a.gossip.pubsub.wait_for_peer(b.host.get_id(), timeout=60)
        await b.gossip.pubsub.wait_for_peer(a.host.get_id(), timeout=60)


def heads(author: GossipNode, count: int) -> list[tuple[bytes, bytes]]:
    """``count`` linked posts of ``author`` (entry bytes, payload)."""
    out, prev = [], None
    for seq in range(1, count + 1):
        payload = encode_content(Post(f"live post number {seq}: a short note, as typed"))
        entry = create_entry(
            author.identity,
            seq=seq,
            prev=prev,
            claimed_ms=1_700_000_000_000 + seq * 1000,
            type="post",
            payload=payload,
        )
        out.append((entry.raw, payload))
        prev = entry.id
    return out


async def run(posts: int, profile: bool) -> tuple[float, float]:
    """CPU seconds per post, and function calls per post if ``profile``."""
    async with gossip_node("a") as a, gossip_node("b") as b, gossip_node("c") as c:
        await dial(b, a)
        await dial(c, b)
        for node in (a, b, c):
            await node.gossip.follow(a.identity.public_key)
        with trio.fail_after(60):
            await b.gossip.wait_for_topic_peers(a.identity.public_key, 2)
            await b.gossip.wait_for_mesh(a.identity.public_key, c.host.get_id())
            await a.gossip.wait_for_topic_peers(a.identity.public_key, 1)
            await c.gossip.wait_for_topic_peers(a.identity.public_key, 1)
        chain = heads(a, WARM_UP + posts)
        profiler = cProfile.Profile() if profile else None
        for number, (entry, payload) in enumerate(chain):
            if number == WARM_UP:
                started = time.process_time()
                if profiler is not None:
                    profiler.enable()
            await a.gossip.announce(entry, payload)
            with trio.fail_after(60):
                await b.heads.receive()
                await c.heads.receive()
        cpu = (time.process_time() - started) / posts
        if profiler is None:
            return cpu, 0.0
        profiler.disable()
        return cpu, pstats.Stats(profiler).total_calls / posts  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds (3)")
    parser.add_argument("--quick", action="store_true", help="50 posts, one round")
    args = parser.parse_args()
    if args.quick:
        args.posts, args.rounds = 50, 1
    cpus = [trio.run(run, args.posts, False)[0] for _ in range(args.rounds)]
    _, calls = trio.run(run, args.posts, True)
    print_table(
        f"line of three gossip nodes in one process, {args.posts} posts",
        ["figure", "value"],
        [
            ["CPU per post, 3 nodes (median)", f"{statistics.median(cpus) * 1000:.3f} ms"],
            ["CPU per post, each round", ", ".join(f"{c * 1000:.3f}" for c in cpus)],
            ["Python calls per post, 3 nodes", f"{calls:.0f}"],
        ],
    )


if __name__ == "__main__":
    main()
