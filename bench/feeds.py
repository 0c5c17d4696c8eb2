"""Web feeds: 500 feeds of 50 items each served on 127.0.0.1, fetched by lndesk.

* first fetch: every feed followed and fetched once (Subscriptions.refresh_due): wall
  time, this process's CPU seconds, bytes downloaded, items stored;
* steady state: every feed refreshed again with nothing changed: each answer should be
  a 304 (conditional GET with the ETag and Last-Modified the first fetch stored): wall
  time, CPU seconds, bytes, 304 count;
* the timeline beside those 25,000 items: Store.timeline(own, limit=50) on the store of
  bench/timeline_query.py (1,000,000 entries by default), FeedStore.page(limit=50) of the
  items, the timeline's page of items (one card per link, naming the other feeds that
  bring it: lndesk.store.feedmerge), and posts and items merged newest first into one
  page of 50 (what a merged timeline costs). p50 / p99 / max over --runs queries each.

The HTTP server runs in a child process (its CPU is not counted here): a
ThreadingHTTPServer answering each feed with its document, an ETag and a Last-Modified,
and 304 when the request carries them.

    python bench/feeds.py            # 500 feeds x 50 items, 1,000,000 entries
    python bench/feeds.py --quick    # 50 feeds x 50 items, 20,000 entries
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import trio
from _common import (
    LATENCY_HEADER,
    identity_for,
    latency_row,
    load_or_generate,
    print_setup,
    print_setup_line,
    print_table,
    rate,
)
from timeline_query import build_store, chain_specs

from lndesk.app.subscriptions import Subscriptions
from lndesk.store.feedmerge import also_in, timeline_page
from lndesk.store.feedstore import NEWEST_ITEM, FeedStore
from lndesk.store.store import Store

LIMIT = 50
TARGET_MS = 20.0
MODIFIED = "Mon, 30 Nov 2026 09:00:00 GMT"


def feed_document(feed: int, items: int) -> bytes:
    entries = "".join(
        f"<item><title>Feed {feed} post {n}</title>"
        f"<link>https://feed{feed}.example/posts/{n}</link><guid>f{feed}-{n}</guid>"
        f"<pubDate>Mon, {1 + n % 28:02d} Nov 2026 {n % 24:02d}:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Notes on &lt;b&gt;retrieval practice&lt;/b&gt;, part {n}: "
        f'quiz before you teach, space it out, &lt;a href="/more/{n}"&gt;read more&lt;/a&gt;.'
        f"&lt;/p&gt;</description></item>"
        for n in range(items)
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel>'
        f"<title>Feed {feed}</title><link>https://feed{feed}.example/</link>"
        f"<description>bench</description>{entries}</channel></rss>"
    ).encode()


def serve(port_out: multiprocessing.Queue[int], feeds: int, items: int) -> None:
    documents = {f"/feed/{n}.xml": feed_document(n, items) for n in range(feeds)}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            body = documents.get(self.path)
            if body is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"{hash(body) & 0xFFFFFFFF:x}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", MODIFIED)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_out.put(server.server_address[1])
    server.serve_forever()


def fetch_all(subs: Subscriptions) -> tuple[float, float, list]:
    async def run() -> list:
        try:
            return await subs.refresh_due(everything=True)
        finally:
            await subs.aclose()

    wall, cpu = time.perf_counter(), time.process_time()
    outcomes = trio.run(run)
    return time.perf_counter() - wall, time.process_time() - cpu, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=500, help="feeds followed (500)")
    parser.add_argument("--items", type=int, default=50, help="items per feed (50)")
    parser.add_argument("--entries", type=int, default=1_000_000, help="posts in the store")
    parser.add_argument("--runs", type=int, default=200, help="timed queries per measure")
    parser.add_argument("--workers", type=int, default=2, help="signing processes (2)")
    parser.add_argument("--cache", type=Path, default=None, help="signed chains cache dir")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary store goes")
    parser.add_argument("--quick", action="store_true", help="50 feeds, 20,000 entries")
    args = parser.parse_args()
    if args.quick:
        args.feeds, args.entries, args.runs = 50, 20_000, 50
    # timeline_query's store: its defaults, at this size
    args.followed, args.unfollowed, args.own_posts = 200, 50, None
    args.payload_bytes, args.days, args.batch = 500, 365, 10_000

    queue: multiprocessing.Queue[int] = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(queue, args.feeds, args.items))
    server.daemon = True
    server.start()
    port = queue.get(timeout=30)
    try:
        with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
            work = Path(tmp)
            print_setup(
                "web feeds (lndesk.app.subscriptions on trio, httpx, feedparser)",
                [
                    ("feeds", f"{args.feeds} x {args.items} items, RSS 2.0 on 127.0.0.1"),
                    ("document", f"{len(feed_document(0, args.items)):,} bytes each"),
                    ("server", "a child process (its CPU is not counted)"),
                ],
            )
            store = FeedStore(work)
            for n in range(args.feeds):
                store.add(f"http://127.0.0.1:{port}/feed/{n}.xml", 0)
            wall, cpu, first = fetch_all(Subscriptions(store))
            stored = sum(o.new for o in first)
            got = sum(o.bytes_read for o in first)
            wall2, cpu2, again = fetch_all(Subscriptions(store))
            unchanged = sum(o.status == "unchanged" for o in again)
            bytes2 = sum(o.bytes_read for o in again)
            failed = [o.message for o in first + again if o.status == "failed"]
            print_table(
                "fetching",
                ["pass", "wall s", "CPU s", "feeds/s", "body bytes", "items stored", "304s"],
                [
                    [
                        "first fetch",
                        f"{wall:.2f}",
                        f"{cpu:.2f}",
                        rate(args.feeds, wall),
                        f"{got:,}",
                        f"{stored:,}",
                        "0",
                    ],
                    [
                        "refresh, nothing new",
                        f"{wall2:.2f}",
                        f"{cpu2:.2f}",
                        rate(args.feeds, wall2),
                        f"{bytes2:,}",
                        "0",
                        f"{unchanged} of {args.feeds}",
                    ],
                ],
            )
            if failed:
                print(f"failures: {len(failed)}, first: {failed[0]}")

            own = identity_for("timeline-own").public_key
            specs = chain_specs(args)
            cache = args.cache if args.cache is not None else work / "cache"
            chains, gen_seconds, how = load_or_generate(specs, args.workers, cache, "timeline")
            total = sum(len(items) for _, items in chains)
            build = build_store(work / "store", chains, args.batch)
            del chains
            print_setup_line(
                "store", f"{total:,} entries ({how} in {gen_seconds:.1f} s, built in {build:.1f} s)"
            )
            rows = measure(work / "store", own, store, args.runs)
            store.close()
    finally:
        server.terminate()
        server.join()
    print_table(
        f"timeline beside {stored:,} web feed items (limit {LIMIT})",
        [*LATENCY_HEADER, f"p99 < {TARGET_MS:.0f} ms"],
        rows,
    )
    return 0


def measure(directory: Path, own: bytes, feeds: FeedStore, runs: int) -> list[list[str]]:
    posts: list[float] = []
    items: list[float] = []
    cards: list[float] = []
    merged: list[float] = []
    with Store(directory) as store:
        store.timeline(own, limit=LIMIT)
        feeds.page(limit=LIMIT)
        for _ in range(runs):
            started = time.perf_counter()
            store.timeline(own, limit=LIMIT)
            posts.append(time.perf_counter() - started)
            started = time.perf_counter()
            feeds.page(limit=LIMIT)
            items.append(time.perf_counter() - started)
            started = time.perf_counter()
            shown_items = timeline_page(feeds, NEWEST_ITEM, LIMIT)
            also_in(feeds, shown_items)
            cards.append(time.perf_counter() - started)
            started = time.perf_counter()
            page = heapq.merge(
                ((e.entry.claimed_ms, "post", e) for e in store.timeline(own, limit=LIMIT)),
                ((i.published_ms, "item", i) for i in timeline_page(feeds, NEWEST_ITEM, LIMIT)),
                key=lambda row: row[0],
                reverse=True,
            )
            shown = [row for _, row in zip(range(LIMIT), page, strict=False)]
            merged.append(time.perf_counter() - started)
            assert len(shown) == LIMIT
    rows = []
    for label, seconds in (
        ("Store.timeline (posts)", posts),
        ("FeedStore.page (items)", items),
        ("timeline items, one card per link", cards),
        ("both, merged into one page", merged),
    ):
        row = latency_row(label, seconds)
        row.append("yes" if float(row[3]) < TARGET_MS else "no")
        rows.append(row)
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
