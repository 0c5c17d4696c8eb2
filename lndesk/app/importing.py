"""Taking a backup's log into the store: reading the file, the batched ingest, and what
an import reports. Shared by ``lndesk import`` run alone (:meth:`Service.import_backup`)
and run through a node that holds the data directory (``lndesk.app.control``).

A backup may be any file a person was tricked into importing. Its structure is checked
to the end before anything of it is used (:func:`lndesk.backup.open_backup`, reading
it as a stream, every size bounded), so a refused file installs no key and stores no
entry. Its entries are then read again and stored in batches bounded in count and in
bytes. An entry that fails authentication stops the import there: the whole batches
before it stay stored. They are the feed's own signed entries from its first on, as a
sync would have brought them, so nothing is lost or forked, and importing a good copy
afterwards adds the rest.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lndesk.app.ownlog import OWN_LOG_CONFIRMED, load_own_log, save_own_log
from lndesk.backup import Backup, open_backup
from lndesk.errors import IdentityError, UsageError
from lndesk.keytext import key_to_text
from lndesk.store.store import IngestResult, Store

IMPORT_BATCH = 2000
"""Entries handed to the store at once (one log append and one index transaction each)."""
IMPORT_BATCH_BYTES = 4 << 20
"""Bytes of entries and payloads handed to the store at once, at most (and one entry)."""


@dataclass(frozen=True, slots=True)
class ImportResult:
    feed: bytes
    installed_key: bool
    ingest: IngestResult
    own_log: str


def read_backup(path: Path) -> Backup:
    """The backup file at ``path``, its structure checked to the end (a clear error when
    it is none); its entries are read again from the file as they are imported."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise UsageError(
                f"{path} is not a file",
                "Give the file lndesk export --out FILE wrote (copy it to a disk first).",
            )
        return open_backup(path)
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from exc


def check_backup_owner(backup: Backup, own: bytes) -> None:
    """Refuse a backup of another identity than the data directory's own ``own``."""
    if backup.feed != own:
        raise IdentityError(
            f"this backup belongs to {key_to_text(backup.feed)}, but this data directory "
            f"holds {key_to_text(own)}",
            "Import it into another --data-dir.",
        )


def ingest_batches(
    store: Store, feed: bytes, entries: Iterable[tuple[bytes, bytes | None]]
) -> Iterator[IngestResult]:
    """Store ``entries`` of ``feed`` batch by batch, stopping at a fork; after each batch,
    the sums so far (each batch is whole in the store before it is yielded)."""
    total = IngestResult(0, 0, 0)
    for batch in _batches(entries):
        result = store.ingest(feed, batch)
        total = IngestResult(
            total.stored + result.stored,
            total.duplicates + result.duplicates,
            total.held + result.held,
            result.fork_at,
        )
        yield total
        if result.fork_at is not None:
            return


def _batches(
    entries: Iterable[tuple[bytes, bytes | None]],
) -> Iterator[list[tuple[bytes, bytes | None]]]:
    """``entries`` in runs of at most IMPORT_BATCH entries and IMPORT_BATCH_BYTES bytes."""
    batch: list[tuple[bytes, bytes | None]] = []
    size = 0
    for entry, payload in entries:
        batch.append((entry, payload))
        size += len(entry) + len(payload or b"")
        if len(batch) >= IMPORT_BATCH or size >= IMPORT_BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def ingest_in_batches(
    store: Store, feed: bytes, entries: Iterable[tuple[bytes, bytes | None]]
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
