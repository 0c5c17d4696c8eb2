"""Live latency: how long a post takes to reach a follower three hops away.

Four nodes, each its own OS process on 127.0.0.1 (no mDNS, DHT or relay), in a line
A - B - C - D: B dials A, C dials B, D dials C, and nobody else is connected. B, C and D
follow A. Once every node sees its neighbours on A's feed topic and the GossipSub mesh
has grafted them (``--no-mesh-wait`` skips the mesh), A publishes ``--warmup`` posts
that must reach D, then ``--posts`` posts ``--interval`` seconds apart (a latency test,
not a throughput test). Each post's text carries A's wall-clock time just before
``publish`` (all processes share the machine clock); B, C and D record the wall-clock
time of the ``EntriesStored`` event that stored it and whether it came by gossip or by
sync. Latency = stored time - send time, per node (1, 2 and 3 hops).

    python bench/live_latency.py                # 50 posts, 200 ms apart; target p50 < 500 ms
    python bench/live_latency.py --quick        # 10 posts, 100 ms apart
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import time
from pathlib import Path

from _common import percentile, print_setup, print_table
from _net import ChildError, NodeProcess, make_reader

from lndesk.app.service import create_identity

TARGET_MS = 500
NAMES = ("A", "B", "C", "D")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=50, help="timed posts (default 50)")
    parser.add_argument(
        "--interval", type=float, default=0.2, help="seconds between posts (default 0.2)"
    )
    parser.add_argument("--warmup", type=int, default=1, help="untimed posts first (default 1)")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds to wait for late arrivals (10)"
    )
    parser.add_argument(
        "--no-mesh-wait", action="store_true", help="publish once topic peers are known"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary dirs (default: system)"
    )
    parser.add_argument("--quick", action="store_true", help="10 posts, 100 ms apart")
    args = parser.parse_args()
    if args.quick:
        args.posts, args.interval, args.settle = 10, 0.1, 5.0

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        author = create_identity(work / "A").public_key
        for name in NAMES[1:]:
            make_reader(work / name, [author])
        nodes: list[NodeProcess] = []
        try:
            started = time.perf_counter()
            for name in NAMES:
                nodes.append(NodeProcess(work / name, work / f"{name}.log", name, wait=False))
            for node in nodes:
                node.wait_started()
            start_seconds = time.perf_counter() - started
            a, _b, _c, d = nodes
            for near, far in itertools.pairwise(nodes):
                far.call("connect", address=near.address, timeout=30)
            setup_began = time.perf_counter()
            feed = author.hex()
            # Topic peers: A has B; B has A and C; C has B and D; D has C.
            for node, n in zip(nodes, (1, 2, 2, 1), strict=True):
                node.call("wait_topic_peers", feed=feed, n=n, timeout=40)
            mesh_peers = ""
            if not args.no_mesh_wait:
                meshed = [node.call("wait_mesh", feed=feed, timeout=40)["peers"] for node in nodes]
                mesh_peers = f", mesh grafted ({'/'.join(map(str, meshed))} peers)"
            topics_seconds = time.perf_counter() - setup_began
            warm = a.call("publish_series", count=args.warmup, interval=0, label="warmup")
            warm_seq = max((seq for seq, _, _ in warm["posts"]), default=0)
            wait_height(d, feed, warm_seq, timeout=30)

            timeout = args.posts * args.interval + 60
            series = a.call(
                "publish_series", count=args.posts, interval=args.interval, timeout=timeout
            )
            posts = {seq: sent_ns for seq, sent_ns, _ in series["posts"]}
            publish_ms = [(done - sent) / 1e6 for _, sent, done in series["posts"]]
            last_seq = max(posts)
            arrived = wait_height(d, feed, last_seq, timeout=args.settle)
            arrivals = {
                name: node.call("arrivals", feed=feed)["stored"]
                for name, node in zip(NAMES[1:], nodes[1:], strict=True)
            }
        except ChildError as exc:
            print(f"\nFAILED: {exc}")
            return 1
        finally:
            for node in nodes:
                node.stop()

        print_setup(
            "live latency (A - B - C - D, each its own process, loopback)",
            [
                ("posts", f"{args.posts} from A, {args.interval * 1e3:.0f} ms apart"),
                ("warm-up", f"{args.warmup} post(s), waited for at D"),
                ("nodes start", f"{start_seconds:.1f} s for 4 processes"),
                ("topics ready", f"{topics_seconds:.2f} s after the line was dialled{mesh_peers}"),
                ("D got all", "yes" if arrived else f"no (within {args.settle:.0f} s)"),
            ],
        )
        rows = []
        summary: dict[str, list[float]] = {}
        for hops, name in enumerate(NAMES[1:], start=1):
            latencies, via = latencies_of(arrivals[name], posts)
            summary[name] = latencies
            rows.append(
                [
                    f"{name} ({hops} hop{'s' if hops > 1 else ''})",
                    f"{len(latencies)}/{len(posts)}",
                    fmt(percentile(latencies, 50)),
                    fmt(percentile(latencies, 90)),
                    fmt(percentile(latencies, 99)),
                    fmt(max(latencies, default=float("nan"))),
                    str(via.get("gossip", 0)),
                    str(via.get("sync", 0)),
                ]
            )
        print_table(
            "latency from A's publish to stored (ms)",
            ["node", "arrived", "p50", "p90", "p99", "max", "gossip", "sync"],
            rows,
        )
        d_p50 = percentile(summary["D"], 50)
        missing = len(posts) - len(summary["D"])
        print_table(
            "summary",
            ["figure", "value"],
            [
                ["D (3 hops) p50 / p90", f"{fmt(d_p50)} / {fmt(percentile(summary['D'], 90))} ms"],
                [
                    "D (3 hops) p99 / max",
                    f"{fmt(percentile(summary['D'], 99))} / "
                    f"{fmt(max(summary['D'], default=float('nan')))} ms",
                ],
                ["posts missing at D", str(missing)],
                [
                    "A's publish call p50 / max",
                    f"{fmt(percentile(publish_ms, 50))} / {fmt(max(publish_ms))} ms",
                ],
                ["target", f"D p50 < {TARGET_MS} ms"],
                [
                    "result",
                    "meets target" if d_p50 < TARGET_MS and not missing else "MISSES TARGET",
                ],
            ],
        )
    return 0


def wait_height(node: NodeProcess, feed: str, height: int, timeout: float) -> bool:
    """Poll ``arrivals`` until ``node`` stored ``feed`` up to ``height``; False on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        stored = node.call("arrivals", feed=feed)["stored"]
        if max((h for _, _, _, h, _ in stored), default=0) >= height:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def latencies_of(stored: list[list], posts: dict[int, int]) -> tuple[list[float], dict[str, int]]:
    """Latency (ms) of each timed post from a node's EntriesStored records."""
    latencies: list[float] = []
    via: dict[str, int] = {}
    for at_ns, _feed, count, height, how in stored:
        for seq in range(height - count + 1, height + 1):
            if seq in posts:
                latencies.append((at_ns - posts[seq]) / 1e6)
                via[how] = via.get(how, 0) + 1
    return latencies, via


def fmt(value: float) -> str:
    return "-" if value != value else f"{value:.1f}"


if __name__ == "__main__":
    raise SystemExit(main())
