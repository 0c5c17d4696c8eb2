"""Timeline query latency on a large store, and the store's size per entry.

Builds a store of 1,000,000 entries (by default) across 200 feeds the user follows and
50 feeds the user does not follow, plus the user's own feed (its follow entries and
some posts). Chains are signed in a process pool, one chain per author, and cached in
a file under ``--cache`` (default: the temporary directory), then stored with
Store.ingest in large batches. It then measures Store.timeline(own, limit=50):

* cold: the first query after reopening the store (fresh SQLite connection), and the
  same after also asking the kernel to drop the store's files from the page cache;
* warm: repeated queries on an open store, and its SQL query alone (no log reads);
* paging: following pages from the previous page's last result (``older_than``, where
  the store offers it, and before_ms = its claimed_ms), and pages starting at random
  points in time (before_ms).

Target: p99 < 20 ms. Also prints how long a reopened store with its files dropped from
the page cache takes to open and show its first page (target: < 1 s at 1,000,000), and,
after indexing the staged text for search, bytes per entry of index.sqlite3 (+ -wal,
per table and index) and of entries.log after ``PRAGMA wal_checkpoint(TRUNCATE)``.

    python bench/timeline_query.py                        # 1,000,000 entries
    python bench/timeline_query.py --cache ~/.cache/lndesk-bench   # reuse signed chains
    python bench/timeline_query.py --quick                # 20,000 entries
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import (
    BASE_MS,
    DAY_MS,
    LATENCY_HEADER,
    ChainSpec,
    add_store_options,
    drop_os_cache,
    file_size,
    identity_for,
    latency_row,
    load_or_generate,
    percentile,
    print_setup,
    print_setup_line,
    print_table,
    rate,
)

from lndesk.store import idprefix
from lndesk.store.store import INDEX_NAME, LOG_NAME, Store, StoredEntry

TARGET_MS = 20.0
LIMIT = 50
INDEX_CHUNK = 5000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--entries", type=int, default=1_000_000, help="entries in the store (1000000)"
    )
    parser.add_argument("--followed", type=int, default=200, help="feeds followed (200)")
    parser.add_argument("--unfollowed", type=int, default=50, help="feeds not followed (50)")
    parser.add_argument(
        "--own-posts", type=int, default=None, help="own posts (default: 0.1%% of entries)"
    )
    parser.add_argument("--payload-bytes", type=int, default=500, help="payload size (500)")
    parser.add_argument("--days", type=int, default=365, help="time span of the entries (365)")
    parser.add_argument("--runs", type=int, default=200, help="timed queries per measure (200)")
    parser.add_argument("--batch", type=int, default=10_000, help="entries per ingest (10000)")
    add_store_options(parser)
    parser.add_argument("--seed", type=int, default=1, help="seed for random paging points")
    parser.add_argument("--quick", action="store_true", help="small smoke run (20,000 entries)")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.runs = 20_000, 50

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        cache_dir = args.cache if args.cache is not None else work / "cache"
        own = identity_for("timeline-own").public_key
        specs = chain_specs(args)
        chains, gen_seconds, how = load_or_generate(specs, args.workers, cache_dir, "timeline")
        total = sum(len(items) for _, items in chains)
        print_setup(
            "timeline query (Store.timeline(own, limit=50))",
            [
                ("entries", f"{total:,}"),
                (
                    "feeds",
                    f"{args.followed} followed + {args.unfollowed} not followed "
                    f"+ own ({specs[0].posts:,} posts, {len(specs[0].follows)} follows)",
                ),
                ("payload", f"{args.payload_bytes} bytes per post (text + 1 tag)"),
                ("time span", f"{args.days} days"),
                (
                    "signed chains",
                    f"{how} in {gen_seconds:.1f} s"
                    + (
                        f" ({rate(total, gen_seconds)} entries/s, {args.workers} processes)"
                        if how == "generated"
                        else ""
                    ),
                ),
            ],
        )

        directory = work / "store"
        build_seconds = build_store(directory, chains, args.batch)
        del chains
        print_setup_line(
            "store built",
            f"{build_seconds:.1f} s with Store.ingest "
            f"({rate(total, build_seconds)} entries/s, batches of {args.batch:,})",
        )

        documents, index_seconds = index_text(directory)
        print_setup_line(
            "text indexed",
            f"{documents:,} documents in {index_seconds:.1f} s "
            f"({rate(documents, index_seconds)} documents/s, Store.index_text in chunks of "
            f"{INDEX_CHUNK:,}), as the node's indexer would before these figures",
        )
        size_rows, count = measure_size(directory)
        allowed = {own, *specs[0].follows}
        results = measure_queries(directory, own, allowed, args)

    print_table("timeline latency (limit 50)", [*LATENCY_HEADER, "p99 < 20 ms"], results)
    print_table(
        f"size after wal_checkpoint(TRUNCATE), {count:,} entries",
        ["file / object", "bytes", "bytes/entry"],
        size_rows,
    )
    return 0


def chain_specs(args: argparse.Namespace) -> list[ChainSpec]:
    followed = [f"timeline-author-{i}" for i in range(args.followed)]
    others = [f"timeline-other-{i}" for i in range(args.unfollowed)]
    follows = tuple(identity_for(label).public_key for label in followed)
    own_posts = args.own_posts if args.own_posts is not None else max(10, args.entries // 1000)
    span = args.days * DAY_MS
    remaining = max(0, args.entries - own_posts - len(follows))
    authors = followed + others
    per_author, extra = divmod(remaining, max(1, len(authors)))
    specs = [ChainSpec("timeline-own", own_posts, args.payload_bytes, BASE_MS, span, follows)]
    for i, label in enumerate(authors):
        posts = per_author + (1 if i < extra else 0)
        specs.append(ChainSpec(label, posts, args.payload_bytes, BASE_MS, span))
    return specs


def build_store(directory: Path, chains: list, batch: int) -> float:
    started = time.perf_counter()
    with Store(directory) as store:
        for author, items in chains:
            for start in range(0, len(items), batch):
                store.ingest(author, items[start : start + batch])
    return time.perf_counter() - started


def index_text(directory: Path) -> tuple[int, float]:
    """Index every staged document (the node's background indexer's work): the sizes
    then include the full-text index. Returns (documents, seconds)."""
    started = time.perf_counter()
    with Store(directory) as store:
        documents = store.text_pending()
        while store.index_text(INDEX_CHUNK):
            pass
    return documents, time.perf_counter() - started


def measure_size(directory: Path) -> tuple[list[list[str]], int]:
    with Store(directory) as store:
        store.index.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = store.index.count_entries()
        try:
            objects = store.index.conn.execute(
                "SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
            ).fetchall()
        except sqlite3.Error:  # dbstat is an optional SQLite feature
            objects = []
        index_bytes = file_size(directory / INDEX_NAME)
        wal_bytes = file_size(directory / (INDEX_NAME + "-wal"))
        log_bytes = file_size(directory / LOG_NAME)

    def row(name: str, size: int) -> list[str]:
        return [name, f"{size:,}", f"{size / max(count, 1):.1f}"]

    rows = [
        row(f"{INDEX_NAME} + -wal", index_bytes + wal_bytes),
        *[row(f"  {name}", int(size)) for name, size in objects if size],
        row(LOG_NAME, log_bytes),
        row("total", index_bytes + wal_bytes + log_bytes),
        ["index / log", f"{(index_bytes + wal_bytes) / max(log_bytes, 1):.2f}x", ""],
    ]
    return rows, count


def measure_queries(
    directory: Path, own: bytes, allowed: set[bytes], args: argparse.Namespace
) -> list[list[str]]:
    runs = args.runs
    files = [directory / LOG_NAME, directory / INDEX_NAME, directory / (INDEX_NAME + "-wal")]
    reopen: list[float] = []
    cold_open: list[float] = []
    disk_cold: list[float] = []
    disk_cold_open: list[float] = []
    for dropped in (False, True):
        for _ in range(runs):
            if dropped:
                drop_os_cache(files)
            started = time.perf_counter()
            with Store(directory) as store:
                opened = time.perf_counter()
                page = store.timeline(own, limit=LIMIT)
                done = time.perf_counter()
            (disk_cold if dropped else reopen).append(done - opened)
            (disk_cold_open if dropped else cold_open).append(
                (done if dropped else opened) - started
            )
            check_page(page, allowed, None)

    warm: list[float] = []
    index_only: list[float] = []
    by_cursor: list[float] = []
    by_before: list[float] = []
    random_page: list[float] = []
    with Store(directory) as store:
        store.timeline(own, limit=LIMIT)
        for _ in range(runs):
            started = time.perf_counter()
            page = store.timeline(own, limit=LIMIT)
            warm.append(time.perf_counter() - started)
        check_page(page, allowed, None)
        first_ms, last_ms = time_range(store)

        # The index query alone: the exact SQL Store.timeline runs, without the log reads.
        conn = store.index.conn
        sql = capture_timeline_sql(store, own)
        plan = ["(could not capture the query)"]
        if sql is not None:
            for _ in range(runs):
                started = time.perf_counter()
                conn.execute(sql).fetchall()
                index_only.append(time.perf_counter() - started)
            explained = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plan = [f"{row[0]:>3} {row[1]:>3}  {row[3]}" for row in explained]

        # Next pages, as a reader scrolls: from the last result of the previous page.
        # After the oldest entry, start again from the newest.
        page = store.timeline(own, limit=LIMIT)
        for _ in range(runs):
            last = page[-1] if len(page) == LIMIT else None
            started = time.perf_counter()
            fresh = store.timeline(own, limit=LIMIT, older_than=last)
            by_cursor.append(time.perf_counter() - started)
            check_page(fresh, allowed, None, page if last is not None else None)
            page = fresh
        page = store.timeline(own, limit=LIMIT)
        for _ in range(runs):
            before = page[-1].entry.claimed_ms if len(page) == LIMIT else None
            started = time.perf_counter()
            page = store.timeline(own, limit=LIMIT, before_ms=before)
            by_before.append(time.perf_counter() - started)
            check_page(page, allowed, before)

        rng = random.Random(args.seed)
        for _ in range(runs):
            before = rng.randint(first_ms, last_ms)
            started = time.perf_counter()
            page = store.timeline(own, limit=LIMIT, before_ms=before)
            random_page.append(time.perf_counter() - started)
            check_page(page, allowed, before)

        # An id typed by a person (as `lndesk reply <id>` takes it): first with every id
        # still pending (as right after a sync, before the background indexer ran: the
        # pending entries are read), then folded into the id index as the indexer does.
        resolve = time_resolve(store, page)
        started = time.perf_counter()
        store.index.begin()
        idprefix.fold(store.index.conn, limit=None)
        store.index.commit()
        fold_seconds = time.perf_counter() - started
        resolve_folded = time_resolve(store, page)

    def row(label: str, seconds: list[float]) -> list[str]:
        ok = percentile(seconds, 99) * 1000 < TARGET_MS
        return [*latency_row(label, seconds), "yes" if ok else "NO"]

    print()
    print("query plan of the timeline query")
    print("--------------------------------")
    for line in plan:
        print(line)
    return [
        row("cold: first query after reopen", reopen),
        row("cold: reopen + OS cache dropped", disk_cold),
        row("warm: Store.timeline", warm),
        *([row("warm: index query only (SQL)", index_only)] if index_only else []),
        *([row("paging: next page (older_than)", by_cursor)] if by_cursor else []),
        row("paging: next page (before_ms)", by_before),
        row("paging: random before_ms", random_page),
        [*latency_row("(store open, not a query)", cold_open), ""],
        [*latency_row("(open + first page, OS cache dropped)", disk_cold_open), ""],
        [*latency_row("(id prefix lookup, ids pending)", resolve), ""],
        [*latency_row("(id prefix lookup, ids folded)", resolve_folded), ""],
        [*latency_row("(folding every pending id)", [fold_seconds]), ""],
    ]


def time_resolve(store: Store, page: list[StoredEntry]) -> list[float]:
    """Seconds of ``Store.resolve`` of the first 4 bytes (8 hex digits) of each id of
    ``page`` (3 bytes would name two entries now and then at a million)."""
    seconds = []
    for item in page[:10]:
        started = time.perf_counter()
        found = store.resolve(item.entry.id[:4])
        seconds.append(time.perf_counter() - started)
        assert found.entry.id == item.entry.id
    return seconds


def check_page(
    page: list, allowed: set[bytes], before: int | None, previous: list | None = None
) -> None:
    """Sanity: newest first, under before_ms, only own or followed feeds (never others),
    nothing repeated from the previous page."""
    times = [item.entry.claimed_ms for item in page]
    if times != sorted(times, reverse=True):
        raise SystemExit("timeline is not newest-first")
    if before is not None and times and times[0] >= before:
        raise SystemExit("timeline page is not older than before_ms")
    if any(item.entry.type not in ("post", "reply", "share") for item in page):
        raise SystemExit("timeline returned a non-post entry")
    if any(item.entry.author not in allowed for item in page):
        raise SystemExit("timeline returned an entry of a feed that is not followed")
    if previous and {i.entry.id for i in page} & {i.entry.id for i in previous}:
        raise SystemExit("timeline page repeats entries of the previous page")


def time_range(store: Store) -> tuple[int, int]:
    low, high = store.index.conn.execute(
        "SELECT MIN(claimed_ms), MAX(claimed_ms) FROM entries"
    ).fetchone()
    return int(low), int(high) + 1


def capture_timeline_sql(store: Store, own: bytes) -> str | None:
    """The SQL (parameters expanded) that Store.timeline runs for the first page."""
    statements: list[str] = []
    conn = store.index.conn
    conn.set_trace_callback(statements.append)
    try:
        store.timeline(own, limit=LIMIT)
    finally:
        conn.set_trace_callback(None)
    selects = [s for s in statements if "ORDER BY" in s and "claimed_ms" in s]
    return selects[-1] if selects else None


if __name__ == "__main__":
    raise SystemExit(main())
