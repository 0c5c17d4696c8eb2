"""Sync throughput: a reader node fetches whole feeds from a server node over loopback.

Setup (not timed as sync): chains of ``post`` entries (~500-byte payloads, ``--feeds``
authors, signed in a process pool as in ingest_rate.py) are ingested into a server data
dir whose identity follows those feeds, in batches of 2,000; that ingest is timed and
is the store-only rate of the same data (no network) for comparison. The server node
runs in a child process. Each run starts a reader node in another child process, with a
fresh identity that follows the feeds; the reader dials the server and the clock runs
from the dial until the reader's store holds every entry (contiguous heights; every
entry authenticated by ``Store.ingest``). Both nodes use the sync protocol's default
limits and run on 127.0.0.1 without mDNS, DHT or relay.

Reported per run: seconds, entries/s, MB/s (entry + payload bytes), time from the dial
until the first batch was stored, the reader's and the server's CPU seconds during the
sync (from each process's getrusage) and the number of batches; then how many synced
documents were not yet indexed for search when the clock stopped (the reader's
background indexer waits while a sync stores batches, so normally all of them) and how
many seconds later the indexer had indexed them all. The server's text is indexed before it
starts. ``--profile`` adds one more run with the reader under cProfile (not counted) and
prints its top functions; ``--profile-server-out FILE`` profiles the server during that run
too, prints its top functions and keeps its data in FILE.

    python bench/sync_throughput.py                 # 100,000 entries, target >= 20,000/s
    python bench/sync_throughput.py --oldest-first  # the reader asks oldest entries first
    python bench/sync_throughput.py --quick         # 10,000 entries, 1 run
"""

from __future__ import annotations

import argparse
import io
import pstats
import shutil
import statistics
import tempfile
from pathlib import Path

from _common import print_setup, print_table, rate
from _net import ChildError, NodeProcess, cpu_seconds
from _sync import add_sync_options, parse_sync_args, prepare_sync_server, reader_node, sync_all

TARGET = 20_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    order = parser.add_mutually_exclusive_group()
    order.add_argument(
        "--newest-first",
        dest="newest_first",
        action="store_true",
        default=True,
        help="the reader fetches far-behind feeds newest range first (default)",
    )
    order.add_argument(
        "--oldest-first", dest="newest_first", action="store_false", help="oldest first"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed syncs, fresh reader each (3)")
    parser.add_argument(
        "--profile", action="store_true", help="one more run, reader under cProfile"
    )
    parser.add_argument("--top", type=int, default=25, help="profile rows to print (25)")
    parser.add_argument(
        "--profile-out",
        type=Path,
        default=None,
        help="with --profile: keep the reader's cProfile data in this file (pstats format)",
    )
    parser.add_argument(
        "--profile-server-out",
        type=Path,
        default=None,
        help="one more run (as --profile), the server under cProfile: its data in this file",
    )
    add_sync_options(parser, timeout=600, logs="authors' feeds", held=True)
    args = parse_sync_args(parser)
    if args.quick:
        args.runs = 1
    if args.profile_server_out is not None:
        args.profile = True

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        data = prepare_sync_server(work / "server", args)
        total, total_bytes = data.synced, data.total_bytes
        if data.stored != data.total:
            print(f"WARNING: the server stored {data.stored:,} of {data.total:,} entries")
        store_rate = data.total / data.ingest_seconds
        print_setup(
            "sync throughput (two nodes over loopback, full authentication)",
            [
                ("entries", f"{total:,} in {len(data.feeds)} feeds"),
                (
                    "reader holds",
                    f"{data.held:,} older entries of the same feeds before each run"
                    if data.held
                    else "nothing before each run",
                ),
                ("bytes", f"{total_bytes / 1e6:,.1f} MB (entries + payloads)"),
                ("order", "newest first" if args.newest_first else "oldest first"),
                (
                    "signed chains",
                    f"{data.how} in {data.gen_seconds:.1f} s"
                    + (
                        f" ({rate(data.total, data.gen_seconds)} entries/s)"
                        if data.how == "generated"
                        else ""
                    ),
                ),
                (
                    "store ingest",
                    f"{data.ingest_seconds:.2f} s into the server (batches of 2,000)",
                ),
                (
                    "server's text",
                    f"{data.documents:,} documents indexed in {data.index_seconds:.2f} s"
                    " before it starts",
                ),
            ],
        )

        server = None
        rows = []
        results = []
        try:
            server = NodeProcess(work / "server", work / "server.log", "server")
            print(f"{'server start'.ljust(14)}  {server.info['seconds']:.2f} s until listening")
            for run in range(args.runs + (1 if args.profile else 0)):
                profiled = run == args.runs
                with reader_node(
                    work,
                    f"reader-{run}",
                    data.feeds,
                    newest_first=args.newest_first,
                    template=data.template,
                ) as reader:
                    profile = str(work / "reader.prof") if profiled else ""
                    profile_server = profiled and args.profile_server_out is not None
                    if profile_server:
                        server.call("profile_start")
                    before = server.call("rusage")
                    result = sync_all(reader, server.address, data, args.timeout, profile)
                    after = server.call("rusage")
                    if profile_server:
                        server.call("profile_stop", path=str(work / "server.prof"))
                result["server_cpu"] = cpu_seconds(before, after)
                if profiled:
                    rows.append(run_row("profiled (not counted)", result, total, total_bytes))
                    continue
                results.append(result)
                if result["held"] < data.total:
                    print(
                        f"WARNING: run {run + 1}: the reader holds {result['held']:,} "
                        f"of {data.total:,}"
                    )
                rows.append(run_row(f"run {run + 1} of {args.runs}", result, total, total_bytes))
        except ChildError as exc:
            print(f"\nFAILED: {exc}")
            return 1
        finally:
            if server is not None:
                server.stop()

        median = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]
        print_table(
            "sync runs (clock: from the reader's dial until it holds every entry)",
            [
                "run",
                "seconds",
                "entries/s",
                "MB/s",
                "first batch ms",
                "reader CPU s",
                "server CPU s",
                "batches",
                "text unindexed",
                "indexed +s",
            ],
            rows,
        )
        sync_rate = total / median["seconds"]
        print_table(
            "summary",
            ["figure", "value"],
            [
                ["sync rate (median run)", f"{sync_rate:,.0f} entries/s"],
                [
                    "sync bandwidth (median run)",
                    f"{total_bytes / median['seconds'] / 1e6:.1f} MB/s",
                ],
                [
                    "time to first batch (median)",
                    f"{statistics.median(r['first_batch'] for r in results) * 1e3:.0f} ms",
                ],
                ["store-only ingest, same data", f"{store_rate:,.0f} entries/s"],
                ["sync rate / store-only rate", f"{sync_rate / store_rate:.2f}x"],
                [
                    "CPU per entry, reader / server",
                    f"{median['cpu'] / total * 1e6:.1f} / "
                    f"{median['server_cpu'] / total * 1e6:.1f} us",
                ],
                ["target", f">= {TARGET:,} entries/s"],
                ["result", "meets target" if sync_rate >= TARGET else "BELOW TARGET"],
            ],
        )
        if args.profile:
            print_profile(work / "reader.prof", args.top, "reader")
            if args.profile_out is not None:
                shutil.copyfile(work / "reader.prof", args.profile_out)
        if args.profile_server_out is not None:
            print_profile(work / "server.prof", args.top, "server")
            shutil.copyfile(work / "server.prof", args.profile_server_out)
    return 0


def run_row(label: str, result: dict, total: int, total_bytes: int) -> list[str]:
    seconds = result["seconds"]
    return [
        label,
        f"{seconds:.2f}",
        rate(total, seconds),
        f"{total_bytes / seconds / 1e6:.1f}",
        f"{result['first_batch'] * 1e3:.0f}" if result["first_batch"] is not None else "-",
        f"{result['cpu']:.2f}",
        f"{result['server_cpu']:.2f}",
        str(result["batches"]),
        f"{result['text_pending']:,}",
        f"{result['indexed_after']:.2f}",
    ]


def print_profile(path: Path, top: int, node: str) -> None:
    for order, title in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        out = io.StringIO()
        stats = pstats.Stats(str(path), stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        text = out.getvalue()
        body = text[text.index("   ncalls") :] if "   ncalls" in text else text
        print()
        print(f"{node} cProfile (extra run), top {top} by {title}")
        print(body.rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
