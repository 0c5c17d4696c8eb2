"""Taking a backup's log into the store: reading the file, the batched ingest, and what
an import reports. Shared by ``lndesk import`` run alone (:meth:`Service.import_backup`)
and run through a node that holds the data directory (``lndesk.app.control``)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from lndesk.app.ownlog import OWN_LOG_CONFIRMED, load_own_log, save_own_log
from lndesk.backup import Backup, decode_backup
from lndesk.errors import IdentityError, UsageError
from lndesk.keytext import key_to_text
from lndesk.store.store import IngestResult, Store

IMPORT_BATCH = 2000
"""Entries handed to the store at once (one log append and one index transaction each)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    feed: bytes
    installed_key: bool
    ingest: IngestResult
    own_log: str


def read_backup(path: Path) -> Backup:
    """The backup file at ``path``, decoded (a clear error when it is none)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc
    return decode_backup(data)


def check_backup_owner(backup: Backup, own: bytes) -> None:
    """Refuse a backup of another identity than the data directory's own ``own``."""
    if backup.feed != own:
        raise IdentityError(
            f"this backup belongs to {key_to_text(backup.feed)}, but this data directory "
            f"holds {key_to_text(own)}",
            "Import it into another --data-dir.",
        )


def ingest_batches(
    store: Store, feed: bytes, entries: Sequence[tuple[bytes, bytes | None]]
) -> Iterator[IngestResult]:
    """Store ``entries`` of ``feed`` batch by batch, stopping at a fork; after each batch,
    the sums so far (each batch is whole in the store before it is yielded)."""
    total = IngestResult(0, 0, 0)
    for start in range(0, len(entries), IMPORT_BATCH):
        result = store.ingest(feed, entries[start : start + IMPORT_BATCH])
        total = IngestResult(
            total.stored + result.stored,
            total.duplicates + result.duplicates,
            total.held + result.held,
            result.fork_at,
        )
        yield total
        if result.fork_at is not None:
            return


def ingest_in_batches(
    store: Store, feed: bytes, entries: Sequence[tuple[bytes, bytes | None]]
) -> IngestResult:
    """Store ``entries`` of ``feed`` batch by batch, stopping at a fork; the sums."""
    sums = IngestResult(0, 0, 0)
    for total in ingest_batches(store, feed, entries):
        sums = total
    return sums


def settle_own_log(data_dir: Path, store: Store, feed: bytes, *, latest: bool) -> str:
    """The own log's state after an import. ``latest`` declares that nothing was published
    with this key after the backup was made; only then may publishing go on at once."""
    own_log = load_own_log(data_dir)
    if latest and not own_log.confirmed:
        own_log.state = OWN_LOG_CONFIRMED
        own_log.confirmed_height = store.feed_state(feed).height
        save_own_log(data_dir, own_log)
    return own_log.state
