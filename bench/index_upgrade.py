"""The first open of a store whose index an older lndesk wrote: the whole upgrade.

Builds a store of ``--posts`` posts in ``--feeds`` feeds (one in ``--every`` a question,
one in 20 edited), indexes its text, then for each index an older release left (schema
version and index rules) copies the store, turns the copy's index into that one and
times ``Store(directory)``: the migrations, what they fill from the log, and the rebuild
that indexes built by older rules get. A rebuild of the same store (``lndesk reindex``)
is timed beside them. Best of ``--runs``.

    python bench/index_upgrade.py              # 100,000 posts
    python bench/index_upgrade.py --quick      # 10,000 posts
"""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

from _common import BASE_MS, DAY_MS, identity_for, print_setup, print_table

from lndesk.content import Edit, Post, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.entry_refs import ref_of
from lndesk.store.fulltext import TOKENIZE, FullText
from lndesk.store.store import INDEX_NAME, Store

BATCH = 2000
STATES = [(5, b"3"), (7, b"4"), (9, b"4")]
"""Indexes released lndesks left: schema 5 (before the questions table), 7 (before the
contentless full-text index), 9 (the last before index rules 5)."""
UNDO = {
    # What migration N added, taken away again (8: the full-text table with texts).
    9: "DROP INDEX follows_by_dst;",
    7: "DROP TABLE reveals;",
    6: "DROP TABLE questions;",
}


def build(directory: Path, posts: int, feeds: int, every: int) -> float:
    """Sign and store the workload, index its text; seconds."""
    started = time.perf_counter()
    step = 365 * DAY_MS // max(1, posts)
    chains: list[list[tuple[bytes, bytes]]] = [[] for _ in range(feeds)]
    prev: list[bytes | None] = [None] * feeds
    identities = [identity_for(f"upgrade-{n}") for n in range(feeds)]
    last_post: list[Entry | None] = [None] * feeds
    for number in range(posts):
        at = number % feeds
        chain = chains[at]
        when = BASE_MS + number * step
        asks = number % every == 0
        content: Post | Edit = Post(f"note {number} on spaced practice", question=asks)
        edited = last_post[at]
        if number % 20 == 19 and edited is not None:  # an edit of the feed's latest post
            content = Edit(ref_of(edited), f"edited note {number}", question=asks)
        payload = encode_content(content)
        entry = create_entry(
            identities[at],
            seq=len(chain) + 1,
            prev=prev[at],
            claimed_ms=when,
            type=content.type,
            payload=payload,
        )
        chain.append((entry.raw, payload))
        prev[at] = entry.id
        if isinstance(content, Post):
            last_post[at] = entry
    with Store(directory) as store:
        for identity, chain in zip(identities, chains, strict=True):
            for start in range(0, len(chain), BATCH):
                store.ingest(identity.public_key, chain[start : start + BATCH])
        while store.index_text(5000):
            pass
    return time.perf_counter() - started


def as_released(directory: Path, schema: int, rules: bytes) -> None:
    """Turn the index in ``directory`` into one lndesk at ``schema`` built by ``rules``."""
    with Store(directory) as store:
        conn = store.index.conn
        if schema < 8:  # the full-text table with a copy of each text, as before 8
            text = FullText(conn, store._payload_content)
            rows = []
            for doc, feed, seq, source in conn.execute("SELECT * FROM search_docs").fetchall():
                found = text.document(feed, seq, source)
                if found is not None:
                    rows.append((doc, found.text, found.facets, feed, seq))
            conn.executescript(
                f"""BEGIN; DROP TABLE search; DROP TABLE search_docs;
                CREATE VIRTUAL TABLE search USING fts5(text, facets, feed UNINDEXED,
                    seq UNINDEXED, tokenize = "{TOKENIZE}", columnsize = 0);
                COMMIT;"""
            )
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO search(rowid, text, facets, feed, seq) VALUES (?, ?, ?, ?, ?)", rows
            )
            conn.execute("COMMIT")
    drops = " ".join(UNDO[n] for n in sorted(UNDO, reverse=True) if n > schema)
    conn = sqlite3.connect(directory / INDEX_NAME)
    try:
        conn.executescript(
            f"BEGIN; {drops} UPDATE meta SET value = x'{rules.hex()}' WHERE key = 'rules'; "
            f"PRAGMA user_version = {schema}; COMMIT;"
        )
    finally:
        conn.close()


def copy_store(source: Path, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target)


def best_open(built: Path, work: Path, schema: int | None, rules: bytes, runs: int) -> float:
    """Best seconds of the first open of a copy of ``built`` turned into that state
    (None: ``lndesk reindex`` of the copy)."""
    seconds = []
    for _ in range(runs):
        copy_store(built, work)
        if schema is not None:
            as_released(work, schema, rules)
        began = time.perf_counter()
        with Store(work, reindex=schema is None):
            pass
        seconds.append(time.perf_counter() - began)
    return min(seconds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--feeds", type=int, default=100)
    parser.add_argument("--every", type=int, default=50, help="one question in this many posts")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="10,000 posts, one run")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not the rebuild's warning, once a run
    posts = 10_000 if args.quick else args.posts
    runs = 1 if args.quick else args.runs
    with tempfile.TemporaryDirectory(prefix="lndesk-upgrade-") as temp:
        built, work = Path(temp) / "built", Path(temp) / "work"
        seconds = build(built, posts, args.feeds, args.every)
        print_setup(
            "first open after an upgrade",
            [
                ("posts", f"{posts:,} in {args.feeds} feeds, one in {args.every} a question"),
                ("store", f"built in {seconds:.0f} s"),
                ("load average", " ".join(f"{x:.2f}" for x in os.getloadavg())),
            ],
        )
        rows = []
        for schema, rules in STATES:
            best = best_open(built, work, schema, rules, runs)
            rows.append([f"schema {schema}, index rules {rules.decode()}", f"{best:.2f}"])
        rows.append(
            ["lndesk reindex of the same store", f"{best_open(built, work, None, b'', runs):.2f}"]
        )
        print_table("first open, s (best of runs)", ["index left by", "s"], rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
