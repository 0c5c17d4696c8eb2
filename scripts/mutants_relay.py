"""The mutants of a relaying follower's head path: what an ingest of a gossiped head
reports, and the payload its announcement carried; scripts/mutants.py adds them to
its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

HEAD_INGEST = ("tests/p2p/test_head_ingest.py",)
MATCHED = ("tests/test_batch_matched.py",)

RELAY_MUTANTS = [
    Mutant(
        "head ingest: a run stored below entries held above it reports them as not held",
        "lndesk/p2p/ingest.py",
        "    if entries[0].seq != before.height + 1 or before.max_seq > last:",
        "    if entries[0].seq != before.height + 1:",
        HEAD_INGEST,
    ),
    Mutant(
        "head ingest: a run stored after a gap reports the feed held up to its end",
        "lndesk/p2p/ingest.py",
        "    if entries[0].seq != before.height + 1 or before.max_seq > last:",
        "    if before.max_seq > last:",
        HEAD_INGEST,
    ),
    Mutant(
        "batch: any payload of an entry checked once is taken unchecked",
        "lndesk/batch.py",
        "    if payload is not None and payload is not entry.matched:",
        "    if payload is not None and entry.matched is None:",
        MATCHED,
    ),
    Mutant(
        "entry: a bytearray checked once is taken unchecked after it changed",
        "lndesk/entry.py",
        "        if type(payload) is bytes:  # not a bytearray: it could change once checked",
        "        if True:",
        MATCHED,
    ),
]
