"""The mutants of a relaying follower's head path: what an ingest of a gossiped head
reports, and the payload its announcement carried; scripts/mutants.py adds them to
its list."""

from __future__ import annotations

from mutant import Mutant  # scripts/ is on the path

HEAD_INGEST = ("tests/p2p/test_head_ingest.py",)

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
]
