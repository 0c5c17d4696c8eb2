"""What one thread ask costs a server when the root's author follows many people: the
store query behind a thread fetch (lndesk.store.threads.thread_replies) on a question
with --replies replies by distinct people (half of them within two hops of the author),
whose author follows --follows feeds, each of which follows --width feeds (follow rows
written straight into the index).

* before: the audience as the set of everyone within two hops (the query the server
  ran: one pass over all the follows of the author's followees per ask);
* after: thread_replies, each replier tested alone (index follows_by_dst).

p50 / p99 / max over --runs asks, with the load average.

    python bench/thread_audience.py [--follows 5000] [--width 200] [--replies 50]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from _common import BASE_MS, LATENCY_HEADER, identity_for, latency_row, print_setup, print_table

from lndesk.content import Post, Reply, encode_content
from lndesk.entry import create_entry
from lndesk.entry_refs import ref_of
from lndesk.store.shown import visible_until
from lndesk.store.store import Store
from lndesk.store.threads import thread_replies

BEFORE = (
    "SELECT f.key, e.seq, e.id FROM entries e JOIN feeds f ON f.feed = e.feed "
    "WHERE (e.feed, e.seq) IN (SELECT feed, seq FROM refs WHERE target = ? AND kind = 'root') "
    "AND e.deleted = 0 AND e.claimed_ms <= ? AND e.type = 'reply' "
    "AND (+e.feed = ? OR +e.feed IN (SELECT dst FROM follows WHERE src = ? AND active = 1 "
    "UNION SELECT f2.dst FROM follows f1 JOIN follows f2 ON f2.src = f1.dst "
    "AND f2.active = 1 WHERE f1.src = ? AND f1.active = 1)) "
    "ORDER BY e.claimed_ms DESC, e.feed DESC, e.seq DESC LIMIT 10000"
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--follows", type=int, default=5000)
    parser.add_argument("--width", type=int, default=200)
    parser.add_argument("--replies", type=int, default=50)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        try:
            asker = identity_for("asker")
            payload = encode_content(Post("Why?", question=True))
            question = create_entry(
                asker, seq=1, prev=None, claimed_ms=BASE_MS, type="post", payload=payload
            )
            store.ingest(asker.public_key, [(question.raw, payload)])
            root = ref_of(question)
            for n in range(args.replies):
                who = identity_for(f"replier {n}")
                body = encode_content(Reply(f"answer {n}", root, root))
                reply = create_entry(
                    who, seq=1, prev=None, claimed_ms=BASE_MS + n + 1, type="reply", payload=body
                )
                store.ingest(who.public_key, [(reply.raw, body)])
            conn = store.index.conn
            feed_of = dict(conn.execute("SELECT key, feed FROM feeds").fetchall())
            author = feed_of[asker.public_key]
            repliers = [f for k, f in feed_of.items() if f != author]
            followees = [10_000_000 + k for k in range(args.follows)]
            conn.executemany(
                "INSERT INTO follows (src, dst, seq, active) VALUES (?, ?, 1, 1)",
                [(author, f) for f in followees],
            )
            for f in followees:
                conn.executemany(
                    "INSERT INTO follows (src, dst, seq, active) VALUES (?, ?, 1, 1)",
                    [(f, 20_000_000 + k) for k in range(args.width)],
                )
            conn.executemany(
                "INSERT INTO follows (src, dst, seq, active) VALUES (?, ?, 1, 1)",
                [(followees[n], r) for n, r in enumerate(repliers[::2])],
            )
            conn.commit()
            print_setup(
                "a thread ask beside a large follow graph",
                [
                    ("author's follows", f"{args.follows:,}"),
                    ("follows of each of them", f"{args.width:,}"),
                    ("replies (distinct people)", args.replies),
                    ("load average (1 min)", f"{os.getloadavg()[0]:.1f}"),
                ],
            )
            before, after = [], []
            for _ in range(args.runs):
                began = time.perf_counter()
                old = conn.execute(
                    BEFORE, (root.id, visible_until(), author, author, author)
                ).fetchall()
                before.append(time.perf_counter() - began)
                began = time.perf_counter()
                total, _refs = thread_replies(store, root, 100)
                after.append(time.perf_counter() - began)
                assert total == len(old)
            print_table(
                "one ask",
                LATENCY_HEADER,
                [
                    latency_row("before: everyone within two hops", before),
                    latency_row("after: each replier tested", after),
                ],
            )
        finally:
            store.close()


if __name__ == "__main__":
    main()
