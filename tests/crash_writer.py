"""The child program of the crash test: appends to a store until it is killed.

Usage: ``python crash_writer.py DATA_DIR SEED``

Opens the store in DATA_DIR and prints ``open <own height> <other height>``. Then,
forever, it either publishes one post of the writer's own identity and prints
``own <seq>``, or ingests a batch of a second identity's entries, printing
``batch <first> <last>`` before the ingest and ``other <last>`` after it returns.
Just before each write to the log file it prints ``write <bytes>``, so that a kill
can be aimed at a write in progress. Every line is flushed as soon as it is
written: an ``own`` or ``other`` line means that append is durable.
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

from store_helpers import make_entry, make_identity, post_payload

from lndesk.content import Post
from lndesk.store.store import Store, now_ms

OWN = make_identity(11)
OTHER = make_identity(12)
MAX_BATCH = 25


def own_text(seq: int, filler: int) -> str:
    return f"post {seq} " + "x" * filler


def other_text(seq: int, filler: int) -> str:
    return f"other {seq} " + "y" * filler


def say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


_pwrite = os.pwrite


def traced_pwrite(fd: int, data: bytes | memoryview, offset: int) -> int:
    """``os.pwrite``, announced: the store writes its log with it, one call per append."""
    say(f"write {len(data)}")
    return _pwrite(fd, data, offset)


def main() -> None:
    directory = Path(sys.argv[1])
    rng = random.Random(int(sys.argv[2]))
    store = Store(directory)
    os.pwrite = traced_pwrite
    own_key, other_key = OWN.public_key, OTHER.public_key
    say(f"open {store.feed_state(own_key).height} {store.feed_state(other_key).height}")
    while True:
        if rng.random() < 0.5:
            seq = store.feed_state(own_key).height + 1
            entry = store.publish(OWN, Post(own_text(seq, rng.randrange(4000))))
            say(f"own {entry.seq}")
        else:
            state = store.feed_state(other_key)
            prev = state.head_id
            items = []
            first = state.height + 1
            last = first + rng.randrange(MAX_BATCH)
            for seq in range(first, last + 1):
                payload = post_payload(other_text(seq, rng.randrange(30_000)))
                entry, _ = make_entry(OTHER, seq, prev, payload=payload, claimed_ms=now_ms())
                items.append((entry.raw, payload))
                prev = entry.id
            say(f"batch {first} {last}")
            store.ingest(other_key, items)
            say(f"other {last}")


if __name__ == "__main__":
    main()
