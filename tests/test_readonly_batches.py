"""A read-only open that builds its index in memory from the log
(lndesk.store.readonly.index_salvaged) holds a bounded part of the log at once: a batch
ends at REINDEX_BATCH records or REINDEX_BATCH_BYTES of them, whichever comes first
(5,000 posts of 64 KiB would be over 300 MiB in one batch)."""

from __future__ import annotations

from pathlib import Path

from store_helpers import make_identity

from lndesk.content import Post
from lndesk.entry import Entry
from lndesk.store.logfile import HEADER_SIZE, LogFile, Record
from lndesk.store.readonly import index_salvaged
from lndesk.store.records import IndexItem
from lndesk.store.recovery import REINDEX_BATCH_BYTES
from lndesk.store.store import LOG_NAME, Store

ALICE = make_identity(62)
POSTS = 40


def test_a_batch_ends_at_a_mebibyte_of_records(tmp_path: Path) -> None:
    with Store(tmp_path) as store:
        for n in range(POSTS):
            store.publish(ALICE, Post(f"a long read {n} " + "x" * 60_000))
    log = LogFile(tmp_path / LOG_NAME, read_only=True)
    try:
        largest = max(r.size for r in log.scan() if isinstance(r, Record))
        ends: list[int] = []
        counts: list[int] = []

        def write(items: list[IndexItem], forks: list[tuple[int, Entry]], end: int) -> None:
            ends.append(end)
            counts.append(len(items) + len(forks))

        index_salvaged(log, write, lambda message: None)
    finally:
        log.close()
    assert sum(counts) == POSTS
    spans = [end - start for start, end in zip([HEADER_SIZE, *ends], ends, strict=False)]
    assert len(spans) > 1
    assert max(spans) < REINDEX_BATCH_BYTES + largest, spans
