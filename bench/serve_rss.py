"""Serve memory: peak RSS of ``lndesk serve`` on a large data dir while a reader syncs.

Builds (or reuses, with ``--data-dir``) a data dir whose identity follows ``--feeds``
feeds holding ``--entries`` signed ``post`` entries in all (~500-byte payloads; default
1,000,000 = 200 feeds x 5,000), then starts ``python -m lndesk serve --port 0 --no-mdns``
on it in a child process and times its startup until it prints its 127.0.0.1 address.
A reader node (another child process, fresh identity) follows a sample of the feeds
(``--sample`` entries, whole feeds), connects and syncs them. The serve process's peak
RSS (``VmHWM`` in ``/proc/<pid>/status``) and current RSS are read when it has started,
after the reader holds the sample, and at the end (after ``--idle`` seconds with the
reader gone), before it is stopped with SIGTERM.

    python bench/serve_rss.py                        # 1,000,000 entries (builds for minutes)
    python bench/serve_rss.py --data-dir D           # build once into D, reuse it later
    python bench/serve_rss.py --quick                # 20,000 entries, 5,000 synced
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

from _common import BASE_MS, DAY_MS, ChainSpec, identity_for, print_setup, print_table, rate
from _net import (
    LOOPBACK,
    ChildError,
    LineProcess,
    NodeProcess,
    build_server,
    held_entries,
    make_reader,
    vm_status,
)

from lndesk.app.datadir import KEY_NAME

TARGET_MB = 400


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="entries to build (1000000)")
    parser.add_argument("--feeds", type=int, default=200, help="feeds to build (200)")
    parser.add_argument("--payload-bytes", type=int, default=500, help="payload size (500)")
    parser.add_argument(
        "--sample", type=int, default=50_000, help="entries the reader syncs, whole feeds (50000)"
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="serve this data dir; built there if it does not exist (kept for reuse)",
    )
    parser.add_argument("--workers", type=int, default=2, help="signing processes (default 2)")
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary dirs (default: system)"
    )
    parser.add_argument("--idle", type=float, default=3.0, help="seconds idle before the end (3)")
    parser.add_argument("--timeout", type=float, default=600, help="give up a sync after (600 s)")
    parser.add_argument("--quick", action="store_true", help="20,000 entries in 20 feeds")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.feeds, args.sample, args.idle = 20_000, 20, 5_000, 1.0

    per_feed, extra = divmod(args.entries, args.feeds)
    specs = [
        ChainSpec(
            label=f"serve-author-{i}",
            posts=per_feed + (1 if i < extra else 0),
            payload_size=args.payload_bytes,
            first_ms=BASE_MS,
            span_ms=365 * DAY_MS,
        )
        for i in range(args.feeds)
    ]
    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        server_dir = args.data_dir if args.data_dir is not None else work / "server"
        build_note = reuse_or_build(server_dir, specs, args.workers)
        feeds_held, entries_held = held_entries(server_dir)
        sample_specs = pick_sample(specs, args.sample)
        sample_feeds = [identity_for(spec.label).public_key for spec in sample_specs]
        sample_total = sum(spec.posts for spec in sample_specs)
        print()
        print_setup(
            "serve memory (lndesk serve, peak RSS)",
            [
                ("data dir", f"{entries_held:,} entries in {feeds_held} feeds ({build_note})"),
                ("store size", f"{dir_size(server_dir) / 1e6:,.0f} MB on disk"),
                ("reader syncs", f"{sample_total:,} entries of {len(sample_feeds)} feeds"),
            ],
        )

        reader_dir = work / "reader"
        make_reader(reader_dir, sample_feeds)
        argv = [
            sys.executable,
            "-m",
            "lndesk",
            "serve",
            "--data-dir",
            str(server_dir),
            "--port",
            "0",
            "--no-mdns",
        ]
        serve = LineProcess(argv, work / "serve.log", "lndesk serve")
        reader: NodeProcess | None = None
        marks: list[tuple[str, dict[str, int]]] = []
        try:
            at, line = serve.wait_for(lambda text: LOOPBACK in text, timeout=300)
            startup = at - serve.started_at
            address = line.strip()
            serve.wait_for(lambda text: "stop with" in text, timeout=30)
            marks.append(("started", vm_status(serve.pid)))

            reader = NodeProcess(reader_dir, work / "reader.log", "reader")
            result = reader.call(
                "sync_until",
                timeout=args.timeout + 30,
                address=address,
                feeds=[feed.hex() for feed in sample_feeds],
                total=sample_total,
                limit=args.timeout,
            )
            marks.append(("after the reader's sync", vm_status(serve.pid)))
            reader.stop()
            reader = None
            time.sleep(args.idle)
            marks.append((f"end (reader gone, {args.idle:.0f} s idle)", vm_status(serve.pid)))
        except ChildError as exc:
            print(f"\nFAILED: {exc}")
            print(f"serve log:\n{serve.log_tail()}")
            return 1
        finally:
            if reader is not None:
                reader.stop()
            rc = serve.terminate()

        print_table(
            "lndesk serve memory (MB; peak = VmHWM, now = VmRSS = anonymous + file + shmem)",
            ["moment", "peak RSS", "RSS now", "anonymous", "file", "shmem"],
            [
                [
                    name,
                    *(
                        mb(status.get(k))
                        for k in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem")
                    ),
                ]
                for name, status in marks
            ],
        )
        peak = max(status.get("VmHWM", 0) for _, status in marks) / 1024
        print_table(
            "summary",
            ["figure", "value"],
            [
                ["serve startup (until address printed)", f"{startup:.2f} s"],
                [
                    "reader sync",
                    f"{result['stored']:,} entries in {result['seconds']:.2f} s "
                    f"({rate(result['stored'], result['seconds'])} entries/s)",
                ],
                ["serve peak RSS", f"{peak:,.0f} MB"],
                ["serve exit status", str(rc)],
                ["target", f"peak RSS < {TARGET_MB} MB"],
                ["result", "meets target" if peak < TARGET_MB else "ABOVE TARGET"],
            ],
        )
        if result["held"] < sample_total:
            print(f"\nWARNING: the reader holds {result['held']:,} of {sample_total:,}")
    return 0


def reuse_or_build(server_dir: Path, specs: list[ChainSpec], workers: int) -> str:
    if (server_dir / KEY_NAME).exists():
        return "reused"
    total = sum(spec.posts for spec in specs)
    print(f"building {total:,} entries in {len(specs)} feeds into a data dir ...", flush=True)
    last = [time.perf_counter()]
    started = last[0]

    def progress(stored: int, _ingest_s: float) -> None:
        now = time.perf_counter()
        if now - last[0] >= 10 or stored == total:
            last[0] = now
            print(
                f"  {stored:,} / {total:,} entries ({now - started:.0f} s)",
                flush=True,
            )

    _, stored, seconds, ingest_s = build_server(server_dir, specs, workers, progress=progress)
    return (
        f"built in {seconds:.0f} s: signing in {workers} processes, "
        f"ingest {rate(stored, ingest_s)} entries/s"
    )


def pick_sample(specs: list[ChainSpec], sample: int) -> list[ChainSpec]:
    """Whole feeds, spread over the list, adding up to at least ``sample`` entries."""
    per_feed = max(1, specs[0].posts)
    count = min(len(specs), max(1, math.ceil(sample / per_feed)))
    step = len(specs) / count
    return [specs[int(i * step)] for i in range(count)]


def dir_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mb(kb: int | None) -> str:
    return "-" if kb is None else f"{kb / 1024:,.0f}"


if __name__ == "__main__":
    raise SystemExit(main())
