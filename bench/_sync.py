"""Set-up shared by the benches that sync whole feeds from a server node to a fresh
reader node (``sync_throughput.py``, ``sync_links.py``, ``hypercore_side_by_side.py``).

Not part of lndesk. The server's data dir holds signed chains of ``post`` entries (one
author a feed, cached between runs with ``--cache``) and follows their authors; each run
starts a reader in a child process (:class:`_net.NodeProcess`) that dials the server and
is timed until it holds every entry.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BASE_MS, DAY_MS, ChainSpec, add_store_options, load_or_generate
from _net import NodeProcess, index_all_text, ingest_chains, make_reader


def add_sync_options(
    parser: argparse.ArgumentParser, *, timeout: float, logs: str, held: bool = False
) -> None:
    """The options of the benches that sync whole feeds from a server (``logs``: what
    ``--feeds`` counts; ``held``: offer ``--held``); parse with :func:`parse_sync_args`."""
    parser.add_argument("--entries", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--feeds", type=int, default=10, help=f"{logs} (default 10)")
    parser.add_argument("--payload", type=int, default=500, help="payload bytes (default 500)")
    parser.add_argument(
        "--timeout", type=float, default=timeout, help=f"give up a sync after ({timeout:.0f} s)"
    )
    if held:
        parser.add_argument(
            "--held",
            type=int,
            default=0,
            help="entries the reader already holds before each run: the oldest of the same "
            "feeds, their text indexed; the server holds these plus --entries newer ones (0)",
        )
    add_store_options(parser)
    parser.add_argument("--quick", action="store_true", help="small smoke run (10,000 entries)")


def parse_sync_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """The arguments, with ``--quick`` meaning 10,000 entries in 5 feeds."""
    args = parser.parse_args()
    if args.quick:
        args.entries, args.feeds = 10_000, 5
    return args


@dataclass(frozen=True, slots=True)
class SyncServer:
    """What :func:`prepare_sync_server` put in the server's data dir, and its timings."""

    feeds: list[bytes]
    total: int
    """Entries the server holds, and the reader once synced."""
    total_bytes: int
    """Bytes of the entries a run syncs (entry + payload)."""
    how: str
    gen_seconds: float
    stored: int
    ingest_seconds: float
    documents: int
    index_seconds: float
    held: int = 0
    """Entries each reader holds before its run (``--held``)."""
    template: Path | None = None
    """The data dir each reader starts as a copy of (None: a fresh one)."""

    @property
    def synced(self) -> int:
        """Entries a run syncs."""
        return self.total - self.held


def prepare_sync_server(data_dir: Path, args: argparse.Namespace) -> SyncServer:
    """``args.entries`` posts of ``args.payload`` bytes over ``args.feeds`` authors,
    signed (or loaded from the cache), ingested into ``data_dir`` whose identity follows
    the authors, and their text indexed (not timed as sync: the server's own indexer
    would do it once running, competing with the first sync for the cores)."""
    cache_dir = args.cache if args.cache is not None else data_dir.parent / "cache"
    per_feed, extra = divmod(args.entries, args.feeds)
    fresh = [per_feed + (1 if i < extra else 0) for i in range(args.feeds)]
    per_feed, extra = divmod(args.entries + getattr(args, "held", 0), args.feeds)
    specs = [
        ChainSpec(
            label=f"sync-author-{i}",
            posts=per_feed + (1 if i < extra else 0),
            payload_size=args.payload,
            first_ms=BASE_MS,
            span_ms=365 * DAY_MS,
        )
        for i in range(args.feeds)
    ]
    chains, gen_seconds, how = load_or_generate(specs, args.workers, cache_dir, "sync")
    feeds = [author for author, _ in chains]
    make_reader(data_dir, feeds)
    stored, ingest_seconds = ingest_chains(data_dir, chains)
    documents, index_seconds = index_all_text(data_dir)
    template, held = None, 0
    if getattr(args, "held", 0):
        # The oldest --held entries, as a reader that synced them earlier holds them.
        template = data_dir.parent / "reader-template"
        make_reader(template, feeds)
        older = [
            (author, items[: len(items) - new])
            for (author, items), new in zip(chains, fresh, strict=True)
        ]
        held, _ = ingest_chains(template, older)
        index_all_text(template)
    synced = [items[len(items) - new :] for (_, items), new in zip(chains, fresh, strict=True)]
    return SyncServer(
        feeds=feeds,
        total=sum(len(items) for _, items in chains),
        total_bytes=sum(len(raw) + len(payload or b"") for i in synced for raw, payload in i),
        how=how,
        gen_seconds=gen_seconds,
        stored=stored,
        ingest_seconds=ingest_seconds,
        documents=documents,
        index_seconds=index_seconds,
        held=held,
        template=template,
    )


@contextlib.contextmanager
def reader_node(
    work: Path,
    name: str,
    feeds: Iterable[bytes],
    *,
    newest_first: bool = True,
    gets: int | None = None,
    startup: float = 60,
    template: Path | None = None,
) -> Iterator[NodeProcess]:
    """A reader node in a child process, with a fresh identity (``work/name``) that
    follows ``feeds``, or a copy of the data dir ``template``; stopped on leaving the
    block."""
    data_dir = work / name
    if template is None:
        make_reader(data_dir, feeds)
    else:
        shutil.copytree(template, data_dir)
    reader = NodeProcess(
        data_dir, work / f"{name}.log", "reader", newest_first=newest_first, gets=gets, wait=False
    )
    try:
        reader.wait_started(timeout=startup)
        yield reader
    finally:
        reader.stop()


def sync_all(
    reader: NodeProcess, address: str, server: SyncServer, limit: float, profile: str = ""
) -> dict[str, Any]:
    """Dial the server at ``address`` and wait until the reader holds every entry (or
    ``limit`` seconds pass): the child's ``sync_until`` reply."""
    return reader.call(
        "sync_until",
        timeout=limit + 30,
        address=address,
        feeds=[feed.hex() for feed in server.feeds],
        total=server.total,
        limit=limit,
        profile=profile,
    )
