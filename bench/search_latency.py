"""Search latency: full-text search (lndesk.store.search) over a store of realistic posts.

Builds a store of ``--entries`` signed ``post`` entries (default 1,000,000 in 200 feeds,
over a year): each post is 20 to 80 words drawn from a 40,000-word vocabulary with a
Zipf distribution (the most common words are English function words, so "the" is in
most posts), with 0 to 3 tags from a Zipf-distributed list of 300. Chains are signed in
a pool of ``--workers`` and ingested as they arrive, in batches of 2,000 as a sync
stores them. ``--store DIR`` keeps the built store there and reuses it on later runs.

Then it times ``search`` over a fixed mix of query classes (``--runs`` queries each,
drawn with a fixed seed): a rare word, a common word, two words, a quoted phrase taken
from a stored post, a prefix (a word being typed), and a word with an author, a tag or
a 30-day date filter, plus a tag alone (a listing without words). p50 / p90 / p99 / max
per class and over all queries, and the p50 / p95 of the CPU time the searching thread
used (on a shared machine the wall clock waits for a core); target: overall p50 < 50 ms.

Storing a post only stages its text; the build then indexes the backlog the way the
node's background indexer does (``Store.index_text`` in chunks of ``--chunk``) and
reports how fast that drains (documents/s).

Last, the sync path: ``Store.ingest`` of ``--ingest-entries`` of the same posts into a
fresh store as it is (text staged), with the text indexed inside every ingest as
before deferred indexing (``Store.index_text`` of the whole batch right after it), and
with no text at all (``FullText.add`` replaced by a no-op), best of two runs each; and
how fast the staged store's backlog then drains in chunks of ``--chunk``.

    python bench/search_latency.py                    # 1,000,000 entries (builds for minutes)
    python bench/search_latency.py --store DIR        # build once into DIR, reuse it later
    python bench/search_latency.py --entries 50000    # a quick run
"""

from __future__ import annotations

import argparse
import bisect
import itertools
import json
import multiprocessing
import random
import sqlite3
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from _common import (
    BASE_MS,
    DAY_MS,
    Item,
    identity_for,
    percentile,
    print_setup,
    print_setup_line,
    print_table,
    rate,
    seed_for,
)

import lndesk.store.fulltext as fulltext_module
from lndesk.content import Post, encode_content
from lndesk.entry import create_entry
from lndesk.store.fulltext import FullText
from lndesk.store.search import SearchQuery, search
from lndesk.store.store import LOG_NAME, Store

TARGET_MS = 50.0
BATCH = 2000
MARKER = "search-bench.json"


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


COMMON = _words(
    "the of and to a in is that for it as with was on be by this are or at from but not "
    "have an they which one you were all we can there has more their if will about so "
    "what when would up out them some into than then its only other also how most these "
    "learning students teaching class lesson reading practice notes question ideas"
)
SYLLABLES = _words(
    "ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko ku la le li lo lu ma me mi mo "
    "mu na ne ni no nu pa pe pi po pu ra re ri ro ru sa se si so su ta te ti to tu va ve "
    "vi vo za ze zi zo an en in on ar er or al el il str pl gr tr cl"
)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """One author's chain of ``posts`` posts, claimed over ``span_ms`` from ``first_ms``."""

    label: str
    posts: int
    first_ms: int
    span_ms: int


# --- realistic text -----------------------------------------------------------------


class Language:
    """A deterministic vocabulary with Zipf-distributed word and tag frequencies."""

    def __init__(self, words: int = 40_000, tags: int = 300, exponent: float = 1.05) -> None:
        rng = random.Random(seed_for("search-bench/vocabulary"))
        vocabulary = list(COMMON)
        seen = set(vocabulary)
        while len(vocabulary) < words:
            word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
            if word not in seen:
                seen.add(word)
                vocabulary.append(word)
        self.words = vocabulary
        self.tags = [f"topic-{n}" for n in range(tags)]
        self._word_cum = list(itertools.accumulate(1 / (r + 1) ** exponent for r in range(words)))
        self._tag_cum = list(itertools.accumulate(1 / (r + 1) for r in range(tags)))

    def text(self, rng: random.Random) -> str:
        count = rng.randint(20, 80)
        return " ".join(rng.choices(self.words, cum_weights=self._word_cum, k=count))

    def post_tags(self, rng: random.Random) -> tuple[str, ...]:
        count = rng.choice((0, 1, 1, 2, 3))
        return tuple(dict.fromkeys(rng.choices(self.tags, cum_weights=self._tag_cum, k=count)))

    def rank_of(self, fraction: float) -> int:
        """The word rank below which ``fraction`` of all word occurrences fall."""
        return bisect.bisect_left(self._word_cum, fraction * self._word_cum[-1])


_LANGUAGE: Language | None = None


def language() -> Language:
    global _LANGUAGE  # noqa: PLW0603 - one per process, built lazily in each worker
    if _LANGUAGE is None:
        _LANGUAGE = Language()
    return _LANGUAGE


def make_feed(spec: FeedSpec) -> tuple[bytes, list[Item]]:
    """Sign ``spec``'s chain of posts. Returns (author public key, [(entry, payload)])."""
    identity = identity_for(spec.label)
    rng = random.Random(seed_for(spec.label + "/text"))
    words = language()
    phase = int.from_bytes(seed_for(spec.label + "/phase")[:4], "big") / 2**32
    step = spec.span_ms / max(spec.posts, 1)
    items: list[Item] = []
    prev = None
    for position in range(spec.posts):
        payload = encode_content(Post(words.text(rng), tags=words.post_tags(rng)))
        entry = create_entry(
            identity,
            seq=position + 1,
            prev=prev,
            claimed_ms=spec.first_ms + int((position + phase) * step),
            type="post",
            payload=payload,
        )
        items.append((entry.raw, payload))
        prev = entry.id
    return identity.public_key, items


def feed_specs(entries: int, feeds: int, label: str) -> list[FeedSpec]:
    per_feed, extra = divmod(entries, feeds)
    return [
        FeedSpec(f"{label}-{n}", per_feed + (1 if n < extra else 0), BASE_MS, 365 * DAY_MS)
        for n in range(feeds)
    ]


def signed_feeds(specs: Sequence[FeedSpec], workers: int) -> Iterator[tuple[bytes, list[Item]]]:
    """Chains in ``specs`` order, signed in a pool of ``workers`` as they are consumed."""
    if workers <= 1:
        yield from map(make_feed, specs)
        return
    context = multiprocessing.get_context("fork")
    with context.Pool(workers) as pool:
        yield from pool.imap(make_feed, specs, chunksize=1)


def ingest(
    directory: Path,
    chains: Iterable[tuple[bytes, list[Item]]],
    progress: Callable[[int], None] | None = None,
    *,
    inline: bool = False,
) -> tuple[int, float]:
    """Store.ingest every chain in batches of BATCH; (entries, seconds inside ingest).
    ``inline``: index the batch's text right after it, in the time counted."""
    stored = 0
    seconds = 0.0
    with Store(directory) as store:
        for author, items in chains:
            for start in range(0, len(items), BATCH):
                began = time.perf_counter()
                stored += store.ingest(author, items[start : start + BATCH]).stored
                if inline:
                    store.index_text(BATCH)
                seconds += time.perf_counter() - began
            if progress is not None:
                progress(stored)
    return stored, seconds


def drain(directory: Path, chunk: int, progress: bool = False) -> tuple[int, float, float]:
    """Index every staged document in chunks of ``chunk``, as the node's indexer does.
    Returns (documents, seconds, slowest chunk in seconds)."""
    with Store(directory) as store:
        total = store.text_pending()
        started = last = time.perf_counter()
        slowest = 0.0
        left = total
        while left:
            began = time.perf_counter()
            left = store.index_text(chunk)
            now = time.perf_counter()
            slowest = max(slowest, now - began)
            if progress and now - last >= 10:
                last = now
                print(f"  indexed {total - left:,} / {total:,} ({now - started:.0f} s)", flush=True)
        return total, time.perf_counter() - started, slowest


def reuse_or_build(directory: Path, specs: list[FeedSpec], workers: int, chunk: int) -> str:
    marker = directory / MARKER
    wanted = [asdict(spec) for spec in specs]
    if marker.exists():
        if json.loads(marker.read_text()) != wanted:
            raise SystemExit(f"{directory} holds a store built with other options; use another")
        documents, drain_s, _ = drain(directory, chunk)  # text a build left staged, if any
        return f"reused (indexed {documents:,} staged documents in {drain_s:.1f} s)"
    if directory.exists() and any(directory.iterdir()):
        raise SystemExit(f"{directory} is not empty and not a store this benchmark built")
    total = sum(spec.posts for spec in specs)
    print(f"building {total:,} entries in {len(specs)} feeds ...", flush=True)
    started = last = time.perf_counter()

    def progress(stored: int) -> None:
        nonlocal last
        now = time.perf_counter()
        if now - last >= 10 or stored == total:
            last = now
            print(f"  {stored:,} / {total:,} entries ({now - started:.0f} s)", flush=True)

    stored, ingest_s = ingest(directory, signed_feeds(specs, workers), progress)
    print(f"indexing the staged text in chunks of {chunk:,} ...", flush=True)
    documents, drain_s, slowest = drain(directory, chunk, progress=True)
    marker.write_text(json.dumps(wanted))
    return (
        f"built in {time.perf_counter() - started:.0f} s (signing in {workers} processes; "
        f"Store.ingest {rate(stored, ingest_s)} entries/s; then indexing {documents:,} "
        f"documents: {rate(documents, drain_s)} documents/s, slowest chunk "
        f"{slowest * 1000:.0f} ms)"
    )


def sizes(directory: Path) -> str:
    """Bytes per entry of the index (in use: pages a migration freed are not counted),
    of its full-text part, and of the log."""
    with Store(directory) as store:
        conn = store.index.conn
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = max(store.index.count_entries(), 1)
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        used = page * (
            conn.execute("PRAGMA page_count").fetchone()[0]
            - conn.execute("PRAGMA freelist_count").fetchone()[0]
        )
        try:
            (text,) = conn.execute(
                "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'search%'"
            ).fetchone()
        except sqlite3.Error:  # dbstat is an optional SQLite feature
            text = 0
        log_bytes = (directory / LOG_NAME).stat().st_size
    return (
        f"index {used / count:,.0f} B/entry (full-text {text / count:,.0f}), "
        f"log {log_bytes / count:,.0f} B/entry: index/log {used / log_bytes:.2f}x"
    )


# --- queries ------------------------------------------------------------------------


def query_mix(store: Store, runs: int, seed: int) -> dict[str, list[SearchQuery]]:
    """``runs`` queries of each class, drawn with a fixed seed from the vocabulary and
    from stored posts (phrases), so that most of them match something."""
    rng = random.Random(seed)
    words = language()
    conn = store.index.conn
    common = words.words[:20]
    medium = words.words[words.rank_of(0.55) : words.rank_of(0.75)]
    rare = words.words[words.rank_of(0.93) : words.rank_of(0.97)]
    authors = [bytes(k) for (k,) in conn.execute("SELECT key FROM feeds")]
    first_ms, last_ms = conn.execute(
        "SELECT MIN(claimed_ms), MAX(claimed_ms) FROM entries"
    ).fetchone()
    documents = FullText(conn, store._payload_content)

    def phrase() -> str:
        """Two words of the first post claimed at or after a random time."""
        feed, seq = conn.execute(
            "SELECT feed, seq FROM entries WHERE claimed_ms >= ? ORDER BY claimed_ms LIMIT 1",
            (rng.randint(first_ms, last_ms),),
        ).fetchone()
        document = documents.document(feed, seq, seq)
        assert document is not None
        text = document.text.split()
        at = rng.randrange(len(text) - 2)
        return '"' + " ".join(text[at : at + 2]) + '"'

    def prefix() -> str:
        word = rng.choice([w for w in medium if len(w) >= 5] or medium)
        return word[: rng.randint(3, 5)]

    def window() -> tuple[int, int]:
        start = rng.randint(first_ms, last_ms - 30 * DAY_MS)
        return start, start + 30 * DAY_MS

    mix: dict[str, Callable[[], SearchQuery]] = {
        "rare word": lambda: SearchQuery(rng.choice(rare) + " "),
        "common word": lambda: SearchQuery(rng.choice(common) + " "),
        "two words": lambda: SearchQuery(f"{rng.choice(common)} {rng.choice(medium)} "),
        "phrase": lambda: SearchQuery(phrase()),
        "prefix (typing)": lambda: SearchQuery(f"{rng.choice(medium)} {prefix()}"),
        "word + author": lambda: SearchQuery(rng.choice(medium) + " ", author=rng.choice(authors)),
        "word + tag": lambda: SearchQuery(
            rng.choice(medium) + " ", tag=rng.choice(words.tags[:50])
        ),
        "word + 30 days": lambda: SearchQuery(rng.choice(medium) + " ", *(None,) * 3, *window()),
        "tag alone": lambda: SearchQuery("", tag=rng.choice(words.tags)),
    }
    return {name: [make() for _ in range(runs)] for name, make in mix.items()}


def measure(directory: Path, runs: int, seed: int, limit: int) -> list[list[str]]:
    """Wall and CPU time (of this thread: steadier on a shared machine) of each query."""
    rows = []
    everything: list[tuple[float, float]] = []
    with Store(directory) as store:
        mix = query_mix(store, runs, seed)
        for queries in mix.values():  # warm the page cache a little, as a used app would
            search(store, queries[0], limit)
        for name, queries in mix.items():
            times = []
            hits = 0
            for query in queries:
                cpu = time.thread_time()
                started = time.perf_counter()
                found = search(store, query, limit)
                times.append((time.perf_counter() - started, time.thread_time() - cpu))
                hits += bool(found)
            everything += times
            rows.append(latency_row(name, times, f"{hits}/{len(queries)}"))
    rows.append(latency_row("all queries", everything, ""))
    return rows


def latency_row(label: str, times: Sequence[tuple[float, float]], matched: str) -> list[str]:
    seconds = [wall for wall, _ in times]
    cpu = [used for _, used in times]
    return [
        label,
        str(len(seconds)),
        matched,
        *(f"{percentile(seconds, p) * 1000:.2f}" for p in (50, 90, 99)),
        f"{max(seconds) * 1000:.2f}",
        *(f"{percentile(cpu, p) * 1000:.2f}" for p in (50, 95)),
    ]


# --- the sync path ------------------------------------------------------------------


def ingest_rates(
    work: Path, entries: int, workers: int, chunk: int
) -> tuple[list[list[str]], list[list[str]]]:
    """Ingest rates with text staged, indexed inline and left out; then the drain of a
    staged store's backlog."""
    specs = feed_specs(entries, 10, "search-bench-ingest")
    chains = list(signed_feeds(specs, workers))
    total = sum(len(items) for _, items in chains)
    real_add = fulltext_module.FullText.add
    results = []
    variants = (
        ("text staged (as stored now)", "staged", real_add, False),
        ("text indexed in every ingest", "inline", real_add, True),
        ("no text (FullText.add off)", "plain", None, False),
    )
    for label, name, add, inline in variants:
        best = 0.0
        for attempt in range(2):
            fulltext_module.FullText.add = add or (lambda _self, _docs: None)  # type: ignore[method-assign]
            try:
                stored, seconds = ingest(work / f"ingest-{name}-{attempt}", chains, inline=inline)
            finally:
                fulltext_module.FullText.add = real_add  # type: ignore[method-assign]
            if stored != total:
                print(f"WARNING: stored {stored:,} of {total:,}")
            best = max(best, stored / seconds)
        results.append((label, best))
    base = results[-1][1]
    rates = [
        [label, f"{value:,.0f}", f"{1e6 / value:.1f}", f"{value / base:.2f}x"]
        for label, value in results
    ]
    drains = []
    for size in sorted({chunk, 200, 500, 2000, 5000}):
        directory = work / f"drain-{size}"
        ingest(directory, chains)  # a fresh store with every document staged
        documents, seconds, slowest = drain(directory, size)
        drains.append(
            [
                f"{size:,}",
                f"{documents:,}",
                f"{seconds:.2f}",
                rate(documents, seconds),
                f"{seconds / max(documents, 1) * 1e6:.1f}",
                f"{slowest * 1000:.0f}",
            ]
        )
    return rates, drains


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="posts (1000000)")
    parser.add_argument("--feeds", type=int, default=200, help="feeds (200)")
    parser.add_argument("--runs", type=int, default=50, help="queries per class (50)")
    parser.add_argument("--limit", type=int, default=20, help="results per query (20)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the query mix (1)")
    parser.add_argument(
        "--ingest-entries", type=int, default=100_000, help="posts for the ingest rates (100000)"
    )
    parser.add_argument(
        "--chunk", type=int, default=500, help="documents per index_text call (500)"
    )
    parser.add_argument("--workers", type=int, default=2, help="signing processes (default 2)")
    parser.add_argument(
        "--store", type=Path, default=None, help="build the store here once and reuse it"
    )
    parser.add_argument(
        "--dir", type=Path, default=None, help="parent of the temporary dirs (default: system)"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="lndesk-bench-", dir=args.dir) as tmp:
        work = Path(tmp)
        directory = args.store if args.store is not None else work / "store"
        specs = feed_specs(args.entries, args.feeds, "search-bench")
        print_setup(
            "search latency (lndesk.store.search, newest first)",
            [
                ("entries", f"{args.entries:,} posts in {args.feeds} feeds over 365 days"),
                ("text", "20-80 words, Zipf over 40,000 words; 0-3 tags of 300"),
                ("queries", f"{args.runs} per class, limit {args.limit}, seed {args.seed}"),
            ],
        )
        how = reuse_or_build(directory, specs, args.workers, args.chunk)
        print_setup_line("store", f"{how} in {directory}")
        print_setup_line("size", sizes(directory))
        rows = measure(directory, args.runs, args.seed, args.limit)
        print_table(
            "search latency (ms)",
            ["query class", "n", "matched", "p50", "p90", "p99", "max", "cpu p50", "cpu p95"],
            rows,
        )
        overall = float(rows[-1][3])
        print_setup_line("target", f"overall p50 < {TARGET_MS:.0f} ms")
        print_setup_line("result", "meets target" if overall < TARGET_MS else "ABOVE TARGET")
        if args.ingest_entries > 0:
            ingest_rows, drain_rows = ingest_rates(
                work, args.ingest_entries, args.workers, args.chunk
            )
            print_table(
                f"Store.ingest of {args.ingest_entries:,} posts (batches of {BATCH:,}), best of 2",
                ["text", "entries/s", "us/entry", "vs no text"],
                ingest_rows,
            )
            print_table(
                f"indexing a backlog of {args.ingest_entries:,} staged posts (Store.index_text)",
                ["chunk", "documents", "seconds", "documents/s", "us/document", "slowest ms"],
                drain_rows,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
