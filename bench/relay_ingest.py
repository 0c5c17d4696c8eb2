"""Relay ingest: the CPU a follower spends storing one live post announced by gossip.

Signs a run of ``post`` entries of one author (short texts, as typed), then feeds them
one at a time through what a follower does with each announcement: the gossip
validator's ``decode_announcement`` (decoding, payload hash, Ed25519 verification), the
node's one-entry batch of the announced entry (``check_decoded``) and ``Store.ingest``
(the anchor check, the fdatasync'd log append, the index transaction), then the text
indexer's step for it (``Store.index_text``; with ``--index-every N``, one step for N
posts). Each stage's CPU time (process time: this thread and the kernel's work for it)
is summed over the run and printed per post, with the SQL statements each stage ran.
``--reverify`` hands the store the entry's bytes instead, as the node did before a
verified entry was carried to the store, which decodes and verifies it again.
``--profile`` adds a cProfile of the ingest stage.

    python bench/relay_ingest.py                # 500 posts
    python bench/relay_ingest.py --posts 2000 --profile
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

from _common import identity_for, print_table

from lndesk.batch import CheckedBatch, check_decoded
from lndesk.content import Post, encode_content
from lndesk.entry import Entry, create_entry
from lndesk.p2p.announce import decode_announcement, encode_announcement, feed_topic
from lndesk.store.store import Store

BASE_MS = 1_700_000_000_000


def sign_posts(count: int) -> tuple[bytes, list[bytes]]:
    """``count`` announcements of one author's consecutive posts."""
    author = identity_for("relay-ingest author")
    announcements = []
    prev: bytes | None = None
    for seq in range(1, count + 1):
        payload = encode_content(Post(f"live post number {seq}: a short note, as typed"))
        entry = create_entry(
            author,
            seq=seq,
            prev=prev,
            claimed_ms=BASE_MS + seq * 1000,
            type="post",
            payload=payload,
        )
        announcements.append(encode_announcement(entry.raw, payload))
        prev = entry.id
    return author.public_key, announcements


class Stage:
    """CPU seconds and SQL statements spent in one stage, summed over calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cpu = 0.0
        self.statements = 0


def run(posts: int, reverify: bool, profile: bool, index_every: int) -> None:
    author, announcements = sign_posts(posts)
    topic = feed_topic(author)
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp))
        statements = [0]
        store.index.conn.set_trace_callback(
            lambda _sql: statements.__setitem__(0, statements[0] + 1)
        )
        stages = [Stage(n) for n in ("validate", "ingest", "index text")]
        profiler = cProfile.Profile() if profile else None

        def timed(stage: Stage, work: Callable[[], object]) -> object:
            before, count = time.process_time(), statements[0]
            result = work()
            stage.cpu += time.process_time() - before
            stage.statements += statements[0] - count
            return result

        def ingest(entry: Entry, payload: bytes | None) -> None:
            items: CheckedBatch | list[tuple[bytes, bytes | None]]
            if reverify:
                items = [(entry.raw, payload)]
            else:
                items = check_decoded(author, [(entry, payload)])
            if profiler is not None:
                profiler.enable()
            result = store.ingest(author, items)
            if profiler is not None:
                profiler.disable()
            assert result.stored == 1

        for number, data in enumerate(announcements, 1):
            head = timed(stages[0], lambda data=data: decode_announcement(data, topic=topic))
            entry, payload = head.entry, head.payload  # type: ignore[attr-defined]
            timed(stages[1], lambda e=entry, p=payload: ingest(e, p))
            if number % index_every == 0 or number == posts:
                timed(stages[2], lambda: store.index_text(200))
        store.close()
    rows = [[s.name, f"{s.cpu / posts * 1000:.3f}", f"{s.statements / posts:.1f}"] for s in stages]
    total = sum(s.cpu for s in stages)
    rows.append(["total", f"{total / posts * 1000:.3f}", ""])
    handed = "entry bytes (verified again)" if reverify else "the verified entry"
    print_table(
        f"{posts} posts, the store handed {handed}, text indexed every {index_every}",
        ["stage", "CPU ms/post", "SQL/post"],
        rows,
    )
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--reverify", action="store_true", help="hand the store entry bytes")
    parser.add_argument(
        "--index-every", type=int, default=1, help="index text after this many posts"
    )
    parser.add_argument("--profile", action="store_true", help="cProfile the ingest stage")
    args = parser.parse_args()
    run(args.posts, args.reverify, args.profile, args.index_every)


if __name__ == "__main__":
    main()
