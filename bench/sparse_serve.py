"""What serving one get of a sparse feed costs the sync server: a 10,000-entry range with
every other entry missing (5,000 held), answered as lndesk.p2p.sync.ServedGets answers it
(FeedSource.read_run for each batch, then the next held seq after each gap), without the
network. Two ways to find that next seq:

* before: stored_seqs over the whole rest of the range at every gap (what the server did);
* after: lndesk.p2p.sync.HeldAhead, the held seqs read a window at a time.

Prints the wall time of each, the stored_seqs queries and the rows they returned, and the
load average.

    python bench/sparse_serve.py [--entries 10000] [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from _common import BASE_MS, DAY_MS, ChainSpec, make_chain, print_setup, print_table

from lndesk.app.feeds import StoreFeeds
from lndesk.p2p.config import Limits
from lndesk.p2p.sync import HeldAhead
from lndesk.store.store import Store

NextHeld = Callable[[int], "int | None"]


def serve(feeds: StoreFeeds, key: bytes, last: int, next_held: NextHeld) -> int:
    """Batches of the range 1..last, as the server reads them; how many entries."""
    limits = Limits()
    seq, sent = 1, 0
    while seq <= last:
        run = feeds.read_run(key, seq, last, limits.batch_entries, limits.batch_bytes)
        if run:
            sent += len(run)
            seq = run[-1][0] + 1
            continue
        after = next_held(seq)
        if after is None or after == seq:
            break
        seq = after
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    key, items = make_chain(ChainSpec("sparse", args.entries, 200, BASE_MS, DAY_MS))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        try:
            for item in items[::2]:
                store.ingest(key, [item])
            feeds = StoreFeeds(store, b"\0" * 32)
            queries = [0, 0]
            plain = feeds.stored_seqs

            def counted(k: bytes, first: int, last: int) -> set[int]:
                held = plain(k, first, last)
                queries[0] += 1
                queries[1] += len(held)
                return held

            feeds.stored_seqs = counted  # type: ignore[method-assign]

            def before(seq: int) -> int | None:
                held = feeds.stored_seqs(key, seq, args.entries)
                return min(held) if held else None

            rows = []
            print_setup(
                "serving a sparse feed",
                [
                    ("range", f"1..{args.entries:,}, every other entry held"),
                    ("load average (1 min)", f"{os.getloadavg()[0]:.1f}"),
                ],
            )
            for label in ("before: stored_seqs over the rest", "after: HeldAhead"):
                times = []
                for _ in range(args.runs):
                    queries[:] = [0, 0]
                    ahead = HeldAhead(feeds, key, 1, args.entries, Limits().batch_entries)
                    next_held = before if label.startswith("before") else ahead.next_from
                    began = time.perf_counter()
                    sent = serve(feeds, key, args.entries, next_held)
                    times.append(time.perf_counter() - began)
                rows.append(
                    [
                        label,
                        f"{sent:,}",
                        f"{min(times) * 1000:.0f}",
                        f"{queries[0]:,}",
                        f"{queries[1]:,}",
                    ]
                )
            print_table("one get", ["gap lookup", "entries", "best ms", "queries", "rows"], rows)
        finally:
            store.close()


if __name__ == "__main__":
    main()
