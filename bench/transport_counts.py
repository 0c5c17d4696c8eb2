"""Transport counts: what one live post costs TCP, Noise, yamux and trio, counted.

Three whole lndesk nodes in one process and one trio loop, on 127.0.0.1, in a line (the
second dials the author, the third dials the second; both follow the author). Once the
GossipSub mesh is up and a warm-up post reached the leaf, the author publishes
``--posts`` posts at ``--rate`` per second, and what the whole process did meanwhile is
counted and printed per post (the three nodes together: one post is written by the
author, read and relayed by the middle node, read by the leaf):

* socket reads (``receive_some`` on a TCP stream) and socket writes (``send_all``);
* Noise transport messages decrypted and encrypted;
* yamux frames read (headers) and written, by type;
* trips through trio's scheduler (task steps, counted by a trio instrument);
* CPU ms of the process (with the counters' own cost in it).

The counters wrap py-libp2p's and trio's methods in this process only.

With ``--sync`` it counts a bulk sync instead, per synced MB (entry + payload bytes): a
server node in a child process holds ``--entries`` posts (as ``sync_throughput.py``
builds them, ``--cache`` shared), and a fresh reader node in this process dials it and
syncs them all, oldest first; only the reader is counted (this process). Also counted
then: the bytes the reader's yamux streams copied out of their receive buffers, and
window updates written (each one a frame the server must read before it may send more).

    python bench/transport_counts.py               # 100 posts at 4/s
    python bench/transport_counts.py --posts 200 --rate 8
    python bench/transport_counts.py --sync --cache /tmp/cache   # 100,000 entries
"""

from __future__ import annotations

import argparse
import os
import struct
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from _common import loopback_config, print_setup, print_table
from _net import NodeProcess, make_reader
from _sync import add_sync_options, prepare_sync_server
from libp2p.security.noise.io import NoiseTransportReadWriter
from libp2p.security.secure_session import SecureSession
from libp2p.stream_muxer.yamux import yamux

from lndesk.app.node import AppNode
from lndesk.app.service import Service, create_identity
from lndesk.p2p.events import EntriesStored
from lndesk.p2p.yamux_window import close_broken_connections

counts: Counter[str] = Counter()


class Steps(trio.abc.Instrument):
    """Counts every step of every task: each is one trip through trio's scheduler."""

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        counts["trio task steps"] += 1


def _count_async(owner: Any, name: str, key: Callable[..., str | None]) -> None:
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)

    async def counted(*args: Any, **kwargs: Any) -> Any:
        label = key(*args, **kwargs)
        if label is not None:
            counts[label] += 1
        return await original(*args, **kwargs)

    setattr(owner, name, counted)


def _count_sync(owner: Any, name: str, label: str) -> None:
    original: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[label] += 1
        return original(*args, **kwargs)

    setattr(owner, name, counted)


def install_counters() -> None:
    # lndesk's host replaces yamux's header reads once (lndesk.p2p.yamux_window): done
    # first, so that the counter below wraps lndesk's reads and is not replaced by them.
    close_broken_connections()
    _count_async(trio.SocketStream, "receive_some", lambda *a, **k: "socket reads")
    _count_async(trio.SocketStream, "send_all", lambda *a, **k: "socket writes")
    _count_sync(NoiseTransportReadWriter, "decrypt", "Noise messages read")
    _count_sync(NoiseTransportReadWriter, "encrypt", "Noise messages written")
    names = {0: "data", 1: "window update", 2: "ping", 3: "go away"}

    def frame_written(session: Any, data: bytes) -> str | None:
        # What a secure session writes once yamux runs is one yamux frame per write.
        if len(data) < yamux.HEADER_SIZE or data[0] != 0 or data[1] > 3:
            return None  # multistream-select before yamux, not a frame
        kind = struct.unpack(yamux.YAMUX_HEADER_FORMAT, data[: yamux.HEADER_SIZE])[1]
        return f"yamux frames written: {names.get(kind, kind)}"

    _count_async(SecureSession, "write", frame_written)
    read_exactly = yamux.read_exactly

    async def counted_read_exactly(reader: Any, n: int, *args: Any) -> bytes:
        data = await read_exactly(reader, n, *args)
        if n == yamux.HEADER_SIZE:  # a header (bodies are read by lndesk's read_body)
            kind = struct.unpack(yamux.YAMUX_HEADER_FORMAT, data)[1]
            counts[f"yamux frames read: {names.get(kind, kind)}"] += 1
        return data

    yamux.read_exactly = counted_read_exactly


class Arrivals:
    def __init__(self) -> None:
        self.height = 0
        self.changed = trio.Event()

    def __call__(self, event: object) -> None:
        if isinstance(event, EntriesStored):
            self.height = max(self.height, event.height)
            self.changed.set()
            self.changed = trio.Event()

    async def wait_height(self, height: int) -> None:
        while self.height < height:
            await self.changed.wait()


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    author = create_identity(work / "n0").public_key
    for i in (1, 2):
        make_reader(work / f"n{i}", [author])
    config = loopback_config()
    services = [Service(work / f"n{i}") for i in range(3)]
    arrivals = [Arrivals() for _ in range(3)]
    apps = [AppNode(s, config, a) for s, a in zip(services, arrivals, strict=True)]
    try:
        async with trio.open_nursery() as nursery:
            for app in apps:
                await nursery.start(app.run)
            for i in (1, 2):
                address = next(a for a in apps[i - 1].node.addresses() if "/ip4/127.0.0.1/" in a)
                await apps[i].node.connect(address)
            with trio.fail_after(120):
                for i, want in ((0, 1), (1, 2), (2, 1)):
                    await apps[i].node.gossip.wait_for_topic_peers(author, want)
            warm = await apps[0].publish(lambda s: s.post("warm-up"))
            with trio.fail_after(60):
                await arrivals[2].wait_height(warm.seq)
            await apps[0].node.wait_synced(120)
            counts.clear()
            cpu0 = time.process_time()
            last = warm.seq
            next_at = trio.current_time()
            for number in range(args.posts):
                await trio.sleep_until(next_at)
                next_at += 1 / args.rate
                entry = await apps[0].publish(lambda s, n=number: s.post(f"probe {n}"))
                last = entry.seq
            with trio.fail_after(60):
                await arrivals[2].wait_height(last)
                await arrivals[1].wait_height(last)
            cpu = time.process_time() - cpu0
            counted = dict(counts)
            for app in apps:
                app.stop()
            nursery.cancel_scope.cancel()
    finally:
        for service in services:
            service.close()
    return {"counts": counted, "cpu": cpu}


async def run_sync(args: argparse.Namespace, work: Path, address: str, server: Any) -> dict:
    make_reader(work / "reader", server.feeds)
    config = loopback_config(newest_first=False)
    arrivals = Arrivals()
    with Service(work / "reader") as service:
        store = service.store
        app = AppNode(service, config, arrivals)

        def held() -> int:
            return sum(store.feed_state(feed).height for feed in server.feeds)

        async with trio.open_nursery() as nursery:
            await nursery.start(app.run)
            counts.clear()
            cpu0 = time.process_time()
            await app.node.connect(address)
            with trio.fail_after(args.timeout):
                while held() < server.total:
                    await arrivals.changed.wait()
            cpu = time.process_time() - cpu0
            counted = dict(counts)
            app.stop()
            nursery.cancel_scope.cancel()
    return {"counts": counted, "cpu": cpu}


def count_copies() -> None:
    """Count the bytes a yamux stream's read copies out of its receive buffer."""
    read_stream = yamux.Yamux.read_stream

    async def counted(self: Any, stream_id: int, n: int = -1) -> bytes:
        data = await read_stream(self, stream_id, n)
        counts["bytes copied out of yamux buffers"] += len(data)
        return data

    yamux.Yamux.read_stream = counted  # type: ignore[method-assign]


def main_sync(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="lndesk-transport-", dir=args.dir) as tmp:
        work = Path(tmp)
        server_data = prepare_sync_server(work / "server", args)
        server = NodeProcess(work / "server", work / "server.log", "server")
        try:
            install_counters()
            count_copies()
            load = os.getloadavg()[0]
            result = trio.run(
                run_sync, args, work, server.address, server_data, instruments=[Steps()]
            )
        finally:
            server.stop()
    mb = server_data.total_bytes / 1e6
    print_setup(
        "transport counts: a bulk sync, the reader counted",
        [
            ("entries", f"{server_data.total:,} ({mb:.1f} MB), oldest first"),
            ("load average", f"{load:.1f} as the run began, {os.getloadavg()[0]:.1f} after"),
            (
                "reader CPU",
                f"{result['cpu']:.2f} s, {result['cpu'] / server_data.total * 1e6:.1f} us an"
                " entry (counters included)",
            ),
        ],
    )
    rows = [[name, f"{value / mb:.1f}"] for name, value in sorted(result["counts"].items())]
    print_table("per synced MB (the reader)", ["what", "per MB"], rows)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100, help="timed posts (100)")
    parser.add_argument("--rate", type=float, default=4.0, help="posts per second (4)")
    parser.add_argument("--sync", action="store_true", help="count a bulk sync's reader")
    add_sync_options(parser, timeout=600, logs="authors' feeds")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.feeds = 10_000, 5
    if args.sync:
        return main_sync(args)
    install_counters()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="lndesk-transport-") as tmp:
        result = trio.run(run, args, Path(tmp), instruments=[Steps()])
    print_setup(
        "transport counts: a line of 3 nodes in one process",
        [
            ("posts", f"{args.posts} at {args.rate:g}/s"),
            ("load average", f"{load:.1f} as the run began, {os.getloadavg()[0]:.1f} after"),
            ("CPU", f"{result['cpu'] / args.posts * 1000:.2f} ms per post, 3 nodes together"),
        ],
    )
    rows = [[name, f"{value / args.posts:.2f}"] for name, value in sorted(result["counts"].items())]
    print_table("per post (3 nodes together)", ["what", "per post"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
