"""Taking a backup's log into the store: what an import reports, and the batched ingest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lndesk.store.store import IngestResult, Store

IMPORT_BATCH = 2000
"""Entries handed to the store at once (one log append and one index transaction each)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    feed: bytes
    installed_key: bool
    ingest: IngestResult
    own_log: str


def ingest_in_batches(
    store: Store, feed: bytes, entries: Sequence[tuple[bytes, bytes | None]]
) -> IngestResult:
    """Store ``entries`` of ``feed`` batch by batch, stopping at a fork; the sums."""
    total = IngestResult(0, 0, 0)
    for start in range(0, len(entries), IMPORT_BATCH):
        result = store.ingest(feed, entries[start : start + IMPORT_BATCH])
        total = IngestResult(
            total.stored + result.stored,
            total.duplicates + result.duplicates,
            total.held + result.held,
            result.fork_at,
        )
        if result.fork_at is not None:
            break
    return total
