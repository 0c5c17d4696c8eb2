"""Ingest rate: store foreign entries through Store.ingest with full authentication.

Pre-signs chains of ``post`` entries (text + one tag, ~500-byte payloads), then feeds
them to a fresh store in the sync protocol's batches of 2,000, oldest first, exactly as
received entries arrive: decode, payload hash check, hash-chain check, one signature
per batch, content parsing, a fdatasync'd log append and one index transaction per
batch. For comparison the same run measures per-entry signature verification alone
(what ingest would cost if every entry were verified) and the per-entry cost of the
CPU steps of ingest in isolation. ``--profile`` adds a cProfile of a second ingest.

    python bench/ingest_rate.py                  # 100,000 entries, target >= 50,000/s
    python bench/ingest_rate.py --profile        # plus the top functions
    python bench/ingest_rate.py --quick          # 10,000 entries
    python bench/ingest_rate.py --newest-first   # each feed's batches last to first
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import (
    BASE_MS,
    DAY_MS,
    ChainSpec,
    Item,
    add_store_options,
    load_or_generate,
    print_setup,
    print_table,
    rate,
)

from lndesk.content import parse_content
from lndesk.entry import decode_entry
from lndesk.store.logfile import KIND_ENTRY, encode_record
from lndesk.store.store import Store

TARGET = 50_000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=100_000, help="entries (default 100000)")
    parser.add_argument("--authors", type=int, default=10, help="foreign feeds (default 10)")
    parser.add_argument("--batch", type=int, default=2000, help="entries per ingest (2000)")
    parser.add_argument("--payload-bytes", type=int, default=500, help="payload size (500)")
    parser.add_argument(
        "--verify-count", type=int, default=20_000, help="entries for verify-only (20000)"
    )
    add_store_options(parser)
    parser.add_argument("--repeat", type=int, default=3, help="timed ingests into fresh stores (3)")
    parser.add_argument("--profile", action="store_true", help="cProfile a second ingest")
    parser.add_argument("--top", type=int, default=25, help="profile rows to print (25)")
    parser.add_argument("--quick", action="store_true", help="small smoke run (10,000 entries)")
    parser.add_argument(
        "--newest-first",
        action="store_true",
        help="each feed's batches last to first, as a newest-first sync stores them",
    )
    args = parser.parse_args()
    if args.quick:
        args.entries, args.authors, args.verify_count, args.repeat = 10_000, 5, 2_000, 1

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        cache_dir = args.cache if args.cache is not None else work / "cache"
        per_author, extra = divmod(args.entries, args.authors)
        specs = [
            ChainSpec(
                label=f"ingest-author-{i}",
                posts=per_author + (1 if i < extra else 0),
                payload_size=args.payload_bytes,
                first_ms=BASE_MS,
                span_ms=365 * DAY_MS,
            )
            for i in range(args.authors)
        ]
        chains, gen_seconds, how = load_or_generate(specs, args.workers, cache_dir, "ingest")
        total = sum(len(items) for _, items in chains)
        sample_payload = chains[0][1][0][1] or b""
        print_setup(
            "ingest rate (Store.ingest, full authentication)",
            [
                (
                    "entries",
                    f"{total:,} in {len(chains)} feeds, "
                    + ("batches newest first" if args.newest_first else "ascending"),
                ),
                ("payload", f"{len(sample_payload)} bytes (post: text + 1 tag)"),
                ("batch", f"{args.batch:,} entries per Store.ingest call"),
                (
                    "signed chains",
                    f"{how} in {gen_seconds:.1f} s"
                    + (f" ({rate(total, gen_seconds)} entries/s)" if how == "generated" else ""),
                ),
            ],
        )

        runs = []
        cpu_runs = []
        batch_times: list[float] = []
        for attempt in range(args.repeat):
            seconds, cpu, times, stored = run_ingest(
                work / f"store-{attempt}", chains, args.batch, newest_first=args.newest_first
            )
            if stored != total:
                print(f"\nWARNING: stored {stored:,} of {total:,} entries")
            runs.append(seconds)
            cpu_runs.append(cpu)
            batch_times.extend(times)
        ingest_seconds = sorted(runs)[len(runs) // 2]
        ingest_cpu = sorted(cpu_runs)[len(cpu_runs) // 2]

        verify_n = min(args.verify_count, total)
        sample = [item for _, items in chains for item in items][:verify_n]
        entries = [decode_entry(raw) for raw, _ in sample]
        started = time.perf_counter()
        for entry in entries:
            entry.verify_signature()
        verify_seconds = time.perf_counter() - started

        ingest_rate = total / ingest_seconds
        verify_rate = verify_n / verify_seconds
        batch_times.sort()
        print_table(
            "throughput",
            ["measure", "entries", "seconds", "entries/s"],
            [
                *(
                    throughput_row(f"Store.ingest, run {i + 1} of {len(runs)}", total, seconds)
                    for i, seconds in enumerate(runs)
                ),
                throughput_row("Store.ingest (median run)", total, ingest_seconds),
                throughput_row("Entry.verify_signature only", verify_n, verify_seconds),
            ],
        )
        batch_p50 = batch_times[len(batch_times) // 2] * 1e3
        print_table(
            "summary",
            ["figure", "value"],
            [
                ["ingest rate (median run)", f"{ingest_rate:,.0f} entries/s"],
                ["ingest rate / verify-only rate", f"{ingest_rate / verify_rate:.2f}x"],
                ["ingest per entry", f"{1e6 / ingest_rate:.1f} us"],
                # CPU of the ingesting thread: what a shared, loaded machine distorts least.
                ["ingest CPU per entry (median run)", f"{ingest_cpu / total * 1e6:.1f} us"],
                ["verify_signature per entry", f"{1e6 / verify_rate:.1f} us"],
                ["batch p50 / max", f"{batch_p50:.1f} / {batch_times[-1] * 1e3:.1f} ms"],
                ["target", f">= {TARGET:,} entries/s"],
                ["result", "meets target" if ingest_rate >= TARGET else "BELOW TARGET"],
            ],
        )

        print_table(
            "CPU steps of ingest in isolation (same entries, no store)",
            ["step", "us/entry", "CPU us/entry", "entries/s"],
            component_rows(sample),
        )

        if args.profile:
            profile_ingest(work / "profiled", chains, args.batch, args.top, args.newest_first)
    return 0


def throughput_row(label: str, count: int, seconds: float) -> list[str]:
    return [label, f"{count:,}", f"{seconds:.2f}", rate(count, seconds)]


def run_ingest(
    directory: Path,
    chains: list[tuple[bytes, list[Item]]],
    batch: int,
    *,
    newest_first: bool = False,
) -> tuple[float, float, list[float], int]:
    """Wall seconds, CPU seconds of this thread, per-batch wall seconds, entries stored.
    ``newest_first``: each feed's batches from its last to its first (each batch still
    ascending), so every batch after the first is stored below stored entries."""
    store = Store(directory)
    batch_times = []
    stored = 0
    try:
        started = time.perf_counter()
        cpu_started = time.thread_time()
        for author, items in chains:
            starts = range(0, len(items), batch)
            for start in reversed(starts) if newest_first else starts:
                began = time.perf_counter()
                result = store.ingest(author, items[start : start + batch])
                batch_times.append(time.perf_counter() - began)
                stored += result.stored
        elapsed = time.perf_counter() - started
        cpu = time.thread_time() - cpu_started
    finally:
        store.close()
    return elapsed, cpu, batch_times, stored


def component_rows(sample: list[Item]) -> list[list[str]]:
    entries = [decode_entry(raw) for raw, _ in sample]
    pairs = list(zip(entries, (p for _, p in sample), strict=True))

    def timed(fn: Callable[[], object]) -> list[str]:
        started = time.perf_counter()
        cpu_started = time.thread_time()
        fn()
        cpu = time.thread_time() - cpu_started
        seconds = time.perf_counter() - started
        return [
            f"{seconds / len(sample) * 1e6:.2f}",
            f"{cpu / len(sample) * 1e6:.2f}",
            rate(len(sample), seconds),
        ]

    steps: list[tuple[str, Callable[[], object]]] = [
        ("decode_entry", lambda: [decode_entry(raw) for raw, _ in sample]),
        ("Entry.check_payload", lambda: [e.check_payload(p or b"") for e, p in pairs]),
        ("parse_content (post)", lambda: [parse_content(e.type, p or b"") for e, p in pairs]),
        (
            "encode_record",
            lambda: [encode_record(KIND_ENTRY, BASE_MS, e.raw, p) for e, p in pairs],
        ),
    ]
    return [[name, *timed(fn)] for name, fn in steps]


def profile_ingest(
    directory: Path,
    chains: list[tuple[bytes, list[Item]]],
    batch: int,
    top: int,
    newest_first: bool,
) -> None:
    profiler = cProfile.Profile()
    profiler.enable()
    elapsed, _, _, _ = run_ingest(directory, chains, batch, newest_first=newest_first)
    profiler.disable()
    total = sum(len(items) for _, items in chains)
    print()
    print(f"cProfile of a second ingest into a fresh store ({total:,} entries)")
    print(f"(profiler overhead included: {elapsed:.2f} s, {rate(total, elapsed)} entries/s)")
    for order, title in (("cumulative", "cumulative time"), ("tottime", "total (own) time")):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        text = out.getvalue()
        # Drop pstats' preamble up to the column header.
        body = text[text.index("   ncalls") :] if "   ncalls" in text else text
        print()
        print(f"top {top} by {title}")
        print(body.rstrip())


if __name__ == "__main__":
    raise SystemExit(main())
