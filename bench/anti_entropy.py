"""Anti-entropy: what a sync round costs when nothing changed, with and without digests.

Two libp2p hosts in this process on 127.0.0.1, a server and a reader whose stores hold
the same ``N`` feeds (one entry each), so a round has nothing to fetch. For each N the
reader runs rounds on ``/lndesk/sync/2`` (the whole ``want`` and ``have``) and on
``/lndesk/sync/3`` (docs/protocol.md section 20.15: a ``digest`` answered by ``same``,
after one whole round that leaves the server the reader's vector). Prints the bytes on
the stream both ways and the median wall time of a round (both nodes share this
process, so the time includes the server's lookups). The server's want rate limit is
lifted so that repeated rounds of 5,000 feeds are not refused.

Then a whole round (section 20.16): on the old protocols a ``/3`` digest, an inbox
catch-up ``ask`` and a fork proof question, three streams; as a visit, one stream.
Prints streams opened, bytes both ways and the median wall time of the round.

    python bench/anti_entropy.py                     # N = 10, 100, 1000, 5000
    python bench/anti_entropy.py --quick             # N = 10, 100
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import trio
from _common import BASE_MS, DAY_MS, ChainSpec, loopback_config, make_chain, print_table
from libp2p.peer.peerinfo import PeerInfo

from lndesk.app.feeds import StoreFeeds
from lndesk.identity import blake2b_256
from lndesk.p2p.catchup import CATCHUP_PROTOCOL, CatchupClient, CatchupServer
from lndesk.p2p.config import Limits
from lndesk.p2p.digest import vector_digest
from lndesk.p2p.forks import FORKS_PROTOCOL, ForksClient, ForksServer
from lndesk.p2p.host import build_host, public_key_of, serving
from lndesk.p2p.sync import (
    DIGEST_PROTOCOL,
    PIPELINED_PROTOCOL,
    SYNC_PROTOCOL,
    SyncClient,
    SyncServer,
)
from lndesk.p2p.visit import VISIT_PROTOCOL, VisitClient, VisitServer
from lndesk.p2p.visit_frames import InboxCheck, Visit, refs_digest
from lndesk.store.store import Store

CONFIG = loopback_config()
LIMITS = Limits(want_feeds_per_minute=10**9)


class Counting:
    """A stream that counts the bytes written and read."""

    def __init__(self, stream: Any, tally: list[int]) -> None:
        self._stream = stream
        self._tally = tally

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    async def write(self, data: bytes) -> None:
        self._tally[0] += len(data)
        await self._stream.write(data)

    async def read(self, n: int = -1) -> bytes:
        data: bytes = await self._stream.read(n)
        self._tally[0] += len(data)
        return data


class CountingHost:
    """A host whose new streams are :class:`Counting` (bytes of the last one in ``tally``,
    or of every stream since :meth:`start_round` with ``whole``)."""

    def __init__(self, host: Any, *, whole: bool = False) -> None:
        self._host = host
        self.tally = [0]
        self.whole = whole
        self.streams = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._host, name)

    def start_round(self) -> None:
        self.tally, self.streams = [0], 0

    async def new_stream(self, peer: Any, protocols: Any) -> Counting:
        if not self.whole:
            self.tally = [0]
        self.streams += 1
        return Counting(await self._host.new_stream(peer, protocols), self.tally)


async def run_size(work: Path, n: int, rounds: int) -> list[list[str]]:
    chains = [make_chain(ChainSpec(f"ae-{n}-{i}", 1, 200, BASE_MS, DAY_MS)) for i in range(n)]
    keys = [key for key, _ in chains]
    server_host = build_host(blake2b_256(b"anti-entropy server %d" % n), CONFIG)
    reader_host = build_host(blake2b_256(b"anti-entropy reader %d" % n), CONFIG)
    server_store, reader_store = Store(work / f"server{n}"), Store(work / f"reader{n}")
    rows: list[list[str]] = []
    try:
        async with serving(server_host, CONFIG), serving(reader_host, CONFIG):
            server_key, reader_key = (public_key_of(h.get_id()) for h in (server_host, reader_host))
            assert server_key is not None and reader_key is not None
            served, read = (
                StoreFeeds(server_store, server_key),
                StoreFeeds(reader_store, reader_key),
            )
            for key, items in chains:
                served.ingest(key, items)
                read.ingest(key, items)
            read.wanted_feeds = lambda: keys  # type: ignore[method-assign]
            server = SyncServer(
                served,
                LIMITS,
                events=lambda _e: None,
                penalise=lambda _who, reason: print(f"server penalised: {reason}"),
                is_penalised=lambda _who: False,
                key_of=public_key_of,
            )
            server_host.set_stream_handler(SYNC_PROTOCOL, server.handle)
            server_host.set_stream_handler(PIPELINED_PROTOCOL, server.handle_pipelined)
            server_host.set_stream_handler(DIGEST_PROTOCOL, server.handle_digests)
            await reader_host.connect(PeerInfo(server_host.get_id(), server_host.get_addrs()))
            for digests in (False, True):
                counting = CountingHost(reader_host)
                client = SyncClient(
                    counting,
                    read,
                    LIMITS,
                    events=lambda _e: None,
                    penalise=lambda _who, reason: print(f"reader penalised: {reason}"),
                    key_of=public_key_of,
                    newest_first=True,
                    digests=digests,
                )
                # The first round leaves the server the reader's vector (on /3).
                await client.sync_with(server_host.get_id())
                if digests:  # the server remembers it once it has seen the stream closed
                    vector = vector_digest((key, 1) for key in keys)
                    await server.vectors.wait_remembered(reader_host.get_id(), vector)
                times, sizes, unchanged = [], [], 0
                for _ in range(rounds):
                    started = time.perf_counter()
                    report = await client.sync_with(server_host.get_id())
                    times.append(time.perf_counter() - started)
                    sizes.append(counting.tally[0])
                    unchanged += report.unchanged
                name = "/lndesk/sync/3 (digest)" if digests else "/lndesk/sync/2 (want)"
                rows.append(
                    [
                        f"{n:,}",
                        name,
                        f"{statistics.median(sizes):,.0f}",
                        f"{statistics.median(times) * 1000:.1f}",
                        f"{unchanged} of {rounds}",
                    ]
                )
    finally:
        server_store.close()
        reader_store.close()
    return rows


def servers(served: StoreFeeds, host: Any) -> SyncServer:
    """Sync, inbox catch-up, fork proof and visit servers on ``host``; the sync server."""
    policing: dict[str, Any] = {
        "events": lambda _e: None,
        "penalise": lambda _who, reason: print(f"server penalised: {reason}"),
        "is_penalised": lambda _who: False,
    }
    server = SyncServer(served, LIMITS, key_of=public_key_of, **policing)
    host.set_stream_handler(DIGEST_PROTOCOL, server.handle_digests)
    host.set_stream_handler(CATCHUP_PROTOCOL, CatchupServer(served, LIMITS, **policing).handle)
    host.set_stream_handler(FORKS_PROTOCOL, ForksServer(served, LIMITS, **policing).handle)
    host.set_stream_handler(VISIT_PROTOCOL, VisitServer(served, LIMITS, server, **policing).handle)
    return server


async def run_rounds(work: Path, n: int, rounds: int) -> list[list[str]]:
    """A whole anti-entropy round with nothing new, on the old protocols and as a visit."""
    chains = [make_chain(ChainSpec(f"ar-{n}-{i}", 1, 200, BASE_MS, DAY_MS)) for i in range(n)]
    keys = [key for key, _ in chains]
    server_host = build_host(blake2b_256(b"round server %d" % n), CONFIG)
    reader_host = build_host(blake2b_256(b"round reader %d" % n), CONFIG)
    server_store, reader_store = Store(work / f"rs{n}"), Store(work / f"rr{n}")
    rows: list[list[str]] = []
    try:
        async with serving(server_host, CONFIG), serving(reader_host, CONFIG):
            server_key, reader_key = (public_key_of(h.get_id()) for h in (server_host, reader_host))
            assert server_key is not None and reader_key is not None
            served = StoreFeeds(server_store, server_key)
            read = StoreFeeds(reader_store, reader_key)
            for key, items in chains:
                served.ingest(key, items)
                read.ingest(key, items)
            read.wanted_feeds = lambda: keys  # type: ignore[method-assign]
            server = servers(served, server_host)
            peer = server_host.get_id()
            await reader_host.connect(PeerInfo(peer, server_host.get_addrs()))
            counting = CountingHost(reader_host, whole=True)
            police = {"penalise": lambda _who, reason: print(f"reader penalised: {reason}")}
            client = SyncClient(
                counting,
                read,
                LIMITS,
                events=lambda _e: None,
                key_of=public_key_of,
                newest_first=True,
                digests=True,
                **police,
            )
            catchup, forks = (
                CatchupClient(counting, LIMITS, **police),
                ForksClient(counting, LIMITS, **police),
            )
            visits = VisitClient(counting, LIMITS, **police)
            await client.sync_with(peer)
            vector = vector_digest((key, 1) for key in keys)
            await server.vectors.wait_remembered(reader_host.get_id(), vector)
            seen = refs_digest(await catchup.ask(peer, reader_key, 0))

            async def old_round() -> None:
                await client.sync_with(peer)
                await catchup.ask(peer, reader_key, 0)
                await forks.ask(peer, keys)

            async def visit_round() -> None:
                await visits.visit(peer, Visit(vector, (InboxCheck(reader_key, 0, seen),)), keys)

            for name, round_of in (
                ("sync/3 + inbox/1 + forks/1", old_round),
                ("visit/1", visit_round),
            ):
                times, sizes, streams = [], [], 0
                for _ in range(rounds):
                    counting.start_round()
                    started = time.perf_counter()
                    await round_of()
                    times.append(time.perf_counter() - started)
                    sizes.append(counting.tally[0])
                    streams = counting.streams
                rows.append(
                    [
                        f"{n:,}",
                        name,
                        str(streams),
                        f"{statistics.median(sizes):,.0f}",
                        f"{statistics.median(times) * 1000:.1f}",
                    ]
                )
    finally:
        server_store.close()
        reader_store.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10,100,1000,5000", help="feed counts (10,100,...)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds per protocol (7)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary dirs (default: system)"
    )
    parser.add_argument("--quick", action="store_true", help="N = 10 and 100, 3 rounds")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    if args.quick:
        sizes, args.rounds = [10, 100], 3
    rows: list[list[str]] = []
    whole: list[list[str]] = []
    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        for n in sizes:
            rows += trio.run(run_size, Path(tmp), n, args.rounds)
            whole += trio.run(run_rounds, Path(tmp), n, args.rounds)
    print_table(
        "an anti-entropy round with nothing to fetch (bytes both ways, median ms)",
        ["feeds", "protocol", "bytes", "ms", "ended at same"],
        rows,
    )
    print_table(
        "a whole round with nothing new: heights, inbox, forks (bytes both ways, median ms)",
        ["feeds", "protocols", "streams", "bytes", "ms"],
        whole,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
